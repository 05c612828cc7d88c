"""The same alerts for Prometheus-native alerting: a Prometheus rule file derived from each
Grafana rule's steps, and an Alertmanager configuration with the stack's contact points,
routes, mute timings and message templates. Everything is read from the bodies ``apply``
writes (``kind.wanted``), so the two cannot say different things.

A rule translates when its condition is a threshold over a reduce (last, strict) of one
query: Grafana fires for each series where ``last(query) <op> value``, Prometheus for each
series ``(query) <op> value`` returns, and ``$value`` is the query's value. A math condition
that joins such thresholds with ``&&`` translates to their comparisons joined by ``and`` (both
match series on all their labels; ``$value`` is the first one's). Any other shape (other math,
a reducer other than last, a mode that drops NaN) is refused with the reason.
In annotations and labels, ``$values.<step>`` becomes ``$value`` for the step the threshold
reads, and for any other reduce (last) of a query a ``query`` of that query's series whose
labels agree with the alert's (Grafana's ``$values`` holds the steps' values for the alert's
labels). A rule that pages on no data ("NoData", "Alerting") also fires when the query
answers nothing (``or absent(...)``). Prometheus has no error state: execErrState has no
counterpart. Prometheus resolves an alert at the first evaluation without its series, as
Grafana does with missingSeriesEvalsToResolve 1 (what it sets on the rules it imports from
Prometheus, grafana/grafana#101973; unset, Grafana's 2, is one evaluation later): a rule that
sets any other is refused."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from provisioning import mathexp
from provisioning.export import ROOT_GROUP_BY, to_yaml
from provisioning.expressions import (
    COMPARISONS,
    RANGES,
    InvalidExpression,
    Math,
    Reduce,
    Threshold,
    build,
)
from provisioning.files import ExportError, write_files
from provisioning.kinds import ContactPoints, MuteTimings, Routes, RuleGroups, Stack, Templates
from provisioning.model import Definition, RuleGroup
from provisioning.model.rules import EXPRESSIONS
from provisioning.settings import read_env

TELEGRAM_API_URL = "https://api.telegram.org"
SLACK_POST_MESSAGE = "https://slack.com/api/chat.postMessage"  # for a bot token
NULL_RECEIVER = "null"  # where the root sends what no route takes: nowhere
TEMPLATES_FILE = "templates.tmpl"
ALERT_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")  # Prometheus's rule for an alert name
PAGES_ON_NO_DATA = ("NoData", "Alerting")
PROMETHEUS_MISSING_SERIES_EVALS = 1  # Prometheus resolves an alert once its series is gone
STEP_VALUE = re.compile(r"\$values\.(\w+)(\.Value\b)?")
# The SMTP server Grafana sends with (its own environment variables), for email receivers.
SMTP = {
    "smtp_smarthost": "GF_SMTP_HOST",
    "smtp_from": "GF_SMTP_FROM_ADDRESS",
    "smtp_auth_username": "GF_SMTP_USER",
    "smtp_auth_password": "GF_SMTP_PASSWORD",
}
SMTP_REQUIRED = ("smtp_smarthost", "smtp_from")


def export_prometheus(
    definitions: Iterable[Definition], stack: Stack, directory: Path, api_url: str
) -> list[Path]:
    """rules.yml, alertmanager.yml (which holds the secrets: created 0600) and the message
    templates."""
    definitions = list(definitions)
    templates = [t.body["template"] for t in Templates(stack).wanted(definitions)]
    texts = {
        "rules.yml": to_yaml(rule_file(definitions, stack)),
        "alertmanager.yml": to_yaml(alertmanager_config(definitions, stack, api_url, templates)),
    }
    if templates:
        texts[TEMPLATES_FILE] = "\n\n".join(templates) + "\n"
    return write_files(directory, texts, private=frozenset({"alertmanager.yml"}))


# --- rules ------------------------------------------------------------------------------------


def rule_file(definitions: list[Definition], stack: Stack) -> dict[str, Any]:
    """One Prometheus group per rule group, with the group's name and interval."""
    names = {
        rule.uid: rule.prometheus_alert
        for group in definitions
        if isinstance(group, RuleGroup)
        for rule in group.rules
    }
    groups = [g.body for g in RuleGroups(stack).wanted(definitions)]
    seen = [g["title"] for g in groups]
    twice = sorted({name for name in seen if seen.count(name) > 1})
    if twice:
        raise ExportError(
            f"rule groups named {', '.join(twice)} in several folders: Prometheus takes each "
            "group name once in a rule file"
        )
    return {
        "groups": [
            {
                "name": group["title"],
                "interval": f"{group['interval']}s",
                "rules": [alerting_rule(rule, names.get(rule["uid"])) for rule in group["rules"]],
            }
            for group in groups
        ]
    }


