"""Sending results to the monitor's legacy endpoint: retries, refusals, unreachable monitors."""

from __future__ import annotations

import socket

import pytest

from conftest import Recorder
from drift.names import LEGACY_METRICS
from drift.publish import PublishError, send_legacy, session_with_retries

REPORT = {
    "features": [
        {"feature": "temp", "status": "tested", "p_value": 1e-12, "p_value_adjusted": 2e-12,
         "statistic": 0.3, "effect_size": 0.5, "drifted": True},
        {"feature": "empty", "status": "skipped", "p_value": None, "p_value_adjusted": None,
         "statistic": None, "effect_size": None, "drifted": False},
    ]
}  # fmt: skip


def fast_session():
    return session_with_retries(retries=3, backoff_seconds=0.01)


def test_sends_each_metric_of_tested_features_only(recorder: Recorder) -> None:
    assert send_legacy(REPORT, recorder.url, session=fast_session()) == len(LEGACY_METRICS)
    assert [(r["query"]["feature"], r["query"]["metric"]) for r in recorder.requests] == [
        ("temp", metric) for metric in LEGACY_METRICS
    ]
    values = {r["query"]["metric"]: r["query"]["value"] for r in recorder.requests}
    assert values["p_value"] == "1e-12"
    assert values["drifted"] == "1.0"
    assert "Authorization" not in recorder.requests[0]["headers"]


def test_retries_server_errors_then_succeeds(recorder: Recorder) -> None:
    recorder.answers = [(503, "busy"), (502, "bad gateway"), (200, "ok")]
    assert send_legacy(REPORT, recorder.url, session=fast_session()) == len(LEGACY_METRICS)
    assert len(recorder.requests) == len(LEGACY_METRICS) + 2


def test_gives_up_after_the_retries_with_a_clear_error(recorder: Recorder) -> None:
    recorder.answers = [(500, "boom")]
    with pytest.raises(PublishError, match="HTTP 500"):
        send_legacy(REPORT, recorder.url, session=fast_session())
    assert len(recorder.requests) == 4  # the first try and three retries


def test_an_answer_other_than_ok_is_a_refusal(recorder: Recorder) -> None:
    recorder.answers = [(200, "nope")]
    with pytest.raises(PublishError, match="refused temp/p_value"):
        send_legacy(REPORT, recorder.url, session=fast_session())


def test_sends_the_token_as_a_bearer_header(recorder: Recorder) -> None:
    send_legacy(REPORT, recorder.url, token="s3cret", session=fast_session())
    assert {r["headers"]["Authorization"] for r in recorder.requests} == {"Bearer s3cret"}


def test_an_unreachable_monitor_is_one_clear_error() -> None:
    with socket.socket() as sock:  # a port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(PublishError, match="cannot reach the monitor"):
        send_legacy(REPORT, f"http://127.0.0.1:{port}", session=fast_session())
