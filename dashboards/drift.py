"""The "Data Drift" dashboard as code, rendered to the JSON body of `POST /api/dashboards/db`.

Panels are built with grafanalib 0.7.1 where it has a modern panel class (timeseries, stat, table)
and by hand where it has none (its `AlertList` writes the pre-7.5 options). grafanalib's output is
then brought up to date for Grafana 11 by `provisioning.grafanalib.to_grafana_json`.
Every metric and label name comes from `names`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from grafanalib.core import (
    GRAPH_TOOLTIP_MODE_SHARED_CROSSHAIR,
    REFRESH_ON_TIME_RANGE_CHANGE,
    SORT_ALPHA_ASC,
    TABLE_TARGET_FORMAT,
    TIME_SERIES_TARGET_FORMAT,
    Dashboard,
    DashboardLink,
    GridPos,
    Stat,
    Table,
    TableSortByField,
    Target,
    Template,
    Templating,
    Time,
    TimePicker,
    TimeSeries,
)

import names
from provisioning.grafanalib import plain, to_grafana_json
from provisioning.model import Dashboard as Board
from provisioning.model import (
    DataSource,
    Definition,
    DefinitionError,
    Folder,
    Values,
    prometheus,
)
from provisioning.model.checks import UID_RULE, is_uid

TAGS = ("drift",)

# Panel ids are fixed by hand, never auto-numbered: alert rules link to a panel by
# (dashboardUid, panelId), so adding a panel must not renumber the others.
P_VALUE_PANEL_ID = 1
ADJUSTED_P_VALUE_PANEL_ID = 2
EFFECT_SIZE_PANEL_ID = 3
FEATURES_DRIFTED_PANEL_ID = 4
LAST_RUN_PANEL_ID = 5
CURRENT_STATE_PANEL_ID = 6
ALERTS_PANEL_ID = 7

DATASET_VARIABLE = names.DATASET_LABEL  # the dashboard variable, named after the label it filters
# Each series joined with the value its dataset's run published (alpha, stale after); the
# alert rules join the same way.
PER_DATASET = f"on({names.DATASET_LABEL}) group_left()"
P_VALUE_AXIS_MIN = 1e-10  # a log axis needs a positive minimum; smaller p-values are all "drifted"
SCRAPE_LABELS = ("instance", "job")  # added by Prometheus to every series, not by the monitor


def build_dashboard(
    *,
    uid: str,
    title: str,
    datasource_uid: str,
    folder_uid: str,
    refresh: str = "10s",
) -> dict[str, Any]:
    """The dashboard JSON (the `dashboard` member of `POST /api/dashboards/db`), `id` null.

    Alpha and the staleness limit are drawn from what each run published, never from a
    constant. The same arguments always give the same JSON. Raises DefinitionError on arguments
    Grafana would reject.
    """
    _check_arguments(uid, title, datasource_uid, folder_uid, refresh)
    datasource = {"type": "prometheus", "uid": datasource_uid}
    panels = [
        _features_drifted_panel(datasource, GridPos(h=6, w=6, x=0, y=0)),
        _last_run_panel(datasource, GridPos(h=6, w=6, x=6, y=0)),
        _p_value_panel(datasource, adjusted=False, grid=GridPos(h=9, w=12, x=0, y=6)),
        _p_value_panel(datasource, adjusted=True, grid=GridPos(h=9, w=12, x=12, y=6)),
        _effect_size_panel(datasource, GridPos(h=9, w=12, x=0, y=15)),
        _current_state_panel(datasource, GridPos(h=9, w=12, x=12, y=15)),
    ]
    dashboard = Dashboard(
        title=title,
        uid=uid,
        description="Statistical drift tests per feature: p-values, effect sizes, last run.",
        tags=list(TAGS),
        timezone="browser",
        refresh=refresh,
        time=Time("now-6h", "now"),
        timePicker=TimePicker(
            refreshIntervals=["10s", "30s", "1m", "5m", "15m", "1h"], timeOptions=[]
        ),
        graphTooltip=GRAPH_TOOLTIP_MODE_SHARED_CROSSHAIR,
        templating=Templating(list=[_dataset_variable(datasource)]),
        links=[
            DashboardLink(
                type="link",
                title="Drift folder: dashboards and alert rules",
                uri=f"/dashboards/f/{folder_uid}/",
                icon="dashboard",
                keepTime=False,
            )
        ],
        panels=panels,
    )
    body = to_grafana_json(dashboard)
    body["panels"].append(_alert_list_panel(GridPos(h=6, w=12, x=12, y=0)))
    # Grafana lays panels out by position; sorting the same way keeps a round trip diff-free.
    body["panels"].sort(key=lambda panel: (panel["gridPos"]["y"], panel["gridPos"]["x"]))
    return body


def datasource(values: Values) -> DataSource:
    settings = values.section("prometheus")
    return prometheus(
        uid=settings.text("datasource_uid"),
        name=settings.text("datasource_name"),
        url=settings.text("url"),
        scrape_interval=settings.text("scrape_interval"),
    )


def folder(values: Values) -> Folder:
    settings = values.section("folder")
    return Folder(settings.text("uid"), settings.text("title"))


def dashboard(values: Values) -> Board:
    settings = values.section("dashboard")
    home = folder(values)
    body = build_dashboard(
        uid=settings.text("uid"),
        title=settings.text("title"),
        datasource_uid=datasource(values).uid,
        folder_uid=home.uid,
        refresh=settings.text("refresh"),
    )
    return Board(body, home)


def define(values: Values) -> list[Definition]:
    return [datasource(values), folder(values), dashboard(values)]


def _check_arguments(
    uid: str, title: str, datasource_uid: str, folder_uid: str, refresh: str
) -> None:
    # The save API answers 400 for these; failing here names the argument instead.
    for name, value in (("uid", uid), ("folder_uid", folder_uid)):
        if not is_uid(value):
            raise DefinitionError(f"{name} must be {UID_RULE}: {value!r}")
    if not isinstance(title, str) or not title.strip():
        raise DefinitionError("title must not be empty")
    if not isinstance(datasource_uid, str) or not datasource_uid:
        raise DefinitionError("datasource_uid must not be empty")
    if not isinstance(refresh, str):
        raise DefinitionError(f"refresh must be a string such as '10s' or '': {refresh!r}")


# --- queries -------------------------------------------------------------------------------


def _selector(metric: str) -> str:
    """`metric{dataset=~"$dataset"}`: every query follows the dataset variable."""
    return f'{metric}{{{names.DATASET_LABEL}=~"${DATASET_VARIABLE}"}}'


def _legend(*labels: str) -> str:
    return " / ".join("{{" + label + "}}" for label in labels)


def _target(
    datasource: dict[str, str],
    ref_id: str,
    expr: str,
    legend: str = "",
    *,
    instant: bool = False,
    table: bool = False,
) -> Target:
    return Target(
        datasource=datasource,
        refId=ref_id,
        expr=expr,
        legendFormat=legend,
        instant=instant,
        format=TABLE_TARGET_FORMAT if table else TIME_SERIES_TARGET_FORMAT,
    )


def _steps(*steps: tuple[str, float | None]) -> list[dict[str, Any]]:
    """Threshold steps as plain dicts: grafanalib's `Threshold` writes the base value as the
    string "null" (Grafana wants JSON null) and adds the Angular graph's op/yaxis/line/index."""
    return [{"color": color, "value": value} for color, value in steps]


