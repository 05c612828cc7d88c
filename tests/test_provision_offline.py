"""provision.py without a Grafana: settings, validate, and the Telegram message
rendered by Alertmanager's real template engine (amtool), which Grafana's shares."""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml

import names
from conftest import ROOT
from provision_cli import CHAT_ID, TOKEN, copy_definitions, error_line, provision
from provisioning.discover import Discovered, discover
from provisioning.kinds import ContactPoints, Kind, Routes, RuleGroups, Stack
from provisioning.model import Dashboard, Reduce, Route, RuleGroup, Threshold
from provisioning.settings import SettingsError, load_credentials, load_settings, read_env
from provisioning.validate import validate

AMTOOL = Path("/usr/bin/amtool")
ENV = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_CHAT_ID": CHAT_ID}
TELEGRAM_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "code", "pre", "a"}
STACK = Stack("drift", environ=ENV)


def assert_one_error_line(run: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert fragment in error_line(run)


def found(environ: dict[str, str] | None = None) -> Discovered:
    return discover(load_settings(environ=environ or {}).values)


def bodies(kind: type[Kind], environ: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """The bodies the kind writes to Grafana for the bundled definitions."""
    return [w.body for w in kind(STACK).wanted(found(environ).definitions)]


def problems(definitions: list[Any]) -> str:
    discovered = found()
    return "\n".join(validate(replace(discovered, definitions=definitions), STACK).problems)


def drift_group() -> RuleGroup:
    return next(d for d in found().definitions if isinstance(d, RuleGroup))


def replaced(definitions: list[Any], old: Any, new: Any) -> list[Any]:
    return [new if d == old else d for d in definitions]


# --- settings -----------------------------------------------------------------------------


def test_environment_overrides_any_setting_and_the_two_urls() -> None:
    settings = load_settings(
        environ={
            "PROVISION__VALUES__ALERTING__PENDING_PERIOD": "1m",
            "PROVISION__GRAFANA__UI_EDITABLE": "true",
            "PROVISION__STACK": "team-b",
            "GRAFANA_URL": "http://grafana:3000",
            "PROMETHEUS_URL": "http://prom:9090",
        }
    )
    assert settings.values["alerting"]["pending_period"] == "1m"
    assert settings.grafana.ui_editable is True
    assert settings.stack == "team-b"
    assert (settings.grafana.url, settings.values["prometheus"]["url"]) == (
        "http://grafana:3000",
        "http://prom:9090",
    )


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"PROVISION__GRAFANA__COLOUR": "red"}, "unknown setting(s): grafana.colour"),
        ({"PROVISION__GRAFANA__ORG_ID": "true"}, "grafana.org_id: expected int"),
        ({"PROVISION__STACK": "Team_B"}, "stack: 'Team_B' must be 1-20 lower-case letters"),
        ({"PROVISION__ALERTING__GROUP": "x"}, "alerting: the definitions' settings live under"),
    ],
)
def test_bad_settings_name_the_key(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(message)):
        load_settings(environ=environ)


BUNDLED = yaml.safe_load((ROOT / "grafana.yaml").read_text())


