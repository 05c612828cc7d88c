"""Offline checks of every resource, the way Grafana would check them (API-NOTES), plus the
links between resources that Grafana only finds out about when an alert goes nowhere."""

from __future__ import annotations

import re
from typing import Any

import names
from alerting.notifications import MESSAGE_PARSE_MODES
from provisioning.resources import (
    ContactPoint,
    Dashboard,
    DataSource,
    Folder,
    PolicyRoutes,
    Resource,
    RuleGroup,
    Template,
)
from provisioning.settings import Secrets, SettingsError, duration_seconds

UID = re.compile(r"^[a-zA-Z0-9\-_]{1,40}$")
SCHEDULER_SECONDS = 10  # Grafana's rule scheduler ticks every 10 s
REDUCE_MODES = {"", "dropNN", "replaceNN"}
REDUCERS = {"last", "mean", "min", "max", "sum", "count"}
EVALUATORS = {"gt", "lt", "within_range", "outside_range"}
MODERN_PANELS = {"timeseries", "stat", "table", "alertlist", "text", "gauge", "barchart"}
PARSE_MODES = {"HTML", "Markdown", "MarkdownV2", "None"}
DEFINE = re.compile(r'\{\{-?\s*define\s+"([^"]+)"')
# What each run publishes, by the label of the rule that must compare with it: alpha comes
# from the drift config, the staleness limit from the DAG's schedule, never from a constant.
PUBLISHED = {names.ALERT_LABEL: names.DATASET_ALPHA, names.STALE_LABEL: names.DATASET_STALE_AFTER}
# Panels showing what those are compared with: a constant threshold there would disagree.
COMPARED = (names.P_VALUE, names.P_VALUE_ADJUSTED, names.LAST_RUN_TIMESTAMP)


def validate(resources: list[Resource], secrets: Secrets) -> list[str]:
    """Every problem found, each naming the resource; empty when all is well."""
    by_type = {type(r): r for r in resources}
    problems: list[str] = []
    datasource, folder = by_type[DataSource], by_type[Folder]
    dashboard, template = by_type[Dashboard], by_type[Template]
    contact_point, routes, group = by_type[ContactPoint], by_type[PolicyRoutes], by_type[RuleGroup]
    for resource, uid in (
        (datasource, datasource.name),
        (folder, folder.name),
        (dashboard, dashboard.name),
        (contact_point, contact_point.name),
        *((group, rule["uid"]) for rule in group.body["rules"]),
    ):
        if not UID.match(uid):
            problems.append(f"{resource.kind} {uid!r}: a uid has 1-40 letters, digits, - or _")
    problems += _dashboard(dashboard.body["dashboard"])
    problems += _rule_group(group.body, datasource.name, folder.name, dashboard.body["dashboard"])
    problems += _notifications(template, contact_point, routes, group, secrets)
    problems += _published_values(group.body, dashboard.body["dashboard"])
    return problems


def _dashboard(dashboard: dict[str, Any]) -> list[str]:
    problems = []
    panels = dashboard.get("panels") or []
    ids = [p.get("id") for p in panels]
    if len(set(ids)) != len(ids):
        problems.append(f"dashboard {dashboard.get('uid')}: panel ids repeat: {ids}")
    for panel in panels:
        if panel.get("type") not in MODERN_PANELS:
            problems.append(
                f"dashboard panel {panel.get('title')!r}: type {panel.get('type')!r} is not a "
                "modern panel (Angular panels are gone from Grafana 12)"
            )
    return problems


def _rule_group(
    group: dict[str, Any], datasource_uid: str, folder_uid: str, dashboard: dict[str, Any]
) -> list[str]:
    where = f"rule group {group['title']}"
    problems = []
    interval = group.get("interval")
    if not isinstance(interval, int) or interval <= 0 or interval % SCHEDULER_SECONDS:
        problems.append(
            f"{where}: interval ({interval}) should be non-zero and divided exactly by "
            f"scheduler interval: {SCHEDULER_SECONDS}"
        )
    titles = [rule["title"] for rule in group["rules"]]
    if len(set(titles)) != len(titles):
        problems.append(f"{where}: rule titles must be unique in a folder: {titles}")
    panel_ids = {str(p.get("id")) for p in dashboard.get("panels") or []}
    for rule in group["rules"]:
        problems += _rule(rule, interval, datasource_uid, folder_uid, dashboard["uid"], panel_ids)
    return problems