# --- panels --------------------------------------------------------------------------------


def _p_value_panel(datasource: dict[str, str], *, adjusted: bool, grid: GridPos) -> TimeSeries:
    metric = names.P_VALUE_ADJUSTED if adjusted else names.P_VALUE
    kind = "Adjusted p-value" if adjusted else "p-value"
    if adjusted:
        role = "The drift alert rule fires when a feature's value is below its run's alpha"
    else:
        role = (
            "For reference: the engine and the drift alert rule compare the adjusted p-value "
            "(the same as this one with correction: none) with alpha"
        )
    return TimeSeries(
        id=ADJUSTED_P_VALUE_PANEL_ID if adjusted else P_VALUE_PANEL_ID,
        title=f"{kind} per feature",
        description=f"{role}: the dashed red line, the alpha each run published (set in the "
        f"drift config). Log scale; values below {P_VALUE_AXIS_MIN:g} sit on the bottom edge.",
        dataSource=datasource,
        targets=[
            _target(
                datasource,
                "p_value",
                _selector(metric),
                _legend(names.DATASET_LABEL, names.FEATURE_LABEL),
            ),
            _target(
                datasource,
                "alpha",
                _selector(names.DATASET_ALPHA),
                _legend(names.DATASET_LABEL) + " alpha",
            ),
        ],
        gridPos=grid,
        unit="sci",
        lineInterpolation="stepAfter",  # a value holds until the next run replaces it
        scaleDistributionType="log",
        scaleDistributionLog=10,
        thresholds=_steps(("green", None)),  # no constant line: alpha is a series
        overrides=[
            {
                "matcher": {"id": "byFrameRefID", "options": "alpha"},
                "properties": [
                    {"id": "color", "value": {"mode": "fixed", "fixedColor": "red"}},
                    {"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}},
                ],
            }
        ],
        legendDisplayMode="table",
        legendCalcs=["lastNotNull", "min"],
        tooltipMode="multi",
        tooltipSort="asc",
        # grafanalib's valueMin/valueMax accept only ints.
        extraJson={"fieldConfig": {"defaults": {"min": P_VALUE_AXIS_MIN, "max": 1}}},
    )


def _effect_size_panel(datasource: dict[str, str], grid: GridPos) -> TimeSeries:
    return TimeSeries(
        id=EFFECT_SIZE_PANEL_ID,
        title="Effect size per feature",
        description="Normed Wasserstein distance (numeric) or Cramer's V (categorical): how "
        "large a shift is, whatever the sample size. The drift alert rule fires when it is at "
        "least the feature's threshold (dashed, as each run published it from the drift "
        "config's min_effect_size) and the adjusted p-value is below alpha.",
        dataSource=datasource,
        targets=[
            _target(
                datasource,
                "A",
                _selector(names.EFFECT_SIZE),
                _legend(names.DATASET_LABEL, names.FEATURE_LABEL),
            ),
            _target(
                datasource,
                "threshold",
                _selector(names.EFFECT_SIZE_THRESHOLD),
                _legend(names.DATASET_LABEL, names.FEATURE_LABEL) + " min effect",
            ),
        ],
        gridPos=grid,
        unit="none",
        valueMin=0,
        lineInterpolation="stepAfter",
        thresholds=_steps(("green", None)),
        legendDisplayMode="table",
        overrides=[
            {
                "matcher": {"id": "byFrameRefID", "options": "threshold"},
                "properties": [
                    {"id": "color", "value": {"mode": "fixed", "fixedColor": "red"}},
                    {"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}},
                ],
            }
        ],
        legendCalcs=["lastNotNull", "max"],
        tooltipMode="multi",
        tooltipSort="desc",
    )


def _features_drifted_panel(datasource: dict[str, str], grid: GridPos) -> Stat:
    return Stat(
        id=FEATURES_DRIFTED_PANEL_ID,
        title="Features drifted",
        description="Features that drifted in the last run, and features tested.",
        dataSource=datasource,
        targets=[
            _target(
                datasource,
                "A",
                _selector(names.FEATURES_DRIFTED),
                _legend(names.DATASET_LABEL) + " drifted",
                instant=True,
            ),
            _target(
                datasource,
                "B",
                _selector(names.FEATURES_TESTED),
                _legend(names.DATASET_LABEL) + " tested",
                instant=True,
            ),
        ],
        gridPos=grid,
        color={"mode": "thresholds"},
        thresholds=_steps(("green", None), ("red", 1)),
        # The count tested is context, not a signal: never green or red.
        overrides=[
            {
                "matcher": {"id": "byFrameRefID", "options": "B"},
                "properties": [{"id": "color", "value": {"mode": "fixed", "fixedColor": "text"}}],
            }
        ],
        decimals=0,
        graphMode="none",
        reduceCalc="lastNotNull",
        textMode="value_and_name",
        noValue="no run yet",
    )


def _last_run_panel(datasource: dict[str, str], grid: GridPos) -> Stat:
    since = f"time() - {_selector(names.LAST_RUN_TIMESTAMP)}"
    return Stat(
        id=LAST_RUN_PANEL_ID,
        title="Time since the last run",
        description="How long ago each dataset's last drift run was computed and, for a "
        "dataset run on a schedule, the time left before it is stale (as its runs publish): "
        "red below zero, when the staleness alert fires. A dataset run by hand never goes "
        "stale.",
        dataSource=datasource,
        targets=[
            _target(
                datasource,
                "since_last_run",
                since,
                _legend(names.DATASET_LABEL) + " last run",
                instant=True,
            ),
            # The staleness rule's difference with the sign turned: the same zero crossing.
            _target(
                datasource,
                "time_left",
                f"{_selector(names.DATASET_STALE_AFTER)} - {PER_DATASET} ({since})",
                _legend(names.DATASET_LABEL) + " left until stale",
                instant=True,
            ),
        ],
        gridPos=grid,
        format="s",
        color={"mode": "thresholds"},
        thresholds=_steps(("red", None), ("green", 0)),
        overrides=[
            {
                "matcher": {"id": "byFrameRefID", "options": "since_last_run"},
                "properties": [{"id": "color", "value": {"mode": "fixed", "fixedColor": "text"}}],
            }
        ],
        decimals=0,
        graphMode="none",
        reduceCalc="lastNotNull",
        textMode="value_and_name",
        noValue="no run yet",
    )


# Columns of the current-state table: (query, expression, header). The alpha column puts on
# each feature's row the alpha its run published: 0 * p + alpha is alpha exactly.
_ALPHA_PER_FEATURE = (
    f"0 * {_selector(names.P_VALUE_ADJUSTED)} + {PER_DATASET} {_selector(names.DATASET_ALPHA)}"
)
_TABLE_COLUMNS = (
    ("p_value", _selector(names.P_VALUE), "p-value"),
    ("p_value_adjusted", _selector(names.P_VALUE_ADJUSTED), "adjusted p-value"),
    ("alpha", _ALPHA_PER_FEATURE, "alpha"),
    ("effect_size", _selector(names.EFFECT_SIZE), "effect size"),
    ("min_effect", _selector(names.EFFECT_SIZE_THRESHOLD), "min effect"),
    ("drifted", _selector(names.DRIFTED), "drifted"),
)
_P_HEADERS = ("p-value", "adjusted p-value")  # shown in scientific notation
_RULE_COLUMN = "adjusted p-value"  # what the alert rule compares with alpha


def _current_state_panel(datasource: dict[str, str], grid: GridPos) -> Table:
    return Table(
        id=CURRENT_STATE_PANEL_ID,
        title="Current state per feature",
        description="The latest values, one row per dataset and feature. drifted (red): the "
        "adjusted p-value is below the alpha of its run and the effect size is at least its min "
        "effect, the comparisons the alert rule makes.",
        dataSource=datasource,
        targets=[
            _target(datasource, ref, expr, instant=True, table=True)
            for ref, expr, _ in _TABLE_COLUMNS
        ],
        gridPos=grid,
        thresholds=_steps(("green", None)),
        transformations=_table_transformations(),
        overrides=[
            *(_by_name(header, [{"id": "unit", "value": "sci"}]) for header in _P_HEADERS),
            _by_name(
                "drifted",
                [
                    {"id": "mappings", "value": _drifted_mappings()},
                    {"id": "custom.cellOptions", "value": {"type": "color-text"}},
                ],
            ),
        ],
        sortBy=[TableSortByField(displayName=_RULE_COLUMN, desc=False)],
    )


def _table_transformations() -> list[dict[str, Any]]:
    value = {ref: f"Value #{ref}" for ref, _, _ in _TABLE_COLUMNS}  # Grafana's column names
    # Each instant query is one frame whose columns are Time, the labels and "Value #<ref>".
    # Dropping the columns that differ between queries first (the metric name) or are noise
    # lets "merge" join the frames into one row per (dataset, feature).
    noise = ["Time", "__name__", *SCRAPE_LABELS]
    order = [names.DATASET_LABEL, names.FEATURE_LABEL, *value.values()]
    return [
        {"id": "organize", "options": {"excludeByName": dict.fromkeys(noise, True)}},
        {"id": "merge", "options": {}},
        {
            "id": "organize",
            "options": {
                "indexByName": {column: index for index, column in enumerate(order)},
                "renameByName": {value[ref]: header for ref, _, header in _TABLE_COLUMNS},
            },
        },
    ]


def _by_name(field: str, properties: list[dict[str, Any]]) -> dict[str, Any]:
    return {"matcher": {"id": "byName", "options": field}, "properties": properties}


def _drifted_mappings() -> list[dict[str, Any]]:
    return [
        {
            "type": "value",
            "options": {
                "0": {"text": "no", "color": "green", "index": 0},
                "1": {"text": "yes", "color": "red", "index": 1},
            },
        }
    ]


def _alert_list_panel(grid: GridPos) -> dict[str, Any]:
    """The alert list, written by hand: grafanalib's `AlertList` emits the options of the legacy
    panel (top-level show/limit/onlyAlertsOnDashboard, a list stateFilter) that Grafana 11 has
    to migrate. `dashboardAlerts` keeps the rules linked to this dashboard (the drift and the
    staleness rules link to its panels); the folder filter is not used because Grafana 11
    matches it by folder title, which this function does not know."""
    return {
        "id": ALERTS_PANEL_ID,
        "type": "alertlist",
        "title": "Drift alerts",
        "description": "Alert rules linked to this dashboard, firing first.",
        "gridPos": plain(grid),
        "options": {
            "viewMode": "list",
            "groupMode": "default",
            "groupBy": [],
            "maxItems": 20,
            "sortOrder": 3,  # importance: firing, pending, then the rest
            "dashboardAlerts": True,
            "alertName": "",
            "alertInstanceLabelFilter": "",
            "showInactiveAlerts": True,
            "stateFilter": {
                "firing": True,
                "pending": True,
                "recovering": True,
                "noData": True,
                "normal": True,
                "error": True,
            },
        },
    }


def _dataset_variable(datasource: dict[str, str]) -> Template:
    return Template(
        name=DATASET_VARIABLE,
        label="Dataset",
        query=f"label_values({names.P_VALUE}, {names.DATASET_LABEL})",
        dataSource=datasource,
        multi=True,
        includeAll=True,
        allValue=".*",  # one short regex instead of an alternation of every dataset
        refresh=REFRESH_ON_TIME_RANGE_CHANGE,
        sort=SORT_ALPHA_ASC,
    )


# --- checks for provision.py validate ------------------------------------------------------

# Panels showing what the rules compare with alpha, the effect size thresholds or the staleness
# limit.
_COMPARED = (names.P_VALUE, names.P_VALUE_ADJUSTED, names.EFFECT_SIZE, names.LAST_RUN_TIMESTAMP)


def check(definitions: Sequence[Definition]) -> list[str]:
    """Alpha, the effect size thresholds and the staleness limit are published by every run: a
    panel drawing a constant threshold next to what the rules compare with them would disagree
    with the alerts."""
    problems = []
    for board in (d for d in definitions if isinstance(d, Board)):
        for panel in board.to_json().get("panels") or []:
            exprs = " ".join(target.get("expr", "") for target in panel.get("targets") or [])
            if not any(re.search(rf"\b{metric}\b", exprs) for metric in _COMPARED):
                continue
            for value in _threshold_values(panel):
                if value not in (None, 0):
                    problems.append(
                        f"dashboard panel {panel.get('title')!r}: constant threshold {value}; "
                        f"alpha, the effect size thresholds and the staleness limit are "
                        f"published by every run ({names.DATASET_ALPHA}, "
                        f"{names.EFFECT_SIZE_THRESHOLD}, {names.DATASET_STALE_AFTER}): draw those"
                    )
    return problems


def _threshold_values(panel: dict[str, Any]) -> list[Any]:
    field_config = panel.get("fieldConfig") or {}
    sets = [(field_config.get("defaults") or {}).get("thresholds") or {}]
    for override in field_config.get("overrides") or []:
        sets += [p["value"] for p in override.get("properties", []) if p.get("id") == "thresholds"]
    return [step.get("value") for thresholds in sets for step in thresholds.get("steps", [])]
