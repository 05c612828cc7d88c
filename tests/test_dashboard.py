"""The "Data Drift" dashboard as code: modern panels only, names from drift.names, every query
on the dataset variable, alpha drawn where the alert rule compares, stable panel ids, and JSON
that Grafana 11's save API accepts (checked against its OpenAPI spec)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from dashboards.drift import (
    ADJUSTED_P_VALUE_PANEL_ID,
    ALERTS_PANEL_ID,
    CURRENT_STATE_PANEL_ID,
    EFFECT_SIZE_PANEL_ID,
    FEATURES_DRIFTED_PANEL_ID,
    LAST_RUN_PANEL_ID,
    MANAGED_TAG,
    P_VALUE_PANEL_ID,
    SCHEMA_VERSION,
    alert_panel_id,
    build_dashboard,
)
from drift import names

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
DATASET_FILTER = f'{names.DATASET_LABEL}=~"$dataset"'
ARGS: dict[str, Any] = {
    "uid": "data-drift",
    "title": "Data Drift",
    "datasource_uid": "drift-prometheus",
    "alpha": 0.05,
    "use_adjusted": True,
    "folder_uid": "drift",
    "stale_after_seconds": 7200,
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
    assert len(found) == 10
    for p, target in found:
        assert p["datasource"] == datasource
        assert target["datasource"] == datasource
        used = metrics_of(target["expr"])
        assert used, target["expr"]
        assert used <= EXPORTED_NAMES | {"time"}, target["expr"]


def test_every_query_filters_on_the_dataset_variable() -> None:
    for _, target in targets(build()):
        selectors = re.findall(r"([A-Za-z_:][A-Za-z0-9_:]*)(\{[^}]*\})?", target["expr"])
        metric_selectors = [(m, s) for m, s in selectors if m in EXPORTED_NAMES]
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
@pytest.mark.parametrize("alpha", [0.05, 0.01, 0.001])
def test_p_value_panels_draw_alpha_as_a_red_line(panel_id: int, alpha: float) -> None:
    defaults = panel(build(alpha=alpha), panel_id)["fieldConfig"]["defaults"]
    thresholds = defaults["thresholds"]
    assert thresholds["mode"] == "absolute"
    assert thresholds["steps"][0]["value"] is None
    assert {"color": "red", "value": alpha} in thresholds["steps"]
    assert [step["value"] for step in thresholds["steps"][1:]] == [alpha]
    assert defaults["custom"]["thresholdsStyle"] == {"mode": "line"}


def test_the_alpha_line_moves_with_alpha() -> None:
    def line(alpha: float) -> Any:
        return panel(build(alpha=alpha), P_VALUE_PANEL_ID)["fieldConfig"]["defaults"]["thresholds"]

    assert line(0.05) != line(0.01)


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
        return set().union(*(metrics_of(e) for e in exprs(panel_id))) & EXPORTED_NAMES

    assert metrics(P_VALUE_PANEL_ID) == {names.P_VALUE}
    assert metrics(ADJUSTED_P_VALUE_PANEL_ID) == {names.P_VALUE_ADJUSTED}
    assert metrics(EFFECT_SIZE_PANEL_ID) == {names.EFFECT_SIZE}
    assert metrics(FEATURES_DRIFTED_PANEL_ID) == {names.FEATURES_DRIFTED, names.FEATURES_TESTED}
    assert metrics(LAST_RUN_PANEL_ID) == {names.LAST_RUN_TIMESTAMP}
    assert exprs(LAST_RUN_PANEL_ID)[0].startswith("time() - ")
    assert metrics(CURRENT_STATE_PANEL_ID) == {
        names.P_VALUE,
        names.P_VALUE_ADJUSTED,
        names.EFFECT_SIZE,
        names.DRIFTED,
    }
    assert panel(dashboard, ALERTS_PANEL_ID)["type"] == "alertlist"
    assert alert_panel_id(False) == P_VALUE_PANEL_ID
    assert alert_panel_id(True) == ADJUSTED_P_VALUE_PANEL_ID


def test_panel_ids_do_not_depend_on_the_arguments() -> None:
    def layout(dashboard: dict[str, Any]) -> dict[int, tuple[str, Any]]:
        return {p["id"]: (p["type"], p["gridPos"]) for p in dashboard["panels"]}

    assert layout(build()) == layout(build(use_adjusted=False, alpha=0.01, uid="other"))


@pytest.mark.parametrize("use_adjusted", [True, False])
def test_the_rule_p_value_is_the_one_marked_and_sorted_on(use_adjusted: bool) -> None:
    dashboard = build(use_adjusted=use_adjusted)
    rule_panel = panel(dashboard, alert_panel_id(use_adjusted))
    other_panel = panel(dashboard, alert_panel_id(not use_adjusted))
    assert "alert rule fires" in rule_panel["description"]
    assert "alert rule fires" not in other_panel["description"]
    table = panel(dashboard, CURRENT_STATE_PANEL_ID)
    header = "adjusted p-value" if use_adjusted else "p-value"
    assert table["options"]["sortBy"] == [{"displayName": header, "desc": False}]


def test_stat_panels_colour_drift_and_staleness() -> None:
    dashboard = build()
    drifted = panel(dashboard, FEATURES_DRIFTED_PANEL_ID)["fieldConfig"]["defaults"]
    assert drifted["thresholds"]["steps"] == [
        {"color": "green", "value": None},
        {"color": "red", "value": 1},
    ]
    last_run = panel(dashboard, LAST_RUN_PANEL_ID)["fieldConfig"]["defaults"]
    assert last_run["unit"] == "s"
    steps = last_run["thresholds"]["steps"]
    assert [s["color"] for s in steps] == ["green", "orange", "red"]
    assert steps[0]["value"] is None
    assert 0 < steps[1]["value"] < steps[2]["value"]


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
    assert {"drift", MANAGED_TAG} <= set(dashboard["tags"])
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
    build(alpha=0.01, use_adjusted=False, uid="other", datasource_uid="x")  # no shared state
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
        {"alpha": 0},
        {"alpha": 1},
        {"alpha": float("nan")},
        {"alpha": True},
        {"uid": ""},
        {"uid": "has space"},
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


def test_the_last_run_turns_red_when_the_staleness_alert_fires() -> None:
    for stale_after in (600, 7200):
        [panel] = [p for p in build(stale_after_seconds=stale_after)["panels"]
                   if p["id"] == LAST_RUN_PANEL_ID]  # fmt: skip
        steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
        assert [(s["color"], s["value"]) for s in steps] == [
            ("green", None),
            ("orange", stale_after / 2),
            ("red", stale_after),
        ]