def test_a_partial_settings_file_overrides_only_the_keys_it_sets(tmp_path: Path) -> None:
    partial = tmp_path / "mine.yaml"
    partial.write_text(
        "values:\n  dashboard:\n    title: My drift\n  policy:\n    group_by: [dataset]\n"
    )
    values = load_settings(partial, environ={}).values
    bundled = BUNDLED["values"]
    assert values["dashboard"]["title"] == "My drift"
    assert values["policy"]["group_by"] == ["dataset"]  # a list replaces, it does not merge
    # Every other key, even beside the changed ones, is the bundled file's.
    assert values["dashboard"]["uid"] == bundled["dashboard"]["uid"]
    assert values["policy"]["group_wait"] == bundled["policy"]["group_wait"]
    assert values["folder"]["title"] == bundled["folder"]["title"]
    assert load_settings(partial, environ={}).grafana.url == BUNDLED["grafana"]["url"]
    # The environment still overrides the file.
    environ = {"PROVISION__VALUES__DASHBOARD__TITLE": "From the environment"}
    title = load_settings(partial, environ=environ).values["dashboard"]["title"]
    assert title == "From the environment"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("grafana:\n  colour: red\n", "unknown setting(s): grafana.colour"),
        ("grafnaa:\n  url: x\n", "unknown setting(s): grafnaa"),
        ("dashboard:\n  title: x\n", "dashboard: the definitions' settings live under values:"),
        ("values:\n  dashboard: data-drift\n", "values.dashboard: expected a mapping"),
        ("values:\n  dashboard:\n    refresh: [10s]\n", "values.dashboard.refresh: expected text"),
        ("values:\n  folder:\n    uid: 5\n", "values.folder.uid: expected text"),
        ("- dashboard\n", "mine.yaml: expected a mapping of settings"),
        ("dashboard: [\n", "mine.yaml: not valid YAML"),
    ],
)
def test_a_settings_file_with_a_bad_key_is_refused_in_one_line(
    tmp_path: Path, text: str, message: str
) -> None:
    (tmp_path / "mine.yaml").write_text(text)
    run = provision(None, "--config", str(tmp_path / "mine.yaml"), "validate")
    assert_one_error_line(run, message)


@pytest.mark.parametrize(
    ("key", "value", "where"),
    [
        ("alpha", "0.01", "data/drift.yaml"),
        ("use_adjusted_p_value", "false", "correction: none in data/drift.yaml"),
        ("stale_after", "2h", "DRIFT_SCHEDULE"),
        ("min_effect_size", "0.1", "drift_feature_effect_size_threshold"),
    ],
)
def test_a_setting_that_moved_is_refused_saying_where_it_is_now(
    tmp_path: Path, key: str, value: str, where: str
) -> None:
    (tmp_path / "old.yaml").write_text(f"values:\n  alerting:\n    {key}: {value}\n")
    from_file = provision(None, "--config", str(tmp_path / "old.yaml"), "validate")
    assert_one_error_line(from_file, f"values.alerting.{key}: ")
    assert where in from_file.stderr
    variable = f"PROVISION__VALUES__ALERTING__{key.upper()}"
    assert_one_error_line(provision(None, "validate", **{variable: value}), where)


