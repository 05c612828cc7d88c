"""The "Data Drift" dashboard as code: modern panels only, names from names, every query
on the dataset variable, alpha and the staleness limit drawn from what each run publishes
(never a constant; the PromQL checked by the real promtool), stable panel ids, and JSON that
Grafana 11's save API accepts (checked against its OpenAPI spec)."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

import names
from alerting.rules import STALE
from conftest import PROMTOOL
from dashboards.drift import (
    ADJUSTED_P_VALUE_PANEL_ID,
    ALERTS_PANEL_ID,
    CURRENT_STATE_PANEL_ID,
    EFFECT_SIZE_PANEL_ID,
    FEATURES_DRIFTED_PANEL_ID,
    LAST_RUN_PANEL_ID,
    P_VALUE_PANEL_ID,
    PER_DATASET,
    build_dashboard,
)
from provisioning.grafanalib import SCHEMA_VERSION

# CI checks out shared/ beside the repository clone, as on a workstation.
SPEC = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "reference"
    / "grafana"
    / "api-merged_grafana-11.4.0.json"
)
MODERN_PANEL_TYPES = {"timeseries", "stat", "table", "alertlist"}
EXPORTED_NAMES = {v for k, v in vars(names).items() if k.isupper() and isinstance(v, str)}
METRICS = {name for name in EXPORTED_NAMES if name.startswith("drift_")}
PROMQL_WORDS = {"time", "on", "group_left"}  # functions and keywords the queries use
DATASET_FILTER = f'{names.DATASET_LABEL}=~"$dataset"'
ARGS: dict[str, Any] = {
    "uid": "data-drift",
    "title": "Data Drift",
    "datasource_uid": "drift-prometheus",
    "folder_uid": "drift",
    "refresh": "10s",
}


def build(**changes: Any) -> dict[str, Any]:
    return build_dashboard(**{**ARGS, **changes})


def panel(dashboard: dict[str, Any], panel_id: int) -> dict[str, Any]:
    (found,) = [p for p in dashboard["panels"] if p["id"] == panel_id]
    return found


def targets(dashboard: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for p in dashboard["panels"]:
        for target in p.get("targets", []):
            yield p, target


def metrics_of(expr: str) -> set[str]:
    """Every identifier outside label matchers: metric names, functions, keywords."""
    without_matchers = re.sub(r"\{[^}]*\}", "{}", expr)
    return set(re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", without_matchers))


def walk(value: Any) -> Iterator[Any]:
    yield value
    children = value.values() if isinstance(value, dict) else value
    if isinstance(value, dict | list):
        for child in children:
            yield from walk(child)


def test_only_modern_panel_types() -> None:
    types = {p["type"] for p in build()["panels"]}
    assert types <= MODERN_PANEL_TYPES
    assert types == MODERN_PANEL_TYPES  # and each kind is used


def test_every_query_uses_the_given_datasource_and_only_names_from_drift_names() -> None:
    dashboard = build(datasource_uid="prom-x")
    datasource = {"type": "prometheus", "uid": "prom-x"}
    found = list(targets(dashboard))
    assert len(found) == 16
    for p, target in found:
        assert p["datasource"] == datasource
        assert target["datasource"] == datasource
        used = metrics_of(target["expr"])
        assert used, target["expr"]
        assert used <= EXPORTED_NAMES | PROMQL_WORDS, target["expr"]


def test_every_query_filters_on_the_dataset_variable() -> None:
    for _, target in targets(build()):
        selectors = re.findall(r"([A-Za-z_:][A-Za-z0-9_:]*)(\{[^}]*\})?", target["expr"])
        metric_selectors = [(m, s) for m, s in selectors if m in METRICS]
        assert metric_selectors, target["expr"]
        for metric, matchers in metric_selectors:
            assert DATASET_FILTER in matchers, f"{metric} unfiltered in {target['expr']}"


def test_the_dataset_variable_lists_the_datasets_of_the_p_value_metric() -> None:
    (variable,) = build(datasource_uid="prom-x")["templating"]["list"]
    assert variable["name"] == "dataset"
    assert variable["type"] == "query"
    assert variable["query"] == f"label_values({names.P_VALUE}, {names.DATASET_LABEL})"
    assert variable["datasource"] == {"type": "prometheus", "uid": "prom-x"}
    assert variable["multi"] is True
    assert variable["includeAll"] is True
    assert variable["refresh"] == 2  # on time range change


@pytest.mark.parametrize("panel_id", [P_VALUE_PANEL_ID, ADJUSTED_P_VALUE_PANEL_ID])
def test_p_value_panels_draw_the_published_alpha_as_a_red_dashed_line(panel_id: int) -> None:
    p_values = panel(build(), panel_id)
    [alpha] = [t for t in p_values["targets"] if t["refId"] == "alpha"]
    assert alpha["expr"] == f"{names.DATASET_ALPHA}{{{DATASET_FILTER}}}"
    assert alpha["legendFormat"] == "{{dataset}} alpha"  # one line per dataset, named
    [override] = p_values["fieldConfig"]["overrides"]
    assert override["matcher"] == {"id": "byFrameRefID", "options": "alpha"}
    properties = {prop["id"]: prop["value"] for prop in override["properties"]}
    assert properties["color"] == {"mode": "fixed", "fixedColor": "red"}
    assert properties["custom.lineStyle"]["fill"] == "dash"
    # No constant alpha anywhere: the only threshold step is the base one.
    defaults = p_values["fieldConfig"]["defaults"]
    assert [step["value"] for step in defaults["thresholds"]["steps"]] == [None]
    assert defaults["custom"]["thresholdsStyle"] == {"mode": "off"}


@pytest.mark.parametrize("panel_id", [P_VALUE_PANEL_ID, ADJUSTED_P_VALUE_PANEL_ID])
def test_p_values_are_on_a_log_axis_with_a_positive_minimum(panel_id: int) -> None:
    defaults = panel(build(), panel_id)["fieldConfig"]["defaults"]
    assert defaults["custom"]["scaleDistribution"] == {"type": "log", "log": 10}
    assert 0 < defaults["min"] < 0.001
    assert defaults["max"] == 1


def test_panel_ids_are_unique_and_the_constants_point_at_the_right_panels() -> None:
    dashboard = build()
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)) == 7
    assert all(isinstance(i, int) for i in ids)

    def exprs(panel_id: int) -> list[str]:
        return [t["expr"] for t in panel(dashboard, panel_id).get("targets", [])]

    def metrics(panel_id: int) -> set[str]:
        return set().union(*(metrics_of(e) for e in exprs(panel_id))) & METRICS

    assert metrics(P_VALUE_PANEL_ID) == {names.P_VALUE, names.DATASET_ALPHA}
    assert metrics(ADJUSTED_P_VALUE_PANEL_ID) == {names.P_VALUE_ADJUSTED, names.DATASET_ALPHA}
    assert metrics(EFFECT_SIZE_PANEL_ID) == {names.EFFECT_SIZE, names.EFFECT_SIZE_THRESHOLD}
    assert metrics(FEATURES_DRIFTED_PANEL_ID) == {names.FEATURES_DRIFTED, names.FEATURES_TESTED}
    assert metrics(LAST_RUN_PANEL_ID) == {names.LAST_RUN_TIMESTAMP, names.DATASET_STALE_AFTER}
    assert exprs(LAST_RUN_PANEL_ID)[0].startswith("time() - ")
    assert metrics(CURRENT_STATE_PANEL_ID) == {
        names.P_VALUE,
        names.P_VALUE_ADJUSTED,
        names.DATASET_ALPHA,
        names.EFFECT_SIZE,
        names.EFFECT_SIZE_THRESHOLD,
        names.DRIFTED,
    }
    assert panel(dashboard, ALERTS_PANEL_ID)["type"] == "alertlist"


def test_panel_ids_do_not_depend_on_the_arguments() -> None:
    def layout(dashboard: dict[str, Any]) -> dict[int, tuple[str, Any]]:
        return {p["id"]: (p["type"], p["gridPos"]) for p in dashboard["panels"]}

    assert layout(build()) == layout(build(uid="other", datasource_uid="x"))


def test_the_adjusted_p_value_is_the_one_marked_and_sorted_on() -> None:
    dashboard = build()
    assert "alert rule fires" in panel(dashboard, ADJUSTED_P_VALUE_PANEL_ID)["description"]
    assert "alert rule fires" not in panel(dashboard, P_VALUE_PANEL_ID)["description"]
    table = panel(dashboard, CURRENT_STATE_PANEL_ID)
    assert table["options"]["sortBy"] == [{"displayName": "adjusted p-value", "desc": False}]


def test_stat_panels_colour_drift_and_staleness() -> None:
    dashboard = build()
    drifted = panel(dashboard, FEATURES_DRIFTED_PANEL_ID)["fieldConfig"]["defaults"]
    assert drifted["thresholds"]["steps"] == [
        {"color": "green", "value": None},
        {"color": "red", "value": 1},
    ]
    last_run = panel(dashboard, LAST_RUN_PANEL_ID)
    assert last_run["fieldConfig"]["defaults"]["unit"] == "s"
    # The time left before a dataset is stale: red below 0, green from 0; the time since the
    # last run is text, whatever its value (the limit differs per dataset).
    steps = last_run["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert steps == [{"color": "red", "value": None}, {"color": "green", "value": 0}]
    [override] = last_run["fieldConfig"]["overrides"]
    assert override["matcher"] == {"id": "byFrameRefID", "options": "since_last_run"}


def test_the_table_shows_the_latest_values_with_instant_queries() -> None:
    table = panel(build(), CURRENT_STATE_PANEL_ID)
    assert all(t["instant"] and not t["range"] and t["format"] == "table" for t in table["targets"])
    assert [t["id"] for t in table["transformations"]] == ["organize", "merge", "organize"]


def test_the_alert_list_uses_the_unified_alerting_options() -> None:
    alerts = panel(build(), ALERTS_PANEL_ID)
    legacy = {"show", "limit", "onlyAlertsOnDashboard", "nameFilter", "stateFilter", "span"}
    assert not legacy & alerts.keys()
    options = alerts["options"]
    assert options["dashboardAlerts"] is True
    assert isinstance(options["stateFilter"], dict)
    assert options["stateFilter"]["firing"] is True


def test_the_dashboard_metadata() -> None:
    dashboard = build(uid="u-1", title="Drift of bikes", refresh="1m")
    assert dashboard["uid"] == "u-1"
    assert dashboard["title"] == "Drift of bikes"
    assert dashboard["id"] is None
    assert dashboard["tags"] == ["drift"]  # provision.py adds the stack's mark when it writes
    assert dashboard["timezone"] == "browser"
    assert dashboard["refresh"] == "1m"
    assert dashboard["time"] == {"from": "now-6h", "to": "now"}


def test_modern_schema_and_no_legacy_keys() -> None:
    dashboard = build()
    assert dashboard["schemaVersion"] == SCHEMA_VERSION >= 39
    assert not {"rows", "style", "hideControls", "sharedCrosshair"} & dashboard.keys()
    for p in dashboard["panels"]:
        assert not {"span", "maxDataPoints", "height", "minSpan", "error"} & p.keys()
    for _, target in targets(dashboard):
        assert not {"intervalFactor", "step", "query", "target", "metric"} & target.keys()


def test_the_json_is_deterministic_and_strict() -> None:
    first = json.dumps(build(), sort_keys=True, allow_nan=False)
    build(uid="other", datasource_uid="x")  # no shared state
    assert json.dumps(build(), sort_keys=True, allow_nan=False) == first
    assert json.dumps(build()) == json.dumps(build())  # key order too, without sorting


def test_no_string_null_anywhere_and_every_base_threshold_is_json_null() -> None:
    dashboard = build()
    assert "null" not in [value for value in walk(dashboard) if isinstance(value, str)]
    assert '"null"' not in json.dumps(dashboard)
    threshold_sets = [v for v in walk(dashboard) if isinstance(v, dict) and "steps" in v]
    assert len(threshold_sets) >= 6
    assert all(thresholds["steps"][0]["value"] is None for thresholds in threshold_sets)


def test_panels_fit_the_grid_without_overlapping() -> None:
    cells: set[tuple[int, int]] = set()
    for p in build()["panels"]:
        grid = p["gridPos"]
        assert grid["x"] + grid["w"] <= 24
        mine = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not cells & mine, p["title"]
        cells |= mine


@pytest.mark.parametrize(
    "changes",
    [
        {"uid": ""},
        {"uid": "has space"},
        {"uid": "drift\n"},  # Grafana's $ ends the text (pkg/util/shortid_generator.go)
        {"uid": "x" * 41},
        {"folder_uid": "a/b"},
        {"title": " "},
        {"datasource_uid": ""},
    ],
)
def test_arguments_grafana_would_reject_raise(changes: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        build(**changes)


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    if not SPEC.is_file():
        pytest.skip(f"Grafana API spec not found at {SPEC} (shared/ must sit beside the repo)")
    return json.loads(SPEC.read_text())


def test_the_save_request_matches_grafanas_save_dashboard_command(spec: dict[str, Any]) -> None:
    # Refs such as "#/definitions/Json" resolve against the whole spec document.
    registry = Registry().with_resource(SPEC.as_uri(), Resource.from_contents(spec, DRAFT4))
    schema = {"$ref": f"{SPEC.as_uri()}#/definitions/SaveDashboardCommand"}
    validator = Draft4Validator(schema, registry=registry)
    request = {"dashboard": build(), "folderUid": ARGS["folder_uid"], "overwrite": True}
    validator.validate(request)
    # The spec sets no additionalProperties: check the keys by hand so a typo cannot pass.
    assert request.keys() <= spec["definitions"]["SaveDashboardCommand"]["properties"].keys()
    # The validator is live: wrong types are refused.
    assert not validator.is_valid({**request, "overwrite": "yes"})
    assert not validator.is_valid({**request, "dashboard": [build()]})


def expression(panel_id: int, ref_id: str) -> str:
    """A panel's query, for all datasets (the variable's "All" value)."""
    [target] = [t for t in panel(build(), panel_id)["targets"] if t["refId"] == ref_id]
    return target["expr"].replace("$dataset", ".*")


def promql(series: dict[str, str], tests: list[dict[str, Any]], tmp_path: Path) -> None:
    """Evaluate PromQL with the real promtool: ``tests`` are its promql_expr_test entries."""
    if not PROMTOOL.exists():
        pytest.skip(f"{PROMTOOL} not installed (make system-packages installs it)")
    unit = {
        "rule_files": [],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [{"series": s, "values": v} for s, v in series.items()],
                "promql_expr_test": tests,
            }
        ],
    }
    path = tmp_path / "promql_test.yml"
    path.write_text(yaml.safe_dump(unit))
    run = subprocess.run([str(PROMTOOL), "test", "rules", str(path)], capture_output=True,
                         text=True, timeout=60)  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr


def colour(value: float, steps: list[dict[str, Any]]) -> str:
    """Grafana's absolute thresholds: the colour of the highest step at or below the value."""
    reached = [s for s in steps if s["value"] is None or s["value"] <= value]
    return reached[-1]["color"]


