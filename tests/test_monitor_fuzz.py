"""Schemathesis fuzzes every operation of the monitor's own OpenAPI description, in process,
with the write token so that writes are exercised too: never a 5xx, every answer as
documented, and /metrics always renders whatever got stored."""

from __future__ import annotations

import math
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from prometheus_client.parser import text_string_to_metric_families
from schemathesis.specs.openapi.checks import positive_data_acceptance

import names
from conftest import MONITOR_TOKEN, feature_doc, run_doc
from monitor.app import create_app
from monitor.exposition import series_of
from monitor.store import Store

AUTH = {"Authorization": f"Bearer {MONITOR_TOKEN}"}
# Valid data the app refuses on purpose: the cross-field rules of a run (summary against its
# features, unique feature names, run_at not in the future) are beyond JSON Schema, so
# "schema-valid request rejected" is expected there. Every other built-in check runs.
EXCLUDED_CHECKS = [positive_data_acceptance]


# The schema is loaded when the module is imported (schemathesis.pytest.from_fixture does not
# work with this pytest), so the app and its fresh SQLite file are made then too.
WORKDIR = Path(tempfile.mkdtemp(prefix="monitor_fuzz_"))
STORE = Store(WORKDIR / "monitor.db", series_of, max_series=100_000, keep_runs=50)
APP = create_app(STORE, MONITOR_TOKEN)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(scope="module", autouse=True)
def seeded() -> Iterator[None]:
    """A dataset to read and delete from the start; the database is removed at the end."""
    seed = run_doc("0", [feature_doc("0", 0.5)])
    assert schema[names.RUNS_PATH]["POST"].Case(body=seed).call(headers=AUTH).status_code == 201
    yield
    STORE.close()
    shutil.rmtree(WORKDIR)


def assert_metrics_render() -> None:
    response = schema["/metrics"]["GET"].Case().call()
    assert response.status_code == 200, response.text
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            assert math.isfinite(sample.value), sample


@schema.parametrize()
@settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented_and_never_fails(case: schemathesis.Case) -> None:
    case.call_and_validate(headers=AUTH, excluded_checks=EXCLUDED_CHECKS)
    assert_metrics_render()


def test_the_fuzzers_token_lets_its_writes_through() -> None:
    """The fuzzing above reaches the store: a valid run sent the same way is stored."""
    operation = schema[names.RUNS_PATH]["POST"]
    case = operation.Case(body=run_doc("fuzz-probe", [feature_doc("x", 0.5)]))

    response = case.call_and_validate(headers=AUTH, excluded_checks=EXCLUDED_CHECKS)

    assert response.status_code == 201
    assert "fuzz-probe" in STORE.current
    unauthorized = operation.Case(body=run_doc("fuzz-probe-2", [feature_doc("x", 0.5)])).call()
    assert unauthorized.status_code == 401
    assert "fuzz-probe-2" not in STORE.current