def test_secrets_come_from_files_too_and_never_show_in_repr(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    assert read_env("TELEGRAM_BOT_TOKEN", {"TELEGRAM_BOT_TOKEN_FILE": str(token_file)}) == TOKEN
    credentials = load_credentials({"GRAFANA_TOKEN": "glsa_secret"})
    assert credentials.token == "glsa_secret"
    assert "glsa_secret" not in repr(credentials)


# --- validate -----------------------------------------------------------------------------


def test_the_definitions_are_valid_and_validate_exits_zero_without_any_secret() -> None:
    assert validate(found(), STACK).problems == []
    run = provision(None, "validate", TELEGRAM_BOT_TOKEN="", TELEGRAM_CHAT_ID="")
    assert run.returncode == 0, run.stderr
    assert (
        "valid: 9 definitions from dashboards.drift, alerting.notifications, alerting.rules"
        in run.stdout
    )


@pytest.mark.parametrize(
    ("module", "line"),
    [
        ("def define(values):\n    return [1 / 0]\n", "alerting/broken.py:2: ZeroDivisionError: "),
        ("import no_such_module\n", "alerting/broken.py:1: ModuleNotFoundError: "),
        ("def define(values)\n", "alerting/broken.py:1: SyntaxError: "),
        ("def define(values):\n    return []\n\n\ndef check(definitions):\n    {}['x']\n",
         "alerting/broken.py:6: KeyError: "),
    ],
)  # fmt: skip
def test_a_mistake_in_a_definition_module_is_one_line_naming_where(
    tmp_path: Path, module: str, line: str
) -> None:
    root = copy_definitions(tmp_path)
    (root / "alerting" / "broken.py").write_text(module)
    assert error_line(provision(None, "validate", PROVISION_DEFINITIONS=str(root))).startswith(
        f"Error: {line}"
    )


@pytest.mark.parametrize(
    ("environ", "problem"),
    [
        ({"PROVISION__VALUES__ALERTING__INTERVAL": "15s"}, "divided exactly by scheduler interval"),
        ({"PROVISION__VALUES__ALERTING__PENDING_PERIOD": "5s"}, "shorter than the evaluation"),
        ({"PROVISION__VALUES__ALERTING__PENDING_PERIOD": "soon"}, "is not a duration"),
        ({"PROVISION__VALUES__FOLDER__UID": "drift folder!"}, "must be 1-40 letters, digits"),
        ({"PROVISION__VALUES__DASHBOARD__UID": "d" * 41}, "must be 1-40 letters, digits"),
        (
            {"PROVISION__VALUES__TELEGRAM__PARSE_MODE": "MarkdownV2"},
            "message 'drift.telegram' is written for parse_mode HTML, not MarkdownV2",
        ),
        (
            {"PROVISION__VALUES__TELEGRAM__MESSAGE_TEMPLATE": "drift.telegrma"},
            "uses template 'drift.telegrma', not defined",
        ),
        ({"TELEGRAM_CHAT_ID": "my chat"}, "chat id 'my chat' is not a whole number or @channel"),
    ],
)
def test_validate_names_each_problem_and_exits_one(environ: dict[str, str], problem: str) -> None:
    run = provision(None, "validate", **environ)
    assert run.returncode == 1
    assert problem in run.stderr
    assert "Traceback" not in run.stderr


def test_validate_checks_what_grafana_checks_in_rules() -> None:
    definitions = found().definitions
    group = drift_group()
    rule = group.rules[0]
    steps = dict(rule.steps)
    steps["p_value"] = Reduce("p_value_query", mode="replaceNN")  # without its value
    steps["extra"] = Threshold("later", ">", 1)  # reads a step after it
    broken = replace(rule, steps=steps, condition="Z", labels={"managed_by": "me"})
    group = replace(group, rules=[broken, *group.rules[1:]])
    found_problems = problems(replaced(definitions, drift_group(), group))
    assert "condition 'Z' is none of" in found_problems
    assert "step p_value: replaceNN needs replace_with" in found_problems
    assert "step extra: input 'later' is no earlier step" in found_problems
    assert "the label managed_by is the toolkit's owner mark" in found_problems


def test_validate_checks_that_policy_and_rules_meet() -> None:
    definitions = found().definitions
    routes = [d for d in definitions if isinstance(d, Route)]
    typo = replace(routes[0], matchers={"drift_treshold_detected": "true"})  # the course's typo
    definitions = replaced(definitions, routes[0], typo)
    found_problems = problems(definitions)
    assert (
        'route {drift_treshold_detected="true"} -> Telegram: no rule\'s labels match it'
        in found_problems
    )
    assert "rule drift-p-value: no route matches its labels" in found_problems
    renamed = replace(routes[1], receiver="Telegramm")
    report = validate(
        replace(found(), definitions=replaced(definitions, routes[1], renamed)), STACK
    )
    assert any("contact point 'Telegramm' is not defined here" in w for w in report.warnings)


def test_each_rule_has_its_own_route_to_telegram() -> None:
    [branch] = bodies(Routes)
    assert branch["object_matchers"] == [["managed_by", "=", "drift"]]
    assert [(r["receiver"], r["object_matchers"]) for r in branch["routes"]] == [
        ("Telegram", [["drift_threshold_detected", "=", "true"]]),
        ("Telegram", [["drift_run_stale", "=", "true"]]),
        ("Telegram", [["drift_monitor_down", "=", "true"]]),
    ]
    [group] = bodies(RuleGroups)
    assert [rule["labels"] for rule in group["rules"]] == [
        {"drift_threshold_detected": "true", "managed_by": "drift"},
        {"drift_run_stale": "true", "managed_by": "drift"},
        {"drift_monitor_down": "true", "managed_by": "drift"},
    ]
    # Without its route, the monitor-down rule would page nobody: validate says so.
    definitions = found().definitions
    last_route = [d for d in definitions if isinstance(d, Route)][-1]
    assert problems([d for d in definitions if d is not last_route]) == (
        "rule drift-monitor-down: no route matches its labels {'drift_monitor_down': 'true'}: "
        "its alerts would go to the policy tree's default contact point"
    )


def condition_chain(
    rule: dict[str, Any], step: str | None = None
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """The rule's condition (or another threshold step), followed back: (PromQL, reduce model,
    threshold model)."""
    models = {query["refId"]: query["model"] for query in rule["data"]}
    threshold = models[step or rule["condition"]]
    reduce = models[threshold["expression"]]
    return models[reduce["expression"]]["expr"], reduce, threshold


def rules() -> list[dict[str, Any]]:
    [group] = bodies(RuleGroups)
    return group["rules"]


def test_the_drift_rule_is_material_drift_against_the_published_alpha_and_threshold() -> None:
    [drift_rule, *_] = rules()
    models = {query["refId"]: query["model"] for query in drift_rule["data"]}
    condition = models[drift_rule["condition"]]
    # Both must hold, as in the engine (drift.config.drifted).
    assert (condition["type"], condition["expression"]) == ("math", "$significant && $material")
    expr, reduce, threshold = condition_chain(drift_rule, "significant")
    # The sign of p - alpha, per feature against its own dataset's alpha: exact, no constant.
    assert expr == "drift_feature_p_value_adjusted - on(dataset) group_left() drift_dataset_alpha"
    assert (reduce["reducer"], reduce["settings"]) == ("last", {"mode": ""})  # the UI's Strict
    assert threshold["conditions"][0]["evaluator"] == {"type": "lt", "params": [0]}
    # The sign of effect - threshold, against the feature's own published threshold.
    expr, reduce, threshold = condition_chain(drift_rule, "material")
    assert expr == "drift_feature_effect_size - drift_feature_effect_size_threshold"
    assert (reduce["reducer"], reduce["settings"]) == ("last", {"mode": ""})
    assert threshold["conditions"][0]["evaluator"] == {"type": "gte", "params": [0]}
    # Every Prometheus query is Instant, as in the course's rule ("Type: Instant"): one value
    # per series, the latest, not a range.
    prometheus = {
        query["refId"]: (query["model"]["instant"], query["model"]["range"])
        for query in drift_rule["data"]
        if query["model"]["datasource"]["type"] == "prometheus"
    }
    assert prometheus == {
        "p_value_query": (True, False),
        "p_minus_alpha_query": (True, False),
        "effect_size_query": (True, False),
        "effect_minus_threshold_query": (True, False),
    }
    assert drift_rule["labels"] == {"drift_threshold_detected": "true", "managed_by": "drift"}
    assert drift_rule["noDataState"] == "OK"  # no run yet is not drift
    assert bodies(RuleGroups)[0]["interval"] == 10
    assert drift_rule["for"] == "10s"


def test_the_staleness_rule_compares_with_the_published_limit_and_pages_no_empty_stack() -> None:
    [_, stale_rule, _] = rules()
    expr, _, threshold = condition_chain(stale_rule)
    assert expr == (
        "time() - drift_dataset_last_run_timestamp_seconds - on(dataset) group_left() "
        "drift_dataset_stale_after_seconds"
    )
    assert threshold["conditions"][0]["evaluator"] == {"type": "gt", "params": [0]}
    # No series (no scheduled dataset, or no run at all) pages nobody; errors still do.
    assert (stale_rule["noDataState"], stale_rule["execErrState"]) == ("OK", "Error")
    assert stale_rule["labels"] == {"drift_run_stale": "true", "managed_by": "drift"}


def test_the_monitor_down_rule_reads_prometheus_up_and_pages_when_there_is_none() -> None:
    [_, _, down_rule] = rules()
    assert down_rule["uid"] == "drift-monitor-down"
    expr, _, threshold = condition_chain(down_rule)
    # Prometheus's own series for its scrape of the job in prometheus/prometheus.yml, minus 1:
    # below 0 when the last scrape failed. A constant, no per-dataset matching.
    assert expr == 'up{job="drift-monitor"} - 1'
    assert threshold["conditions"][0]["evaluator"] == {"type": "lt", "params": [0]}
    # No up series at all: Prometheus does not scrape the monitor, which pages too.
    assert (down_rule["noDataState"], down_rule["execErrState"]) == ("NoData", "Error")
    assert down_rule["labels"] == {"drift_monitor_down": "true", "managed_by": "drift"}
    assert down_rule["for"] == "10s"
    annotations = down_rule["annotations"]
    # No panel shows it: no panel link, and the dashboard link names no dataset.
    assert "__panelId__" not in annotations
    assert annotations["dashboard_url"] == "http://localhost:3000/d/data-drift"
    assert "$labels.dataset" not in annotations["summary"]


def test_the_queries_are_named_by_meaning_and_the_messages_read_expressions() -> None:
    ref_ids = [[query["refId"] for query in rule["data"]] for rule in rules()]
    assert ref_ids == [
        [
            "p_value_query", "p_value", "p_minus_alpha_query", "p_minus_alpha", "significant",
            "effect_size_query", "effect_size", "effect_minus_threshold_query",
            "effect_minus_threshold", "material", "drifted",
        ],
        ["since_last_run_query", "since_last_run", "overdue_query", "overdue", "stale"],
        ["up_query", "up", "up_minus_one_query", "up_minus_one", "down"],
    ]  # fmt: skip
    reads = []
    for rule in rules():
        kinds = {q["refId"]: q["model"].get("type", "query") for q in rule["data"]}
        read = re.findall(r"\$values\.(\w+)", " ".join(rule["annotations"].values()))
        reads.append(read)
        # Grafana's $values holds reduce, math and threshold results, not raw queries.
        assert all(kinds[ref] == "reduce" for ref in read), read
    assert [bool(read) for read in reads] == [True, True, False]  # up is 0: nothing to say
    drift_values = {q["refId"]: q["model"] for q in rules()[0]["data"]}
    assert drift_values["p_value_query"]["expr"] == names.P_VALUE_ADJUSTED
    assert drift_values["effect_size_query"]["expr"] == names.EFFECT_SIZE


def test_validate_refuses_a_constant_where_a_published_value_belongs() -> None:
    definitions = found().definitions
    group = drift_group()
    drift_rule, stale_rule, down = group.rules
    # The course's rule: the p-value below a constant 0.05.
    course = replace(
        drift_rule, steps={**drift_rule.steps, "drifted": Threshold("p_value", "<", 0.05)}
    )
    stale = replace(
        stale_rule, steps={**stale_rule.steps, "stale": Threshold("overdue", ">", 7200)}
    )
    definitions = replaced(definitions, group, replace(group, rules=[course, stale, down]))
    board = next(d for d in definitions if isinstance(d, Dashboard))
    body = board.to_json()
    [p_values] = [p for p in body["panels"] if p["title"] == "Adjusted p-value per feature"]
    p_values["fieldConfig"]["defaults"]["thresholds"]["steps"].append(
        {"color": "red", "value": 0.01}
    )
    definitions = replaced(definitions, board, replace(board, definition=body))
    found_problems = problems(definitions)
    assert (
        "rule drift-p-value: its condition must compare with drift_dataset_alpha" in found_problems
    )
    assert (
        "rule drift-stale: its condition must compare with drift_dataset_stale_after"
        in found_problems
    )
    assert "panel 'Adjusted p-value per feature': constant threshold 0.01" in found_problems


def test_validate_refuses_a_constant_effect_size_threshold_on_the_dashboard() -> None:
    definitions = found().definitions
    board = next(d for d in definitions if isinstance(d, Dashboard))
    body = board.to_json()
    [effects] = [p for p in body["panels"] if p["title"] == "Effect size per feature"]
    effects["fieldConfig"]["defaults"]["thresholds"]["steps"].append({"color": "red", "value": 0.1})
    definitions = replaced(definitions, board, replace(board, definition=body))
    found_problems = problems(definitions)
    assert "panel 'Effect size per feature': constant threshold 0.1" in found_problems
    assert "drift_feature_effect_size_threshold" in found_problems


@pytest.mark.parametrize(
    "material",
    [
        Threshold("effect_size", ">=", 0.1),  # a constant where the published threshold belongs
        None,  # the p-value alone
    ],
)
def test_validate_refuses_a_drift_rule_without_the_published_effect_size_threshold(
    material: Threshold | None,
) -> None:
    definitions = found().definitions
    group = drift_group()
    drift_rule, *others = group.rules
    if material is None:
        changed = replace(drift_rule, condition="significant")
    else:
        changed = replace(drift_rule, steps={**drift_rule.steps, "material": material})
    definitions = replaced(definitions, group, replace(group, rules=[changed, *others]))
    found_problems = problems(definitions)
    assert (
        "rule drift-p-value: its condition must compare with drift_feature_effect_size_threshold"
        in found_problems
    )
    assert "must compare with drift_dataset_alpha" not in found_problems


# --- the Telegram message -----------------------------------------------------------------


class TelegramHTML(HTMLParser):
    """Checks what Telegram's HTML parse mode accepts: its tags, closed in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.open: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in TELEGRAM_TAGS:
            self.problems.append(f"<{tag}> is not allowed")
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open.pop() != tag:
            self.problems.append(f"</{tag}> closes nothing")

    def handle_entityref(self, name: str) -> None:
        if name not in {"lt", "gt", "amp", "quot"}:
            self.problems.append(f"&{name}; is not one of Telegram's entities")


def alert(status: str, feature: str, p_value: str, dataset: str = "bike_sharing") -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": "Data drift", "dataset": dataset, "feature": feature},
        "annotations": {
            "p_value": p_value,
            "effect_size": "0.35",
            "dashboard_url": f"http://localhost:3000/d/data-drift?var-dataset={dataset}",
        },
        "startsAt": "2026-01-01T00:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "",
        "fingerprint": feature,
    }


def monitor_down_alert(status: str, summary: str) -> dict[str, Any]:
    """What the monitor-down rule sends: no dataset, no feature, a summary."""
    labels = {"alertname": "DriftMonitorDown", "instance": "monitor:5445", "job": "drift-monitor"}
    return {
        "status": status,
        "labels": labels | {"drift_monitor_down": "true"},
        "annotations": {"summary": summary, "dashboard_url": "http://localhost:3000/d/data-drift"},
        "startsAt": "2026-01-01T00:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "",
        "fingerprint": "monitor",
    }


def render(alerts: list[dict[str, Any]], tmp_path: Path, message: str = "drift.telegram") -> str:
    if not AMTOOL.exists():
        pytest.skip(f"{AMTOOL} not installed (make system-packages installs it)")
    data = {
        "receiver": "Telegram",
        "status": "firing",
        "alerts": alerts,
        "groupLabels": {"alertname": "Data drift"},
        "commonLabels": {"alertname": "Data drift"},
        "commonAnnotations": {},
        "externalURL": "http://localhost:3000",
    }
    (tmp_path / "data.json").write_text(json.dumps(data))
    environ = {"PROVISION__VALUES__TELEGRAM__MESSAGE_TEMPLATE": message}
    [contact_point] = bodies(ContactPoints, environ)
    template = contact_point["settings"]["message"]
    run = subprocess.run(
        [str(AMTOOL), "template", "render", f"--template.glob={ROOT / 'alerting/telegram.tmpl'}",
         f"--template.text={template}", f"--template.data={tmp_path / 'data.json'}"],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    return run.stdout


def test_the_message_names_dataset_feature_p_value_effect_and_links_the_dashboard(
    tmp_path: Path,
) -> None:
    text = render([alert("firing", "temp", "1.2e-11"), alert("resolved", "hum", "0.3")], tmp_path)
    assert "1 firing" in text and "Resolved: 1" in text
    assert "<b>bike_sharing</b> / <code>temp</code>: p = 1.2e-11, effect size 0.35" in text
    assert text.count('<a href="http://localhost:3000/d/data-drift?var-dataset=bike_sharing">') == 1
    parser = TelegramHTML()
    parser.feed(text)
    assert parser.problems == [] and parser.open == []


@pytest.mark.parametrize("message", ["drift.telegram", "drift.telegram.text"])
def test_an_alert_without_a_dataset_reads_as_its_summary(tmp_path: Path, message: str) -> None:
    down = "The drift monitor at monitor:5445 does not answer Prometheus <&> " + "x" * 300
    text = render([monitor_down_alert("firing", down)], tmp_path, message)
    [line] = [line for line in text.splitlines() if line.startswith(("• ", "- "))]
    if message == "drift.telegram":
        # Escaped, cut to 160 characters before escaping, no empty <b></b> for the dataset.
        assert line == "• " + down[:160].replace("<&>", "&lt;&amp;&gt;")
        assert '<a href="http://localhost:3000/d/data-drift">' in text
        parser = TelegramHTML()
        parser.feed(text)
        assert parser.problems == [] and parser.open == []
    else:
        assert line == "- " + down[:160]
        assert "Dashboard: http://localhost:3000/d/data-drift\n" in text


def test_the_message_stays_valid_html_and_under_4096_characters_at_worst(tmp_path: Path) -> None:
    nasty = '<b>&"feature"</b>' + "x" * 200  # markup in names and names far too long
    alerts = [alert("firing", f"{nasty}{i}", "1e-300", dataset=nasty) for i in range(40)]
    alerts += [alert("resolved", f"{nasty}{i}", "0.5", dataset=nasty) for i in range(40)]
    text = render(alerts, tmp_path)
    assert len(text) < 4096
    assert "40 firing" in text and "and more on the dashboard" in text
    assert "<b>&amp;" not in text and "&lt;b&gt;&amp;&quot;feature&quot;" in text
    parser = TelegramHTML()
    parser.feed(text)
    assert parser.problems == [] and parser.open == []


def test_the_plain_text_message_for_parse_mode_none(tmp_path: Path) -> None:
    text = render(
        [alert("firing", "temp<&>", "1.2e-11"), alert("resolved", "hum", "0.3")],
        tmp_path,
        message="drift.telegram.text",
    )
    assert "- bike_sharing / temp<&>: p = 1.2e-11, effect size 0.35" in text  # not escaped
    assert "Dashboard: http://localhost:3000/d/data-drift?var-dataset=bike_sharing" in text
    assert "<b>" not in text
    run = provision(
        None,
        "validate",
        PROVISION__VALUES__TELEGRAM__MESSAGE_TEMPLATE="drift.telegram.text",
        PROVISION__VALUES__TELEGRAM__PARSE_MODE="None",
    )
    assert run.returncode == 0, run.stderr
