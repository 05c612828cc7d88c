"""grafanalib objects as the JSON Grafana's API takes. ``plain`` encodes them (the model's
Dashboard reads a grafanalib definition through it); ``to_grafana_json`` also brings a
grafanalib 0.7.1 dashboard up to date for Grafana 11: see the comments for each fix."""

from __future__ import annotations

import json
from typing import Any

from grafanalib._gen import DashboardEncoder
from grafanalib.core import Dashboard

SCHEMA_VERSION = 39  # Grafana 11.0's dashboard schema; grafanalib still writes 12

# Keys grafanalib 0.7.1 still writes that Grafana 11 no longer reads.
_LEGACY_DASHBOARD_KEYS = ("__inputs", "hideControls", "rows", "sharedCrosshair", "style", "version")
_LEGACY_PANEL_KEYS = (
    "color",  # table-old
    "columns",  # table-old
    "editable",
    "error",
    "fontSize",  # table-old
    "height",
    "mappings",  # table-old; value mappings live in fieldConfig
    "maxDataPoints",  # grafanalib's 100 would thin every series
    "minSpan",
    "span",
)
_LEGACY_TARGET_KEYS = ("intervalFactor", "metric", "query", "step", "target")
_LEGACY_VARIABLE_KEYS = ("auto", "auto_count", "auto_min", "tagValuesQuery", "tagsQuery", "useTags")


def plain(obj: Any) -> Any:
    """grafanalib objects as plain JSON data; allow_nan=False rejects NaN and infinities."""
    return json.loads(json.dumps(obj, cls=DashboardEncoder, allow_nan=False))


def to_grafana_json(dashboard: Dashboard) -> dict[str, Any]:
    """The dashboard's JSON model as Grafana 11 writes it, ``id`` null. Made for what
    grafanalib writes modern (timeseries, stat, table), its queries grafanalib ``Target``s
    (Prometheus), its variables starting on "All"."""
    body: dict[str, Any] = plain(dashboard)
    for key in _LEGACY_DASHBOARD_KEYS:
        body.pop(key, None)
    body["schemaVersion"] = SCHEMA_VERSION  # grafanalib: 12, from Grafana 4
    body["id"] = None  # a POST creates or, with the uid, overwrites; never by numeric id
    body["timepicker"].pop("time_options", None)  # removed from the time picker in Grafana 8
    _drop_none(body["timepicker"])
    for variable in body["templating"]["list"]:
        _modernise_variable(variable)
    for panel in body["panels"]:
        _modernise_panel(panel)
    return body


def _modernise_variable(variable: dict[str, Any]) -> None:
    for key in _LEGACY_VARIABLE_KEYS:
        variable.pop(key, None)
    _drop_none(variable)
    variable["definition"] = variable["query"]  # what the variable editor displays
    # grafanalib writes "current" as {"text": null, "value": null}: start on "All" instead.
    variable["current"] = {"selected": True, "text": ["All"], "value": ["$__all"]}


def _modernise_panel(panel: dict[str, Any]) -> None:
    for key in _LEGACY_PANEL_KEYS:
        panel.pop(key, None)
    _drop_none(panel)
    defaults = panel["fieldConfig"]["defaults"]
    _drop_none(defaults)
    _drop_none(defaults.get("custom", {}))
    if panel["type"] == "table":
        # "displayMode" became "cellOptions" in Grafana 10.1.
        custom = defaults["custom"]
        custom["cellOptions"] = {"type": custom.pop("displayMode", "auto")}
    for target in panel.get("targets", []):
        for key in _LEGACY_TARGET_KEYS:
            target.pop(key, None)
        target["range"] = not target["instant"]  # Grafana 11 reads both flags
        target["editorMode"] = "code"  # open hand-written PromQL in the code editor


def _drop_none(mapping: dict[str, Any]) -> None:
    # grafanalib writes every unset option as null; Grafana treats a missing key the same way.
    for key in [key for key, value in mapping.items() if value is None]:
        del mapping[key]