def alerting_rule(rule: dict[str, Any], name: str | None = None) -> dict[str, Any]:
    """The Prometheus alerting rule for a Grafana rule body; ``name`` its alert name (default:
    the uid in CamelCase)."""
    missing = rule.get("missingSeriesEvalsToResolve")
    if missing not in (None, PROMETHEUS_MISSING_SERIES_EVALS):
        raise ExportError(
            f"rule {rule['uid']} has no Prometheus equivalent: its alerts resolve after "
            f"{missing} evaluations without their series (missing_series_evals_to_resolve), "
            "Prometheus's at the first"
        )
    steps = _Steps(rule)
    try:
        conditions = steps.thresholds(rule["condition"])
        readings = [condition.source.removeprefix("$") for condition in conditions]
        compared = [steps.last_of_query(reading) for reading in readings]
    except _Untranslatable as exc:
        raise ExportError(
            f"rule {rule['uid']} has no Prometheus equivalent: {exc} (only a threshold over a "
            "reduce (last, strict) of one query, or such thresholds joined by &&, translates)"
        ) from None
    reading = readings[0]  # the reduce whose value is $value
    comparisons = [_comparison(q, c) for q, c in zip(compared, conditions, strict=True)]
    expr = " and ".join(f"({c})" for c in comparisons) if len(comparisons) > 1 else comparisons[0]
    if rule["noDataState"] in PAGES_ON_NO_DATA:
        expr += "".join(f" or absent({query})" for query in compared)
    body: dict[str, Any] = {"alert": _alert_name(rule["uid"], name), "expr": expr}
    body["for"] = rule["for"]
    if rule["keep_firing_for"] not in ("", "0s", 0, None):
        body["keep_firing_for"] = rule["keep_firing_for"]
    body["labels"] = {
        key: steps.template(text, reading, f"label {key}") for key, text in rule["labels"].items()
    }
    body["annotations"] = {
        key: steps.template(text, reading, f"annotation {key}")
        for key, text in rule["annotations"].items()
        if not key.startswith("__")  # Grafana's link to a dashboard panel
    }
    return body


class _Untranslatable(Exception):
    """Why a step has no Prometheus equivalent."""


