"""What the monitor accepts as a label value and as a dataset name, defined once: the
monitor's request schema and the DAG's early checks both use it. No heavy imports."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from drift.errors import DriftInputError
from names import DATASETS_PATH

# Label values end up in Prometheus series and HTML: bounded, printable, no control characters.
MAX_LABEL_LENGTH = 128
MAX_FEATURES = 1_000  # in one run: each feature adds ten series
LABEL_VALUE_PATTERN = r"^[^\x00-\x1f\x7f]+$"
# A dataset's name is also one path segment of the monitor's API, where ordinary HTTP clients
# resolve '.' and '..' away and the server decodes %2F into a '/' before routing.
UNREACHABLE_DATASET = (
    f"cannot contain '/' or be '.' or '..': {DATASETS_PATH}/{{dataset}} could not read or delete it"
)
SHOWN_CHARACTERS = 40  # of a refused value, in a one-line message


def label_value_problem(value: str) -> str | None:
    """Why the monitor would refuse this label value, or None."""
    if not value:
        return "is empty"
    if len(value) > MAX_LABEL_LENGTH:
        return f"is longer than {MAX_LABEL_LENGTH} characters"
    if not re.fullmatch(LABEL_VALUE_PATTERN, value):
        return "holds a control character"
    return None


def dataset_name_problem(name: str) -> str | None:
    """Why the monitor would refuse this dataset name, or None."""
    if "/" in name or name in (".", ".."):
        return UNREACHABLE_DATASET
    return label_value_problem(name)


def check_features(names: Sequence[str]) -> None:
    """Refuse, naming the first problem, features the monitor would refuse in a run."""
    if len(names) > MAX_FEATURES:
        raise DriftInputError(
            f"{len(names)} columns to test, more than the {MAX_FEATURES} the monitor takes in "
            "one run: list the ones to test under 'columns' or 'ignore' in the config"
        )
    check_label_values(names, "column")


def check_label_values(values: Iterable[str], what: str) -> None:
    """Refuse, naming it, the first value the monitor would refuse as a label value."""
    for value in values:
        if problem := label_value_problem(value):
            raise DriftInputError(f"{what} {shown(value)} {problem}: the monitor would refuse it")


def check_dataset_name(name: str) -> None:
    if problem := dataset_name_problem(name):
        raise DriftInputError(f"dataset {shown(name)} {problem}")


def shown(value: str) -> str:
    """The value quoted on one line (control characters escaped), cut when long."""
    cut = value if len(value) <= SHOWN_CHARACTERS else value[:SHOWN_CHARACTERS] + "..."
    return repr(cut)
