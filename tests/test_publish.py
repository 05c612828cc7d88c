"""Sending runs to the monitor's JSON API: the document, retries, refusals, unreachable monitors."""

from __future__ import annotations

import json
import math
import socket
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest

from conftest import MonitorApp, Recorder
from drift import DriftInputError, DriftReport, compare
from drift.publish import PublishError, run_document, send_run, session_with_retries
from names import RUNS_PATH

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")

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


# --- A run the monitor would refuse is never built, and never sent ---

YEAR_AND_A_DAY = 367 * 86400.0
Arguments = dict[str, Any]


def with_feature(**changes: Any) -> Callable[[Arguments], None]:
    """Change the report's one feature (a report the engine would not make, the monitor's
    rules do not trust the engine)."""

    def change(arguments: Arguments) -> None:
        report = arguments["report"]
        arguments["report"] = replace(report, features=(replace(report.features[0], **changes),))

    return change


def with_features(*names: str) -> Callable[[Arguments], None]:
    """The report's one feature, repeated under these names."""

    def change(arguments: Arguments) -> None:
        [feature] = arguments["report"].features
        features = tuple(replace(feature, feature=name) for name in names)
        arguments["report"] = replace(arguments["report"], features=features)

    return change


def with_report(**changes: Any) -> Callable[[Arguments], None]:
    return lambda arguments: arguments.update(report=replace(arguments["report"], **changes))


def with_arguments(**changes: Any) -> Callable[[Arguments], None]:
    return lambda arguments: arguments.update(changes)


REFUSED = [
    pytest.param(with_arguments(dataset="shop/eu"), id="dataset with a slash"),
    pytest.param(with_arguments(dataset=".."), id="dataset .."),
    pytest.param(with_arguments(dataset=""), id="empty dataset"),
    pytest.param(with_arguments(batch="b\n2.csv"), id="batch with a newline"),
    pytest.param(with_arguments(reference="r" * 129), id="reference too long"),
    pytest.param(with_arguments(run_at=datetime(2026, 1, 2)), id="run_at without a zone"),
    pytest.param(
        with_arguments(run_at=datetime.now(UTC) + timedelta(days=2)), id="run_at in the future"
    ),
    pytest.param(with_arguments(stale_after_seconds=0.0), id="stale after 0 s"),
    pytest.param(with_arguments(stale_after_seconds=YEAR_AND_A_DAY), id="stale after a year"),
    pytest.param(with_arguments(stale_after_seconds=math.inf), id="stale after inf"),
    pytest.param(with_report(alpha=1.5), id="alpha above 1"),
    pytest.param(with_report(correction="holm"), id="unknown correction"),
    pytest.param(
        with_features(*(f"f{i}" for i in range(1_001))), id="more features than the monitor takes"
    ),
    pytest.param(with_features("x", "x"), id="duplicate features"),
    pytest.param(with_feature(feature="a\x01b"), id="feature with a control character"),
    pytest.param(with_feature(statistic=math.nan), id="NaN statistic"),
    pytest.param(with_feature(p_value=1.5), id="p-value above 1"),
    pytest.param(with_feature(p_value_adjusted=None), id="tested without adjusted p-value"),
    pytest.param(with_feature(n_current=2**53 + 1), id="count beyond float64"),
    pytest.param(with_feature(status="skipped", drifted=True), id="skipped and drifted"),
    pytest.param(with_feature(status="failed"), id="unknown status"),
]


def old_document(report: DriftReport, run_at: datetime, **names: Any) -> dict[str, Any]:
    """The body as built by hand before the model built it: what the monitor is asked."""
    schedule = names.pop("stale_after_seconds", None)
    return {
        **names,
        "run_at": run_at.isoformat(),
        **({} if schedule is None else {"stale_after_seconds": schedule}),
        **report.to_dict(),
    }


@pytest.mark.parametrize("change", REFUSED)
def test_a_run_the_monitor_refuses_cannot_be_built(
    monitor_app: MonitorApp, change: Callable[[Arguments], None]
) -> None:
    arguments: Arguments = {
        "report": REPORT,
        "dataset": "shop",
        "reference": "ref.csv",
        "batch": "b_2.csv",
        "run_at": datetime(2026, 1, 2, tzinfo=UTC),
    }
    change(arguments)
    body = json.dumps(old_document(**arguments))  # NaN and Infinity as their JS literals
    headers = {**monitor_app.auth, "Content-Type": "application/json"}
    answer = monitor_app.client.post(RUNS_PATH, content=body, headers=headers)
    assert answer.status_code == 422, answer.text  # the monitor refuses this run
    place = ".".join(answer.json()["detail"][0]["loc"][1:])  # after "body"

    with pytest.raises(DriftInputError) as refused:
        run_document(**arguments)

    message = str(refused.value)
    assert message.startswith(
        "the monitor would refuse this run: " + (f"{place}: " if place else "")
    )
    assert "\n" not in message


def test_the_unchanged_run_is_built_and_accepted(monitor_app: MonitorApp) -> None:
    """The control for the refusals above: only the change makes them refused."""
    document = run_document(REPORT, "shop", "ref.csv", "b_2.csv", datetime(2026, 1, 2, tzinfo=UTC))
    assert monitor_app.post_run(document).status_code == 201


def test_a_document_the_monitor_would_refuse_is_not_sent(recorder: Recorder) -> None:
    with pytest.raises(PublishError, match=r"would refuse the run: dataset: .*cannot contain '/'"):
        send_run({**RUN, "dataset": "shop/eu"}, recorder.url, session=fast_session())
    assert recorder.requests == []


def test_a_document_of_an_older_client_is_still_sent_as_it_is(recorder: Recorder) -> None:
    """A body without summary.features_skipped is valid (the monitor counts it): sent as given."""
    older = json.loads(json.dumps(RUN))
    del older["summary"]["features_skipped"]

    send_run(older, recorder.url, session=fast_session())

    assert json.loads(recorder.requests[0]["body"]) == older