class _Steps:
    """A Grafana rule's steps by name, read as the reduce/threshold shape needs them."""

    def __init__(self, rule: dict[str, Any]) -> None:
        self.uid = rule["uid"]
        self.steps = {step["refId"]: step for step in rule["data"]}

    def _command(self, name: str) -> Any:
        """The step's expression; None for a query."""
        if name not in self.steps:
            raise _Untranslatable(f"it has no step {name!r}")
        if self.steps[name]["datasourceUid"] != EXPRESSIONS:
            return None
        try:
            return build(self.steps[name]["model"])
        except InvalidExpression as exc:
            raise _Untranslatable(f"step {name}: {exc}") from None

    def thresholds(self, name: str) -> list[Threshold]:
        """The condition's thresholds: itself, or those its math step joins with &&."""
        command = self._command(name)
        if isinstance(command, Math):
            names = _conjuncts(command.tree)
            if names is None:
                raise _Untranslatable(f"its condition {name} is math other than $a && $b")
            return [t for step in names for t in self.thresholds(step)]
        if not isinstance(command, Threshold):
            raise _Untranslatable(f"its condition {name} is not a threshold")
        return [command]

    def last_of_query(self, name: str) -> str:
        """The PromQL of the query that the reduce ``name`` takes the last value of."""
        reduce = self._command(name)
        model = self.steps[name]["model"]
        if not isinstance(reduce, Reduce):
            raise _Untranslatable(f"step {name} is a {model.get('type', 'query')}, not a reduce")
        if reduce.reducer != "last" or reduce.mapper is not None:
            mode = (model.get("settings") or {}).get("mode") or "strict"
            raise _Untranslatable(f"step {name} reduces by {reduce.reducer} ({mode})")
        if self._command(reduce.source) is not None:
            raise _Untranslatable(f"step {name} reduces {reduce.source}, not a query")
        expr = str(self.steps[reduce.source]["model"].get("expr", ""))
        if "$__" in expr:
            raise _Untranslatable(f"query {reduce.source} uses Grafana's variables: {expr}")
        return expr

    def template(self, text: str, reading: str, what: str) -> str:
        """``text`` (a Grafana template) for Prometheus: ``$values.<reading>.Value`` is
        ``$value``; any other ``$values.<step>`` a variable holding that step's sample for the
        alert's labels, set at the start."""
        where = f"rule {self.uid}: {what}"
        if re.search(r"\$value\b", text):
            raise ExportError(f"{where}: Grafana's $value (every value as text) has no "
                              "Prometheus equivalent: read $values.<step>.Value")  # fmt: skip
        setup: dict[str, str] = {}

        def replace(found: re.Match[str]) -> str:
            step, value = found.group(1), found.group(2) or ""
            if step == reading and value:
                return "$value"
            try:
                setup.setdefault(step, _sample_for_alert(step, self.last_of_query(step)))
            except _Untranslatable as exc:
                raise ExportError(
                    f"{where}: $values.{step} has no Prometheus equivalent: {exc}"
                ) from None
            return f"$values_{step}{value}"

        translated = STEP_VALUE.sub(replace, text)
        if re.search(r"\$values\b", translated):  # $values_<step> is ours
            raise ExportError(f"{where}: $values is read other than as $values.<step>")
        return "".join(setup.values()) + translated


def _conjuncts(node: mathexp.Node) -> list[str] | None:
    """The steps ``$a && $b && ...`` names; None for any other expression."""
    if isinstance(node, mathexp.Var):
        return [node.name]
    if isinstance(node, mathexp.Binary) and node.op == "&&":
        left, right = _conjuncts(node.left), _conjuncts(node.right)
        return left + right if left is not None and right is not None else None
    return None


def _sample_for_alert(step: str, promql: str) -> str:
    """Go template code that sets ``$values_<step>`` to the sample of ``promql`` whose labels
    all agree with the alert's (the metric name aside), or to "" when none does. Grafana also
    takes one whose labels hold all the alert's and more, the last of them (eval.go, as
    preview.py follows it): an arbitrary pick among several, left out here. The query returns
    every series of ``promql`` and the template compares their labels, for each alert."""
    return (
        f'{{{{ $values_{step} := "" }}}}{{{{ range query {json.dumps(promql)} }}}}'
        "{{ $agrees := true }}{{ range $label, $text := .Labels }}"
        '{{ if and (ne $label "__name__") (ne (index $labels $label) $text) }}'
        "{{ $agrees = false }}{{ end }}{{ end }}"
        f"{{{{ if $agrees }}}}{{{{ $values_{step} = . }}}}{{{{ end }}}}{{{{ end }}}}"
    )


def _comparison(promql: str, threshold: Threshold) -> str:
    if threshold.kind in COMPARISONS:
        return f"({promql}) {COMPARISONS[threshold.kind]} {_number(threshold.params[0])}"
    low, high, join = RANGES[threshold.kind]
    return (
        f"({promql}) {low} {_number(threshold.params[0])} {join} "
        f"({promql}) {high} {_number(threshold.params[1])}"
    )


def _number(value: float) -> str:
    return repr(float(value)).removesuffix(".0")