def test_the_alpha_column_shows_each_rows_published_alpha(tmp_path: Path) -> None:
    promql(
        {
            f'{names.P_VALUE_ADJUSTED}{{dataset="bikes",feature="temp"}}': "0.001x3",
            f'{names.P_VALUE_ADJUSTED}{{dataset="bikes",feature="hum"}}': "0.3x3",
            f'{names.P_VALUE_ADJUSTED}{{dataset="shop",feature="price"}}': "0x3",
            f'{names.DATASET_ALPHA}{{dataset="bikes"}}': "0.01x3",
            f'{names.DATASET_ALPHA}{{dataset="shop"}}': "0.05x3",
        },
        [
            {
                "expr": expression(CURRENT_STATE_PANEL_ID, "alpha"),
                "eval_time": "2m",
                "exp_samples": [
                    {"labels": '{dataset="bikes",feature="temp"}', "value": 0.01},
                    {"labels": '{dataset="bikes",feature="hum"}', "value": 0.01},
                    {"labels": '{dataset="shop",feature="price"}', "value": 0.05},
                ],
            }
        ],
        tmp_path,
    )


def test_the_time_left_turns_red_exactly_when_the_staleness_rule_fires(tmp_path: Path) -> None:
    # bikes ran at t=0 and may go 120 s without a run; shop runs by hand (no limit published).
    series = {
        f'{names.LAST_RUN_TIMESTAMP}{{dataset="bikes"}}': "0x4",
        f'{names.LAST_RUN_TIMESTAMP}{{dataset="shop"}}': "0x4",
        f'{names.DATASET_STALE_AFTER}{{dataset="bikes"}}': "120x4",
    }
    steps = panel(build(), LAST_RUN_PANEL_ID)["fieldConfig"]["defaults"]["thresholds"]["steps"]
    # The staleness rule's comparison, made directly: its value is the time since the run.
    stale_promql = f"{STALE.left} > {PER_DATASET} {STALE.right}"
    tests = []
    for minute, left, stale in ((1, 60, False), (2, 0, False), (3, -60, True)):
        assert (colour(left, steps) == "red") is stale
        time_left = {"labels": '{dataset="bikes"}', "value": left}
        # The rule's alert, with the time since the run as its value (shop: never).
        overdue = [{"labels": '{dataset="bikes"}', "value": 60 * minute}] if stale else []
        tests += [
            {
                "expr": expression(LAST_RUN_PANEL_ID, "time_left"),
                "eval_time": f"{minute}m",
                "exp_samples": [time_left],
            },
            {"expr": stale_promql, "eval_time": f"{minute}m", "exp_samples": overdue},
        ]
    promql(series, tests, tmp_path)
