"""Sending drift runs to the Stateful Monitor's JSON API."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from drift.report import DriftReport
from names import RUNS_PATH

TIMEOUT_SECONDS = 10


class PublishError(RuntimeError):
    """The monitor did not accept the run."""


def run_document(
    report: DriftReport,
    dataset: str,
    reference: str,
    batch: str,
    run_at: datetime | None = None,
    stale_after_seconds: float | None = None,
) -> dict[str, Any]:
    """The monitor's request body for one run: names, time, settings, summary, features, and
    for a dataset run on a schedule, how long it may go without a run before it is stale."""
    moment = run_at or datetime.now(UTC)
    schedule = {} if stale_after_seconds is None else {"stale_after_seconds": stale_after_seconds}
    return {
        "dataset": dataset,
        "batch": batch,
        "reference": reference,
        "run_at": moment.isoformat(),
        **schedule,
        **report.to_dict(),
    }


def session_with_retries(retries: int = 4, backoff_seconds: float = 0.5) -> requests.Session:
    """A session that retries connection errors, 429 and 5xx with exponential backoff."""
    retry = Retry(
        total=retries,
        backoff_factor=backoff_seconds,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=None,  # a run sent twice changes nothing the monitor shows
        raise_on_status=False,
    )
    session = requests.Session()
    session.mount("http://", HTTPAdapter(max_retries=retry))
    session.mount("https://", HTTPAdapter(max_retries=retry))
    return session


def send_run(
    run: Mapping[str, Any],
    monitor_url: str,
    token: str | None = None,
    session: requests.Session | None = None,
) -> dict[str, Any]:
    """POST one run; returns the monitor's answer (run id, whether it is current)."""
    session = session or session_with_retries()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    url = monitor_url.rstrip("/") + RUNS_PATH
    try:
        response = session.post(url, json=run, headers=headers, timeout=TIMEOUT_SECONDS)
    except requests.RequestException as exc:
        raise PublishError(f"cannot reach the monitor at {monitor_url}: {exc}") from None
    if response.status_code != 201:
        try:
            reason = response.json()["error"]
        except (ValueError, KeyError, TypeError):
            reason = response.text.strip()[:200]
        raise PublishError(f"the monitor refused the run: HTTP {response.status_code}: {reason}")
    return response.json()
