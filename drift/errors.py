"""The one exception type that callers turn into a clear message."""


class DriftInputError(ValueError):
    """Bad input (a file, a schema, a value or a setting), described for a person."""
