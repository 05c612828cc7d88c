"""Sending drift results to the Stateful Monitor."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from drift.names import LEGACY_METRICS, LEGACY_PATH

TIMEOUT_SECONDS = 10


class PublishError(RuntimeError):
    """The monitor did not accept the results."""


def session_with_retries(retries: int = 4, backoff_seconds: float = 0.5) -> requests.Session:
    """A session that retries connection errors, 429 and 5xx with exponential backoff."""
    retry = Retry(
        total=retries,
        backoff_factor=backoff_seconds,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=None,  # every write to the monitor is idempotent: it sets values
        raise_on_status=False,
    )
    session = requests.Session()
    session.mount("http://", HTTPAdapter(max_retries=retry))
    session.mount("https://", HTTPAdapter(max_retries=retry))
    return session


def legacy_values(report: Mapping[str, Any]) -> Iterator[tuple[str, str, float]]:
    """(feature, metric, value) for every tested feature of a report's dict form."""
    for feature in report["features"]:
        if feature["status"] == "tested":
            for metric in LEGACY_METRICS:
                yield feature["feature"], metric, float(feature[metric])


def send_legacy(
    report: Mapping[str, Any],
    monitor_url: str,
    token: str | None = None,
    session: requests.Session | None = None,
) -> int:
    """POST every value to the course's endpoint; returns how many were sent."""
    session = session or session_with_retries()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    url = monitor_url.rstrip("/") + LEGACY_PATH
    sent = 0
    for feature, metric, value in legacy_values(report):
        params = {"feature": feature, "metric": metric, "value": repr(value)}
        try:
            response = session.post(url, params=params, headers=headers, timeout=TIMEOUT_SECONDS)
        except requests.RequestException as exc:
            raise PublishError(f"cannot reach the monitor at {monitor_url}: {exc}") from None
        if response.status_code != 200 or response.text.strip() != "ok":
            raise PublishError(
                f"the monitor refused {feature}/{metric}: HTTP {response.status_code} "
                f"{response.text.strip()[:200]!r}"
            )
        sent += 1
    return sent
