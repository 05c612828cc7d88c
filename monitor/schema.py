"""The JSON API's request body: the run document, defined once in drift.document and shared
with the client that sends it (drift.publish)."""

from drift.document import (
    MAX_COUNT,
    MAX_FEATURES,
    MAX_LABEL_LENGTH,
    STORED,
    Feature,
    LabelValue,
    Run,
    Settings,
    Summary,
)

__all__ = [
    "MAX_COUNT",
    "MAX_FEATURES",
    "MAX_LABEL_LENGTH",
    "STORED",
    "Feature",
    "LabelValue",
    "Run",
    "Settings",
    "Summary",
]