def _rule(
    rule: dict[str, Any],
    interval: Any,
    datasource_uid: str,
    folder_uid: str,
    dashboard_uid: str,
    panel_ids: set[str],
) -> list[str]:
    where = f"rule {rule['uid']}"
    problems = []
    try:
        pending = duration_seconds(rule["for"])
        if isinstance(interval, int) and pending < interval:
            problems.append(
                f"{where}: the pending period {rule['for']} is shorter than the evaluation "
                f"interval {interval}s (the UI refuses to save such a rule)"
            )
    except SettingsError as exc:
        problems.append(f"{where}: for: {exc}")
    if rule["folderUID"] != folder_uid:
        problems.append(f"{where}: folderUID {rule['folderUID']} is not the folder {folder_uid}")
    ref_ids = [query["refId"] for query in rule["data"]]
    if rule["condition"] not in ref_ids:
        problems.append(f"{where}: condition {rule['condition']!r} is none of {ref_ids}")
    for query in rule["data"]:
        problems += [f"{where}, query {query['refId']}: {p}" for p in _query(query, ref_ids)]
        if query["datasourceUid"] not in ("__expr__", datasource_uid):
            problems.append(
                f"{where}, query {query['refId']}: data source {query['datasourceUid']!r} is "
                f"not the provisioned {datasource_uid!r}"
            )
    annotations = rule.get("annotations") or {}
    if annotations.get("__dashboardUid__") not in (None, dashboard_uid):
        problems.append(f"{where}: linked to dashboard {annotations['__dashboardUid__']!r}")
    if "__panelId__" in annotations and annotations["__panelId__"] not in panel_ids:
        problems.append(f"{where}: linked to panel {annotations['__panelId__']}, not on it")
    return problems


def _query(query: dict[str, Any], ref_ids: list[str]) -> list[str]:
    model = query["model"]
    time_range = query.get("relativeTimeRange") or {}
    if not all(isinstance(time_range.get(k), int) for k in ("from", "to")):
        return [f"relativeTimeRange must be whole seconds, got {time_range}"]
    kind = model.get("type")
    if query["datasourceUid"] != "__expr__":
        return [] if model.get("expr") else ["a Prometheus query needs an expr"]
    problems = []
    if model.get("expression") not in ref_ids:
        problems.append(f"expression input {model.get('expression')!r} is none of {ref_ids}")
    if kind == "reduce":
        mode = (model.get("settings") or {}).get("mode", "")
        if mode not in REDUCE_MODES:
            problems.append(
                f"reducer mode {mode!r} is not supported. Supported only: [dropNN,replaceNN]"
            )
        if model.get("reducer") not in REDUCERS:
            problems.append(f"reducer {model.get('reducer')!r} is none of {sorted(REDUCERS)}")
    elif kind == "threshold":
        conditions = model.get("conditions") or []
        if len(conditions) != 1:
            problems.append("a threshold takes exactly one condition")
        elif conditions[0]["evaluator"]["type"] not in EVALUATORS:
            problems.append(f"evaluator {conditions[0]['evaluator']['type']!r} is unknown")
    return problems