def _alert_name(uid: str, name: str | None) -> str:
    name = name or "".join(part[:1].upper() + part[1:] for part in re.split(r"[-_]+", uid))
    if not ALERT_NAME.fullmatch(name):
        raise ExportError(f"rule {uid}: {name!r} is no Prometheus alert name: set prometheus_alert")
    return name


# --- Alertmanager -----------------------------------------------------------------------------


def alertmanager_config(
    definitions: list[Definition], stack: Stack, api_url: str, templates: list[str]
) -> dict[str, Any]:
    """Alertmanager 0.25+: each contact point a receiver, the stack's branch under a root
    that sends the rest nowhere, the mute timings as time intervals. Alertmanager takes the
    secrets as values (0.25 has no *_file for them), so they are read here."""
    integrations = ContactPoints(stack).wanted(definitions)
    missing = sorted({name for item in integrations for name in item.unresolved})
    if missing:
        raise ExportError(
            f"{', '.join(missing)} not set: Alertmanager takes each secret as a value"
        )
    receivers: dict[str, dict[str, Any]] = {NULL_RECEIVER: {"name": NULL_RECEIVER}}
    for item in integrations:
        name = item.body["name"]
        if name == NULL_RECEIVER:
            raise ExportError(f"contact point {name!r}: the name of the root's empty receiver")
        key, config = _receiver_config(item.body, api_url)
        receivers.setdefault(name, {"name": name}).setdefault(key, []).extend(config)
    intervals = [m.body for m in MuteTimings(stack).wanted(definitions)]
    root: dict[str, Any] = {"receiver": NULL_RECEIVER, "group_by": list(ROOT_GROUP_BY)}
    known = (set(receivers), {interval["name"] for interval in intervals})
    branches = [_route(r.body, *known) for r in Routes(stack).wanted(definitions)]
    config: dict[str, Any] = {}
    if any("email_configs" in receiver for receiver in receivers.values()):
        config["global"] = _smtp(stack)
    if templates:
        config["templates"] = [TEMPLATES_FILE]  # relative: next to alertmanager.yml
    config["route"] = root | ({"routes": branches} if branches else {})
    config["receivers"] = list(receivers.values())
    if intervals:
        config["time_intervals"] = intervals
    return config


def _route(route: Mapping[str, Any], receivers: set[str], intervals: set[str]) -> dict[str, Any]:
    """A Grafana route as Alertmanager's: the same keys but matchers written as strings."""
    result: dict[str, Any] = {}
    if "receiver" in route:
        if route["receiver"] not in receivers:
            raise ExportError(f"a route sends to {route['receiver']!r}, no contact point defined")
        result["receiver"] = route["receiver"]
    matchers = [
        f"{label}{op}{json.dumps(value)}" for label, op, value in route.get("object_matchers", [])
    ]
    if matchers:
        result["matchers"] = matchers
    for key in ("group_by", "group_wait", "group_interval", "repeat_interval", "continue"):
        if key in route:
            result[key] = route[key]
    for key in ("mute_time_intervals", "active_time_intervals"):
        unknown = sorted(set(route.get(key, ())) - intervals)
        if unknown:
            raise ExportError(f"a route names mute timing {', '.join(unknown)}, not defined")
        if route.get(key):
            result[key] = list(route[key])
    if route.get("routes"):
        result["routes"] = [_route(child, receivers, intervals) for child in route["routes"]]
    return result


def _receiver_config(integration: dict[str, Any], api_url: str) -> tuple[str, list[dict]]:
    """The Alertmanager config (its key, and one or more entries) for one integration."""
    kind, settings = integration["type"], integration["settings"]
    where = f"contact point {integration['name']} ({kind})"
    resolved = {"send_resolved": not integration["disableResolveMessage"]}
    if kind == "telegram":
        return "telegram_configs", [_telegram(settings, api_url, where) | resolved]
    if kind == "slack":
        return "slack_configs", [_slack(settings, where) | resolved]
    if kind == "email":
        return "email_configs", [config | resolved for config in _emails(settings)]
    if kind == "webhook":
        return "webhook_configs", [_webhook(settings, where) | resolved]
    raise ExportError(f"{where}: no Alertmanager receiver for this type here")


