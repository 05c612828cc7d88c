"""Sending drift runs to the Stateful Monitor's JSON API."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import requests
from pydantic import ValidationError
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from drift.document import Run
from drift.errors import DriftInputError
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
    for a dataset run on a schedule, how long it may go without a run before it is stale.
    Built with drift.document's model, the one the monitor validates with: a run the monitor
    would refuse is refused here, with the monitor's reason, and never sent."""
    try:
        run = Run.model_validate(
            {
                "dataset": dataset,
                "batch": batch,
                "reference": reference,
                "run_at": run_at or datetime.now(UTC),
                "stale_after_seconds": stale_after_seconds,
                **report.to_dict(),
            }
        )
    except ValidationError as exc:
        raise DriftInputError(f"the monitor would refuse this run: {_first_problem(exc)}") from None
    # A run by hand has no schedule: the key is left out, as clients have always sent it.
    unscheduled = {"stale_after_seconds"} if run.stale_after_seconds is None else set()
    return run.model_dump(mode="json", exclude=unscheduled)


def _first_problem(exc: ValidationError) -> str:
    """The first problem on one line, named by its place in the document, as the monitor's
    422 answer names it."""
    error = exc.errors(include_url=False)[0]
    place = ".".join(map(str, error["loc"]))
    return f"{place}: {error['msg']}" if place else error["msg"]


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
    """POST one run; returns the monitor's answer (run id, whether it is current). A document
    the monitor would refuse (one not built by run_document) is not sent."""
    try:
        Run.model_validate(dict(run))
    except ValidationError as exc:
        raise PublishError(f"the monitor would refuse the run: {_first_problem(exc)}") from None
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