def _published_values(group: dict[str, Any], dashboard: dict[str, Any]) -> list[str]:
    """Alpha and the staleness limit have one source, the values each run publishes: a rule
    or a panel with a constant of its own would disagree with the engine and the status page."""
    problems = []
    for rule in group["rules"]:
        for label, metric in PUBLISHED.items():
            if label not in (rule.get("labels") or {}):
                continue
            expr, params = _compared(rule)
            if not re.search(rf"\b{metric}\b", expr) or params != [0]:
                problems.append(
                    f"rule {rule['uid']}: its condition must compare with {metric}, which every "
                    f"run publishes, by the sign of the difference (threshold 0), not with a "
                    f"constant: it compares {expr!r} with {params}"
                )
    for panel in dashboard.get("panels") or []:
        exprs = " ".join(target.get("expr", "") for target in panel.get("targets") or [])
        if not any(re.search(rf"\b{metric}\b", exprs) for metric in COMPARED):
            continue
        for value in _threshold_values(panel):
            if value not in (None, 0):
                problems.append(
                    f"dashboard panel {panel.get('title')!r}: constant threshold {value}; alpha "
                    f"and the staleness limit are published by every run ({names.DATASET_ALPHA}, "
                    f"{names.DATASET_STALE_AFTER}): draw those"
                )
    return problems


def _compared(rule: dict[str, Any]) -> tuple[str, Any]:
    """The query behind the rule's condition (through a reduce) and the threshold's params."""
    data = {query["refId"]: query["model"] for query in rule["data"]}
    threshold = data.get(rule["condition"], {})
    source = data.get(threshold.get("expression"), {})
    if source.get("type") == "reduce":
        source = data.get(source.get("expression"), {})
    conditions = threshold.get("conditions") or [{}]
    return source.get("expr", ""), conditions[0].get("evaluator", {}).get("params")


def _threshold_values(panel: dict[str, Any]) -> list[Any]:
    field_config = panel.get("fieldConfig") or {}
    sets = [(field_config.get("defaults") or {}).get("thresholds") or {}]
    for override in field_config.get("overrides") or []:
        sets += [p["value"] for p in override.get("properties", []) if p.get("id") == "thresholds"]
    return [step.get("value") for thresholds in sets for step in thresholds.get("steps", [])]


def _notifications(
    template: Template,
    contact_point: ContactPoint,
    routes: PolicyRoutes,
    group: RuleGroup,
    secrets: Secrets,
) -> list[str]:
    problems = []
    settings = contact_point.body["settings"]
    defined = set(DEFINE.findall(template.body["template"]))
    used = re.findall(r'template\s+"([^"]+)"', settings.get("message", ""))
    for name in used:
        if name not in defined:
            problems.append(f"contact point: its message uses template {name!r}, not defined")
    parse_mode = settings.get("parse_mode")
    if parse_mode not in PARSE_MODES:
        problems.append(f"contact point: parse_mode {parse_mode!r} is unknown")
    for name in used:
        if MESSAGE_PARSE_MODES.get(name, parse_mode) != parse_mode:
            problems.append(
                f"contact point: message {name!r} is written for parse_mode "
                f"{MESSAGE_PARSE_MODES[name]}, not {parse_mode}"
            )
    chat_id = secrets.telegram_chat_id
    if chat_id is not None and not re.fullmatch(r"-?\d+", chat_id):
        problems.append(f"TELEGRAM_CHAT_ID must be a whole number, got {chat_id!r}")
    rule_labels = [rule.get("labels") or {} for rule in group.body["rules"]]
    for route in routes.body["routes"]:
        if route["receiver"] != contact_point.body["name"]:
            problems.append(
                f"policy route to {route['receiver']!r}: no such contact point "
                f"(the provisioned one is {contact_point.body['name']!r})"
            )
        for name, op, value in route["object_matchers"]:
            if op != "=" or not any(labels.get(name) == value for labels in rule_labels):
                problems.append(
                    f"policy route {name}{op}{value!r}: no rule carries that label, so it "
                    "routes nothing"
                )
    for rule, labels in zip(group.body["rules"], rule_labels, strict=True):
        matched = any(
            all(labels.get(name) == value for name, _, value in route["object_matchers"])
            for route in routes.body["routes"]
        )
        if not matched:
            problems.append(f"rule {rule['uid']}: no policy route matches its labels {labels}")
    return problems
