"""How often the DAG checks a dataset, and so how long the dataset may go without a run before
it is stale. One setting, DRIFT_SCHEDULE: a duration such as 10m, 2h or 1d, or unset for
manual runs only (a manually run dataset never goes stale)."""

from __future__ import annotations

import re
from datetime import timedelta

from drift.document import MAX_STALE_AFTER_SECONDS
from drift.errors import DriftInputError
from names import SCHEDULE_ENV

DURATION = re.compile(r"^([1-9][0-9]*)([mhd])$")
UNITS = {"m": "minutes", "h": "hours", "d": "days"}
# One missed run is tolerated (a slow or failed run, a restart); two are not.
STALE_AFTER_INTERVALS = 2


def parse_schedule(text: str | None) -> timedelta | None:
    """'10m' -> 10 minutes; None or '' -> None (manual runs only)."""
    if not text or not text.strip():
        return None
    match = DURATION.match(text.strip())
    if not match:
        raise DriftInputError(
            f"{SCHEDULE_ENV} must be a duration such as 10m, 2h or 1d (unset: manual runs "
            f"only), got {text!r}"
        )
    schedule = timedelta(**{UNITS[match[2]]: int(match[1])})
    if STALE_AFTER_INTERVALS * schedule.total_seconds() > MAX_STALE_AFTER_SECONDS:
        limit = MAX_STALE_AFTER_SECONDS // STALE_AFTER_INTERVALS // 86400
        raise DriftInputError(f"{SCHEDULE_ENV} {text!r} is longer than {limit} days")
    return schedule


def stale_after_seconds(schedule: timedelta | None) -> float | None:
    """How long a dataset run on ``schedule`` may go without a run; None when manual."""
    return None if schedule is None else STALE_AFTER_INTERVALS * schedule.total_seconds()
