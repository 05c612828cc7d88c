"""Alert rule groups read from Grafana, as model objects. A step becomes Query, Reduce, Math
or Threshold when that step writes exactly what Grafana holds, else ``Raw`` (verbatim); a
rule the model cannot hold at all (a recording rule) leaves its group unpulled, said in one
line, and a field the model has no place for is named in a note."""

from __future__ import annotations

from typing import Any

from provisioning.errors import DefinitionError
from provisioning.model import Folder, Math, Query, Raw, Reduce, Rule, RuleGroup, Threshold
from provisioning.model.rules import EVALUATORS, EXPRESSIONS, RANGES, Step, step_json

# What Grafana adds to every step's model when it stores it (AlertQuery.PreSave).
PRESAVE_DEFAULTS = {"maxDataPoints": 43200, "intervalMs": 1000}
OPERATORS = {evaluator: operator for operator, evaluator in EVALUATORS.items()}


class Unpulled(Exception):
    """The model cannot hold this rule group."""


def rule_group(live: dict[str, Any], folder: Folder, notes: list[str]) -> RuleGroup | None:
    where = f"rule group {folder.title}/{live['title']}"
    try:
        rules = [_rule(rule, f"{where}, rule {rule['title']!r}", notes) for rule in live["rules"]]
    except Unpulled as exc:
        notes.append(f"{where}: not pulled: {exc}")
        return None
    return RuleGroup(
        folder=folder, name=live["title"], interval=duration(live["interval"]), rules=rules
    )


def duration(seconds: int) -> str:
    """Seconds as the shortest duration text: 60 -> "1m"."""
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _rule(live: dict[str, Any], where: str, notes: list[str]) -> Rule:
    if live.get("record"):
        raise Unpulled(f"its rule {live['title']!r} records, which the model does not write")
    if live.get("notification_settings"):
        notes.append(f"{where}: its contact point chosen on the rule is not pulled: the "
                     "stack's policy tree routes its alerts")  # fmt: skip
    steps = {item["refId"]: step(item) for item in live.get("data") or []}
    condition = live.get("condition")
    return Rule(
        uid=live["uid"],
        title=live["title"],
        steps=steps,
        condition=None if condition == list(steps)[-1] else condition,
        labels=dict(live.get("labels") or {}),
        annotations=dict(live.get("annotations") or {}),
        pending=live.get("for") or "0s",
        keep_firing_for=live.get("keep_firing_for") or "0s",
        missing_series_evals_to_resolve=live.get("missingSeriesEvalsToResolve"),
        no_data=live.get("noDataState") or "NoData",
        on_error=live.get("execErrState") or "Error",
        paused=bool(live.get("isPaused")),
    )


def step(live: dict[str, Any]) -> Step:
    """The typed step that writes ``live`` exactly, else ``live`` verbatim."""
    wanted = stored(live)
    try:
        candidates = _candidates(live)
    except DefinitionError:  # a value no typed step takes (a newer reducer): kept verbatim
        candidates = []
    for candidate in candidates:
        if stored(step_json(live["refId"], candidate)) == wanted:
            return candidate
    model = {
        key: value
        for key, value in (live.get("model") or {}).items()
        if PRESAVE_DEFAULTS.get(key) != value
    }
    span = live.get("relativeTimeRange") or {}
    return Raw(
        datasource_uid=live.get("datasourceUid") or "",
        model=model,
        relative_time_range=(span.get("from", 0), span.get("to", 0)),
        query_type=live.get("queryType") or "",
    )


def stored(item: dict[str, Any]) -> dict[str, Any]:
    """A step as Grafana stores it: its model with the defaults Grafana adds."""
    span = item.get("relativeTimeRange") or {}
    return {
        "refId": item.get("refId"),
        "queryType": item.get("queryType") or "",
        "relativeTimeRange": {"from": span.get("from", 0), "to": span.get("to", 0)},
        "datasourceUid": item.get("datasourceUid"),
        "model": PRESAVE_DEFAULTS | (item.get("model") or {}),
    }


def _candidates(live: dict[str, Any]) -> list[Step]:
    """The typed steps ``live`` may be (each checked by what it writes)."""
    model = live.get("model") or {}
    if live.get("datasourceUid") != EXPRESSIONS:
        span = (live.get("relativeTimeRange") or {}).get("from", 0)
        expr = model.get("expr")
        if not isinstance(expr, str):
            return []
        return [Query(expr, live["datasourceUid"], bool(model.get("instant")), span)]
    kind, source = model.get("type"), str(model.get("expression", ""))
    if kind == "math":
        return [Math(source)]
    if kind == "reduce":
        settings = model.get("settings") or {}
        mode = settings.get("mode") or "strict"
        replace = settings.get("replaceWithValue")
        return [Reduce(source, model.get("reducer"), mode, replace)]  # type: ignore[arg-type]
    if kind == "threshold":
        conditions = model.get("conditions") or [{}]
        evaluator = conditions[0].get("evaluator") or {}
        operator, params = OPERATORS.get(evaluator.get("type")), evaluator.get("params") or []
        if operator is None or not params:
            return []
        value = tuple(params[:2]) if operator in RANGES else params[0]
        return [Threshold(source, operator, value)]  # type: ignore[arg-type]
    return []
