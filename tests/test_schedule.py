"""DRIFT_SCHEDULE: the DAG's interval, and how long a scheduled dataset may go without a run."""

from __future__ import annotations

from datetime import timedelta

import pytest

from drift.errors import DriftInputError
from drift.schedule import parse_schedule, stale_after_seconds


@pytest.mark.parametrize(
    ("text", "interval"),
    [
        ("10m", timedelta(minutes=10)),
        ("2h", timedelta(hours=2)),
        ("1d", timedelta(days=1)),
        (" 15m ", timedelta(minutes=15)),
    ],
)
def test_a_duration_is_the_interval(text: str, interval: timedelta) -> None:
    assert parse_schedule(text) == interval


@pytest.mark.parametrize("text", [None, "", "  "])
def test_no_schedule_means_manual_runs_only(text: str | None) -> None:
    assert parse_schedule(text) is None
    assert stale_after_seconds(None) is None  # a dataset run by hand never goes stale


@pytest.mark.parametrize(
    "text", ["0m", "10", "10 m", "-5m", "1.5h", "10s", "@hourly", "*/10 * * * *"]
)
def test_anything_else_is_one_clear_error(text: str) -> None:
    with pytest.raises(DriftInputError, match=r"DRIFT_SCHEDULE must be a duration such as 10m"):
        parse_schedule(text)


def test_a_dataset_is_stale_after_two_intervals_without_a_run() -> None:
    assert stale_after_seconds(timedelta(minutes=10)) == 1200
    assert stale_after_seconds(timedelta(hours=2)) == 14400


def test_a_schedule_the_monitor_would_refuse_to_publish_fails_when_read() -> None:
    # Two intervals of 184 days exceed the year the monitor accepts as stale_after_seconds.
    assert parse_schedule("183d") == timedelta(days=183)
    with pytest.raises(DriftInputError, match=r"DRIFT_SCHEDULE '184d' is longer than 183 days"):
        parse_schedule("184d")
