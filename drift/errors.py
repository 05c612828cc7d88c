"""The exception types that callers turn into a clear message."""


class DriftInputError(ValueError):
    """Bad input (a file, a schema, a value or a setting), described for a person."""


class NothingTestedError(DriftInputError):
    """The batches leave no feature to test: a run that tested nothing is not a success."""
