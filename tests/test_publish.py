"""Sending runs to the monitor's JSON API: the document, retries, refusals, unreachable monitors."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime

import pandas as pd
import pytest

from conftest import Recorder
from drift import compare
from drift.publish import PublishError, run_document, send_run, session_with_retries
from names import RUNS_PATH

REPORT = compare(pd.DataFrame({"x": [1.0, 2.0, 3.0]}), pd.DataFrame({"x": [7.0, 8.0, 9.0]}))
RUN = run_document(
    REPORT, "shop", reference="ref.csv", batch="b_2.csv", run_at=datetime(2026, 1, 2, tzinfo=UTC)
)


def fast_session():
    return session_with_retries(retries=3, backoff_seconds=0.01)


def test_the_document_carries_names_time_and_the_whole_report() -> None:
    document = RUN
    assert document == {
        "dataset": "shop",
        "batch": "b_2.csv",
        "reference": "ref.csv",
        "run_at": "2026-01-02T00:00:00+00:00",
        **REPORT.to_dict(),
    }


def test_a_scheduled_run_says_how_long_its_dataset_may_go_without_a_run() -> None:
    document = run_document(
        REPORT, "shop", "ref.csv", "b_2.csv", datetime(2026, 1, 2, tzinfo=UTC), 1200.0
    )
    assert document == {**RUN, "stale_after_seconds": 1200.0}
    assert "stale_after_seconds" not in RUN  # a run by hand: its dataset never goes stale


def test_posts_the_run_as_json_with_the_bearer_token(recorder: Recorder) -> None:
    answer = send_run(RUN, recorder.url, token="s3cret", session=fast_session())
    assert answer == {"dataset": "d", "run_id": 1, "current": True}
    [request] = recorder.requests
    assert request["path"] == RUNS_PATH
    assert request["headers"]["Authorization"] == "Bearer s3cret"
    assert json.loads(request["body"]) == RUN


def test_no_token_sends_no_authorization_header(recorder: Recorder) -> None:
    send_run(RUN, recorder.url, session=fast_session())
    assert "Authorization" not in recorder.requests[0]["headers"]


def test_retries_server_errors_then_succeeds(recorder: Recorder) -> None:
    recorder.answers = [(503, "{}"), (502, "{}"), *recorder.answers]
    send_run(RUN, recorder.url, session=fast_session())
    assert len(recorder.requests) == 3


def test_gives_up_after_the_retries_with_the_monitors_reason(recorder: Recorder) -> None:
    recorder.answers = [(500, '{"error": "disk full"}')]
    with pytest.raises(PublishError, match="HTTP 500: disk full"):
        send_run(RUN, recorder.url, session=fast_session())
    assert len(recorder.requests) == 4  # the first try and three retries


def test_a_refused_run_is_not_retried(recorder: Recorder) -> None:
    recorder.answers = [(422, '{"error": "features.0.p_value: Input should be a finite number"}')]
    with pytest.raises(PublishError, match=r"HTTP 422: features\.0\.p_value"):
        send_run(RUN, recorder.url, session=fast_session())
    assert len(recorder.requests) == 1


def test_an_unreachable_monitor_is_one_clear_error() -> None:
    with socket.socket() as sock:  # a port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(PublishError, match="cannot reach the monitor"):
        send_run(RUN, f"http://127.0.0.1:{port}", session=fast_session())