def _telegram(settings: dict[str, Any], api_url: str, where: str) -> dict[str, Any]:
    chat = str(settings["chatid"]).strip()
    if not re.fullmatch(r"-?\d+", chat):
        raise ExportError(f"{where}: Alertmanager needs a whole-number chat id, not {chat!r}")
    config = {"api_url": api_url, "bot_token": settings["bottoken"], "chat_id": int(chat)}
    if "message" in settings:
        config["message"] = settings["message"]
    if "parse_mode" in settings:
        config["parse_mode"] = "" if settings["parse_mode"] == "None" else settings["parse_mode"]
    if "disable_notifications" in settings:
        config["disable_notifications"] = settings["disable_notifications"]
    if settings.get("message_thread_id"):
        config["message_thread_id"] = int(settings["message_thread_id"])  # Alertmanager 0.28+
    return config  # disable_web_page_preview: Alertmanager has no such setting


def _slack(settings: dict[str, Any], where: str) -> dict[str, Any]:
    if settings.get("url"):
        config: dict[str, Any] = {"api_url": settings["url"]}
    elif settings.get("token"):
        config = {"api_url": SLACK_POST_MESSAGE,
                  "http_config": {"authorization": {"credentials": settings["token"]}}}  # fmt: skip
    else:
        raise ExportError(f"{where}: a webhook url or a bot token is needed")
    for grafana, alertmanager in (("recipient", "channel"), ("username", "username"),
                                  ("title", "title"), ("text", "text")):  # fmt: skip
        if settings.get(grafana):
            config[alertmanager] = settings[grafana]
    if settings.get("mentionChannel"):  # Grafana puts the mention before the text
        text = config.get("text", '{{ template "slack.default.text" . }}')
        config["text"] = f"<!{settings['mentionChannel']}> {text}"
    return config


def _emails(settings: dict[str, Any]) -> list[dict[str, Any]]:
    """One email to all the addresses (singleEmail), else one to each, as Grafana sends."""
    addresses = [a.strip() for a in str(settings["addresses"]).split(";") if a.strip()]
    batches = [addresses] if settings.get("singleEmail") else [[a] for a in addresses]
    configs = []
    for batch in batches:
        config: dict[str, Any] = {"to": ", ".join(batch)}
        if settings.get("subject"):
            config["headers"] = {"Subject": settings["subject"]}
        if settings.get("message"):
            config["text"] = settings["message"]
        configs.append(config)
    return configs


def _webhook(settings: dict[str, Any], where: str) -> dict[str, Any]:
    if settings.get("httpMethod", "POST") != "POST":
        raise ExportError(f"{where}: Alertmanager's webhook only POSTs")
    config: dict[str, Any] = {"url": settings["url"]}
    http: dict[str, Any] = {}
    if settings.get("username"):
        http["basic_auth"] = {
            "username": settings["username"],
            "password": settings.get("password", ""),
        }
    if settings.get("authorization_credentials"):
        scheme = settings.get("authorization_scheme") or "Bearer"
        http["authorization"] = {
            "type": scheme,
            "credentials": settings["authorization_credentials"],
        }
    if http:
        config["http_config"] = http
    if settings.get("maxAlerts"):
        config["max_alerts"] = int(settings["maxAlerts"])
    return config  # title and message: Grafana's own fields of the payload


def _smtp(stack: Stack) -> dict[str, str]:
    """Alertmanager's global SMTP settings, from the variables Grafana's own are set by."""
    found = {key: read_env(name, stack.environ) for key, name in SMTP.items()}
    missing = [SMTP[key] for key in SMTP_REQUIRED if not found[key]]
    if missing:
        raise ExportError(
            f"{', '.join(missing)} not set: Alertmanager sends email through the SMTP server "
            "they name (as Grafana does)"
        )
    return {key: value for key, value in found.items() if value}
