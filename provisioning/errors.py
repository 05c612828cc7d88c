"""The one base of every error the toolkit shows a person as one line. Anything else that
escapes is a bug and keeps its traceback."""


class ProvisioningError(Exception):
    """What went wrong and what to do, for a person."""


class DefinitionError(ProvisioningError, ValueError):
    """A definition (in dashboards/ or alerting/) is malformed; the message names it."""
