"""Offline checks of every definition, the way Grafana would check them (API-NOTES), plus the
links between definitions that Grafana only finds out about when an alert goes nowhere. No
network and no secret is needed."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from provisioning import ownership
from provisioning.discover import Discovered
from provisioning.kinds import KINDS, Stack
from provisioning.model import (
    GENERAL,
    ContactPoint,
    Dashboard,
    DataSource,
    Env,
    Folder,
    Integration,
    Math,
    MuteTiming,
    Other,
    Query,
    Reduce,
    Route,
    Rule,
    RuleGroup,
    Telegram,
    Template,
    Threshold,
)
from provisioning.model.checks import UID_RULE, is_uid
from provisioning.model.rules import RANGES
from provisioning.settings import SettingsError, duration_seconds, read_env

SCHEDULER_SECONDS = 10  # Grafana's rule scheduler ticks every 10 s
# A rule's title and its group's name: 1 to 190 bytes (Go's len) on every write path
# (pkg/services/ngalert/store/alert_rule.go AlertRuleMaxTitleLength,
# AlertRuleMaxRuleGroupNameLength; api/validation/api_ruler_validation.go "cannot be empty").
RULE_NAME_BYTES = 190
MODERN_PANELS = {"timeseries", "stat", "table", "alertlist", "text", "gauge", "barchart", "row"}
DEFINE = re.compile(r'\{\{-?\s*define\s+"([^"]+)"')
USES = re.compile(r'template\s+"([^"]+)"')
MATH_REFERENCE = re.compile(r"\$\{?([A-Za-z0-9_]+)\}?")
# Alertmanager's time of day (timeinterval.go validTime) in Go, whose $ ends the text and whose
# [0-9] is ASCII: hence fullmatch and no \d (any Unicode digit to Python).
TIME = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]|24:00")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
TELEGRAM_CHAT = re.compile(r"-?[0-9]+|@\w+")  # fullmatch, as TIME


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def validate(found: Discovered, stack: Stack) -> Report:
    """Every problem found, each naming the definition; warnings for what may be right but
    cannot be checked here (a type the toolkit does not know, a name only Grafana knows)."""
    report = Report()
    definitions = found.definitions
    for make in KINDS:  # renders each: duplicates and malformed values show here
        try:
            make(stack).wanted(definitions)
        except SettingsError as exc:
            report.problems.append(str(exc))

    def of(kind: type) -> list[Any]:
        return [d for d in definitions if isinstance(d, kind)]

    for datasource in of(DataSource):
        report.problems += _uid("data source", datasource.uid)
    for folder in of(Folder):
        report.problems += _uid("folder", folder.uid)
        title = str(folder.title).strip()
        if not title:  # dashboards.ErrFolderTitleEmpty
            report.problems.append(f"folder {folder.uid}: its title is blank")
        elif title.lower() == GENERAL.title.lower():  # dashboards.RootFolderName, EqualFold
            report.problems.append(
                f"folder {folder.uid}: its title {folder.title!r}: Grafana reserves it for the "
                "root folder"
            )
    dashboards = of(Dashboard)
    for dashboard in dashboards:
        report.problems += _dashboard(dashboard)
    groups = of(RuleGroup)
    defined_sources = {d.uid for d in of(DataSource)}
    by_uid = {d.uid: d for d in dashboards}
    uids = [rule.uid for group in groups for rule in group.rules]
    for uid in sorted({uid for uid in uids if uids.count(uid) > 1}):
        # Grafana keeps a rule in one group: each apply would move it to the other.
        report.problems.append(f"rule {uid}: its uid repeats (a uid names one rule)")
    report.problems += _titles_repeated(groups)
    for group in groups:
        report.problems += _group(group, by_uid)
        for rule in group.rules:
            for name, step in rule.steps.items():
                if isinstance(step, Query) and step.datasource_uid not in defined_sources:
                    report.warnings.append(
                        f"rule {rule.uid}, step {name}: data source {step.datasource_uid!r} is "
                        "not defined here; it must exist in Grafana"
                    )
    notifications = (of(Template), of(ContactPoint), of(MuteTiming), of(Route), groups)
    _notifications(report, *notifications, stack.environ)
    for check in found.checks:
        report.problems += check(definitions)
    _dashboards_and_rules_in_defined_folders(report, dashboards, groups, of(Folder))
    return report


def _uid(kind: str, uid: str) -> list[str]:
    return [] if is_uid(uid) else [f"{kind} {uid!r}: a uid has {UID_RULE}"]


def _dashboard(dashboard: Dashboard) -> list[str]:
    body = dashboard.to_json()
    uid = str(body["uid"])
    problems = _uid("dashboard", uid)
    panels = body.get("panels") or []
    ids = [p.get("id") for p in panels]
    if len(set(ids)) != len(ids):
        problems.append(f"dashboard {uid}: panel ids repeat: {ids}")
    for panel in panels:
        if panel.get("type") not in MODERN_PANELS:
            problems.append(
                f"dashboard {uid}, panel {panel.get('title')!r}: type {panel.get('type')!r} is "
                "not a modern panel (Angular panels are gone from Grafana 12)"
            )
    return problems


def _group(group: RuleGroup, dashboards: dict[str, Dashboard]) -> list[str]:
    where = f"rule group {group.name}" if group.name else f"a rule group in {group.folder.uid}"
    problems = []
    try:
        interval = duration_seconds(group.interval)
    except SettingsError as exc:
        return [f"{where}: interval: {exc}"]
    if interval <= 0 or interval % SCHEDULER_SECONDS:
        problems.append(
            f"{where}: interval ({group.interval}) should be non-zero and divided exactly by "
            f"scheduler interval: {SCHEDULER_SECONDS}"
        )
    problems += _name_size(where, "name", group.name)
    for rule in group.rules:
        problems += _rule(rule, interval, dashboards)
    return problems


def _rule(rule: Rule, interval: float, dashboards: dict[str, Dashboard]) -> list[str]:
    where = f"rule {rule.uid}"
    problems = _uid("rule", rule.uid)
    problems += _name_size(where, "title", rule.title)
    for name, text in (("pending", rule.pending), ("keep_firing_for", rule.keep_firing_for)):
        try:
            seconds = duration_seconds(text)
        except SettingsError as exc:
            problems.append(f"{where}: {name}: {exc}")
            continue
        if name == "pending" and 0 < seconds < interval:
            problems.append(
                f"{where}: the pending period {text} is shorter than the evaluation "
                f"interval {interval:g}s (the UI refuses to save such a rule)"
            )
    if ownership.LABEL in rule.labels:
        problems.append(f"{where}: the label {ownership.LABEL} is the toolkit's owner mark")
    steps = list(rule.steps)
    if not steps:
        return [*problems, f"{where}: no steps"]
    if rule.condition_step not in steps:
        problems.append(f"{where}: condition {rule.condition_step!r} is none of {steps}")
    for name, step in rule.steps.items():
        inputs = _inputs(step)
        for ref in inputs:
            if ref not in steps or steps.index(ref) >= steps.index(name):
                problems.append(f"{where}, step {name}: input {ref!r} is no earlier step")
        if isinstance(step, Query) and not step.expr.strip():
            problems.append(f"{where}, step {name}: a query needs an expr")
        if isinstance(step, Threshold):
            pair = step.operator in RANGES
            if pair != isinstance(step.value, tuple):
                problems.append(f"{where}, step {name}: {step.operator} takes " + (
                    "(low, high)" if pair else "one number"))  # fmt: skip
        if isinstance(step, Reduce) and step.mode == "replaceNN" and step.replace_with is None:
            problems.append(f"{where}, step {name}: replaceNN needs replace_with")
    if rule.dashboard is not None:
        if rule.dashboard.uid not in dashboards:
            problems.append(f"{where}: linked to dashboard {rule.dashboard.uid!r}, not defined")
        elif rule.panel_id is not None:
            panels = {p.get("id") for p in rule.dashboard.to_json().get("panels") or []}
            if rule.panel_id not in panels:
                problems.append(f"{where}: linked to panel {rule.panel_id}, not on its dashboard")
    return problems


def _name_size(where: str, what: str, name: str) -> list[str]:
    size = len(str(name).encode())
    if not size:
        return [f"{where}: its {what} is empty"]
    if size > RULE_NAME_BYTES:
        return [f"{where}: its {what} has {size} bytes; Grafana takes {RULE_NAME_BYTES} at most"]
    return []


def _titles_repeated(groups: list[RuleGroup]) -> list[str]:
    """Grafana keeps a rule title once per folder, across its groups
    (ErrAlertRuleUniqueConstraintViolation: "rule title under the same organisation and
    folder should be unique")."""
    holders: dict[tuple[str, str], list[str]] = {}
    for group in groups:
        for rule in group.rules:
            holders.setdefault((group.folder.uid, rule.title), []).append(
                f"{rule.uid} in group {group.name}"
            )
    return [
        f"folder {folder}: rule title {title!r} repeats ({', '.join(rules)}): Grafana keeps "
        "a title once per folder"
        for (folder, title), rules in holders.items()
        if len(rules) > 1
    ]


def _inputs(step: Any) -> list[str]:
    if isinstance(step, Reduce | Threshold):
        return [step.input]
    if isinstance(step, Math):
        return MATH_REFERENCE.findall(step.expression)
    return []


def _notifications(
    report: Report,
    templates: list[Template],
    points: list[ContactPoint],
    timings: list[MuteTiming],
    routes: list[Route],
    groups: list[RuleGroup],
    environ: Mapping[str, str],
) -> None:
    defined = {name for t in templates for name in DEFINE.findall(t.text)}
    for point in points:
        report.problems += _contact_point(point, defined, environ)
        report.warnings += _types_unknown(point)
    for timing in timings:
        report.problems += _mute_timing(timing)
    point_names = {p.name for p in points}
    timing_names = {t.name for t in timings}
    for route in _all_routes(routes):
        report.problems += _route(route, timing_names)
        report.warnings += _names_only_grafana_knows(route, point_names, timing_names)
    report.problems += _routes_reach(routes, [rule for group in groups for rule in group.rules])


def _contact_point(
    point: ContactPoint, templates: set[str], environ: Mapping[str, str]
) -> list[str]:
    problems = [] if point.integrations else [f"contact point {point.name}: no integration"]
    for integration in point.integrations:
        where = _integration_where(point, integration)
        settings = integration.settings()
        problems += _settings(where, integration, settings)
        problems += _telegram_chat(where, integration, environ)
        problems += _templates_used(where, settings, templates)
    return problems


def _integration_where(point: ContactPoint, integration: Integration) -> str:
    return f"contact point {point.name} ({integration.kind})"


def _settings(where: str, integration: Integration, settings: Mapping[str, Any]) -> list[str]:
    """The required settings are given, the secret ones as Env (never in code)."""
    secret = getattr(integration, "secret_fields", ()) or integration.secret
    return [
        *(f"{where}: {key} is required" for key in integration.required if not settings.get(key)),
        *(
            f"{where}: {key} is a secret: give it as Env('NAME'), never in code"
            for key in secret
            if key in settings and not isinstance(settings[key], Env)
        ),
    ]


def _telegram_chat(where: str, integration: Integration, environ: Mapping[str, str]) -> list[str]:
    chat = integration.chat_id if isinstance(integration, Telegram) else None
    if isinstance(chat, Env):  # checked when it is set
        chat = read_env(chat.name, environ)
    if isinstance(chat, str) and not TELEGRAM_CHAT.fullmatch(chat):
        return [f"{where}: chat id {chat!r} is not a whole number or @channel"]
    return []


def _templates_used(where: str, settings: Mapping[str, Any], templates: set[str]) -> list[str]:
    return [
        f"{where}: uses template {name!r}, not defined"
        for value in settings.values()
        for name in (USES.findall(value) if isinstance(value, str) else [])
        if name not in templates
    ]


def _types_unknown(point: ContactPoint) -> list[str]:
    return [
        f"{_integration_where(point, integration)}: the toolkit does not know this type's "
        "required and secret settings; Grafana checks them when it is applied"
        for integration in point.integrations
        if isinstance(integration, Other)
    ]


def _route(route: Route, timing_names: set[str]) -> list[str]:
    """Its durations read as Grafana reads them; its mute timings defined, and given as
    MuteTiming objects when they are defined here."""
    where = f"route {_describe(route)}"
    problems = []
    for key in ("group_wait", "group_interval", "repeat_interval"):
        try:  # Grafana reads them as Prometheus durations (model.ParseDuration)
            duration_seconds(getattr(route, key) or "0s")
        except SettingsError as exc:
            problems.append(f"{where}: {key}: {exc}")
    for interval in (*route.mute_timings, *route.active_timings):
        if isinstance(interval, MuteTiming) and interval.name not in timing_names:
            problems.append(f"{where}: mute timing {interval.name!r} is not defined")
        elif isinstance(interval, str) and interval in timing_names:
            problems.append(
                f"{where}: mute timing {interval!r} is defined here: give the MuteTiming "
                "itself (its name in Grafana carries the stack's mark)"
            )
    return problems


def _names_only_grafana_knows(
    route: Route, point_names: set[str], timing_names: set[str]
) -> list[str]:
    """Warnings: the contact point and mute timings a route names that are not defined here."""
    where = f"route {_describe(route)}"
    warnings = []
    if route.receiver_name and route.receiver_name not in point_names:
        warnings.append(
            f"{where}: contact point {route.receiver_name!r} is not defined here; it "
            "must exist in Grafana"
        )
    for interval in (*route.mute_timings, *route.active_timings):
        if isinstance(interval, str) and interval not in timing_names:
            warnings.append(
                f"{where}: mute timing {interval!r} is not defined here; it must exist in Grafana"
            )
    return warnings


def _routes_reach(routes: list[Route], rules: list[Rule]) -> list[str]:
    """Each route routes some rule's alerts, and each rule's alerts reach a route."""
    problems = [
        f"route {_describe(route)}: no rule's labels match it, so it routes nothing"
        for route in routes
        if not any(_routes(route, rule) for rule in rules)
    ]
    problems += [
        f"rule {rule.uid}: no route matches its labels {dict(rule.labels)}: its alerts "
        "would go to the policy tree's default contact point"
        for rule in rules
        if not any(_routes(route, rule) for route in routes)
    ]
    return problems


def _mute_timing(timing: MuteTiming) -> list[str]:
    where = f"mute timing {timing.name}"
    problems = [] if timing.intervals else [f"{where}: no time interval"]
    for interval in timing.intervals:
        for start, end in interval.times:
            if not (TIME.fullmatch(start) and TIME.fullmatch(end)) or start >= end:
                problems.append(f"{where}: times {start}-{end}: HH:MM, start before end")
        for day in interval.weekdays:
            if any(part.lower() not in WEEKDAYS for part in day.split(":")):
                problems.append(f"{where}: weekday {day!r} is not monday..sunday or a range")
    return problems


def _all_routes(routes: Iterable[Route]) -> Iterable[Route]:
    for route in routes:
        yield route
        yield from _all_routes(route.routes)


def _describe(route: Route) -> str:
    matchers = " ".join(f'{m.label}{m.operator}"{m.value}"' for m in route.matcher_list)
    return f"{{{matchers}}} -> {route.receiver_name or '(inherited)'}"


def _routes(route: Route, rule: Rule) -> bool:
    """Whether an alert of ``rule`` can end at a receiver through ``route``: a matcher on one
    of the rule's ``series_labels`` may match (the value comes from the series)."""
    for matcher in route.matcher_list:
        if matcher.label in rule.series_labels and matcher.label not in rule.labels:
            continue
        if not _matches(matcher.operator, rule.labels.get(matcher.label, ""), matcher.value):
            return False
    return (
        not route.routes
        or any(_routes(child, rule) for child in route.routes)
        or bool(route.receiver_name)
    )


def _matches(operator: str, actual: str, value: str) -> bool:
    if operator == "=":
        return actual == value
    if operator == "!=":
        return actual != value
    found = re.fullmatch(value, actual) is not None
    return found if operator == "=~" else not found


def _dashboards_and_rules_in_defined_folders(
    report: Report, dashboards: list[Dashboard], groups: list[RuleGroup], folders: list[Folder]
) -> None:
    defined = {f.uid: f for f in folders} | {GENERAL.uid: GENERAL}
    for item, what in [*((d.folder, f"dashboard {d.uid}") for d in dashboards),
                       *((g.folder, f"rule group {g.name}") for g in groups)]:  # fmt: skip
        if defined.get(item.uid) != item:
            report.problems.append(f"{what}: its folder {item.uid!r} is not defined (or differs)")
    for group in (g for g in groups if g.folder == GENERAL):
        report.problems.append(f"rule group {group.name}: Grafana keeps rules in a folder")
