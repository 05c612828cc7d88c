"""`provision.py export DIR`: Grafana's file provisioning, read back the way Grafana reads it
(which keys it takes, which values it expands from the environment), with several objects of
each kind; and what every export does when it cannot write."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml
from ops_definitions import HOOK_PASSWORD, SECRETS, SLACK_URL, definitions_with_ops

from conftest import ROOT
from provision_cli import CHAT_ID, TOKEN, error_line, provision

PROMTOOL = Path("/usr/bin/promtool")
MOUNTED_AT = PurePosixPath("/etc/grafana/provisioning")  # where DIR is mounted in Grafana

# What Grafana's file provisioning reads, from its source (grafana/grafana
# pkg/services/provisioning/): alerting/types.go AlertingFileV1, rules_types.go
# AlertRuleGroupV1, AlertRuleV1, QueryV1, contact_point_types.go ContactPointV1, ReceiverV1,
# notification_policy_types.go (ngalert/api/tooling/definitions Route), mute_times_types.go
# (MuteTimeInterval, Alertmanager's TimeInterval), text_templates_types.go (MessageTemplate),
# datasources/types.go upsertDataSourceFromConfigV1, dashboards/types.go provider configs.
ALERTING_KEYS = {"apiVersion", "groups", "deleteRules", "contactPoints", "deleteContactPoints",
                 "policies", "resetPolicies", "muteTimes", "deleteMuteTimes", "templates",
                 "deleteTemplates"}  # fmt: skip
GROUP_KEYS = {"orgId", "name", "folder", "interval", "rules"}
RULE_KEYS = {"uid", "title", "condition", "data", "dasboardUid", "dashboardUid", "panelId",
             "noDataState", "execErrState", "for", "keepFiringFor",
             "missing_series_evals_to_resolve", "annotations", "labels", "isPaused",
             "notification_settings", "record"}  # fmt: skip
QUERY_KEYS = {"refId", "queryType", "relativeTimeRange", "datasourceUid", "model"}
CONTACT_POINT_KEYS = {"orgId", "name", "receivers"}
RECEIVER_KEYS = {"uid", "type", "settings", "disableResolveMessage"}
ROUTE_KEYS = {"receiver", "group_by", "match", "match_re", "matchers", "object_matchers",
              "mute_time_intervals", "active_time_intervals", "continue", "routes",
              "group_wait", "group_interval", "repeat_interval"}  # fmt: skip
MUTE_TIME_KEYS = {"orgId", "name", "time_intervals"}
TIME_INTERVAL_KEYS = {"times", "weekdays", "days_of_month", "months", "years", "location"}
TEMPLATE_KEYS = {"orgId", "name", "template"}
DATASOURCE_KEYS = {"orgId", "version", "name", "type", "access", "url", "user", "database",
                   "basicAuth", "basicAuthUser", "withCredentials", "isDefault", "correlations",
                   "jsonData", "secureJsonData", "editable", "uid", "password",
                   "basicAuthPassword"}  # fmt: skip
PROVIDER_KEYS = {"name", "type", "orgId", "folder", "folderUid", "editable", "options",
                 "disableDeletion", "updateIntervalSeconds", "allowUiUpdates"}  # fmt: skip
NO_DATA_STATES = {"NoData", "Alerting", "OK", "KeepLast"}  # ngalert/models NoDataStateFromString
EXEC_ERR_STATES = {"Error", "Alerting", "OK", "KeepLast"}
# prometheus/common model.ParseDuration, which the rules' durations go through.
DURATION = re.compile(r"(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?")
# Go's os.Expand: ${name}, a special one-character name, or a run of letters, digits and _.
GO_VARIABLE = re.compile(r"\$(?:\{([^}]*)\}|([*#$@!?0-9-])|(\w+))")


def grafana_expands(value: Any, environ: Mapping[str, str]) -> Any:
    """``value`` as Grafana expands a provisioning field (pkg/services/provisioning/values
    interpolateValue): split at "$$", each part through os.ExpandEnv, joined with "$"."""
    if isinstance(value, dict):
        return {key: grafana_expands(item, environ) for key, item in value.items()}
    if isinstance(value, list):
        return [grafana_expands(item, environ) for item in value]
    if not isinstance(value, str):
        return value

    def variable(found: re.Match[str]) -> str:
        return environ.get(next(name for name in found.groups() if name is not None), "")

    return "$".join(GO_VARIABLE.sub(variable, part) for part in value.split("$$"))


def grafana_reads(alerting: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """The alerting file as Grafana takes it in: the fields typed values.* and read with
    .Value() expanded; annotations, queries' models, templates and mute timings verbatim."""

    def rule(body: dict[str, Any]) -> dict[str, Any]:
        verbatim = {"annotations", "data"}
        read = {k: grafana_expands(v, environ) for k, v in body.items() if k not in verbatim}
        read["annotations"] = body["annotations"]
        read["data"] = [
            grafana_expands({k: v for k, v in q.items() if k in ("refId", "queryType",
                                                                  "datasourceUid")}, environ)
            | {"relativeTimeRange": q["relativeTimeRange"], "model": q["model"]}
            for q in body["data"]
        ]  # fmt: skip
        return read

    return {
        "templates": alerting.get("templates", []),
        "muteTimes": alerting.get("muteTimes", []),
        "contactPoints": grafana_expands(alerting.get("contactPoints", []), environ),
        "policies": grafana_expands(alerting.get("policies", []), environ),
        "groups": [
            grafana_expands({k: v for k, v in g.items() if k != "rules"}, environ)
            | {"rules": [rule(r) for r in g["rules"]]}
            for g in alerting.get("groups", [])
        ],
    }


@pytest.fixture
def definitions(tmp_path: Path) -> Path:
    return definitions_with_ops(tmp_path / "definitions")


def export(definitions: Path, out: Path, **env: str) -> subprocess.CompletedProcess[str]:
    run = provision(None, "export", str(out), "--definitions", str(definitions), **env)
    assert run.returncode == 0, run.stderr
    return run


def files(directory: Path) -> dict[str, str]:
    return {
        path.relative_to(directory).as_posix(): path.read_text()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def load(directory: Path, name: str) -> dict[str, Any]:
    return yaml.safe_load((directory / name).read_text())


def test_several_of_each_kind_are_exported_in_grafanas_layout(
    definitions: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    export(definitions, out, **SECRETS)
    assert sorted(files(out)) == [
        "alerting/drift.yaml",
        "dashboards/drift.yaml",
        "dashboards/drift/drift/data-drift.json",
        "dashboards/drift/ops/ops-board.json",
        "datasources/drift.yaml",
    ]
    # One provider per folder, each reading the folder of JSON files that holds its dashboards
    # once DIR is mounted at Grafana's provisioning path.
    providers = load(out, "dashboards/drift.yaml")["providers"]
    held = {}
    for provider in providers:
        path = PurePosixPath(provider["options"]["path"]).relative_to(MOUNTED_AT)
        held[(provider["folderUid"], provider["folder"])] = sorted(
            json.loads(p.read_text())["uid"] for p in (out / path).glob("*.json")
        )
    assert held == {("drift", "Data drift"): ["data-drift"], ("ops", "Operations $$team"): [
        "ops-board"]}  # fmt: skip
    assert len({p["name"] for p in providers}) == 2

    alerting = load(out, "alerting/drift.yaml")
    points = {p["name"]: [r["type"] for r in p["receivers"]] for p in alerting["contactPoints"]}
    assert points == {"Telegram": ["telegram"], "Ops Slack": ["slack"], "Ops hook": ["webhook"]}
    groups = {(g["folder"], g["name"]): [r["uid"] for r in g["rules"]] for g in alerting["groups"]}
    assert groups == {
        ("Data drift", "data-drift"): ["drift-p-value", "drift-stale", "drift-monitor-down"],
        ("Operations $$team", "ops"): ["ops-queue-depth"],
    }
    [nights] = alerting["muteTimes"]
    assert nights["time_intervals"] == [{"times": [{"start_time": "22:00", "end_time": "24:00"}]}]
    # A routes file replaces the whole tree: Grafana's default root, the stack's branch under it.
    [root] = alerting["policies"]
    assert (root["receiver"], root["group_by"]) == ("grafana-default-email",
                                                    ["grafana_folder", "alertname"])  # fmt: skip
    [branch] = root["routes"]
    assert branch["object_matchers"] == [["managed_by", "=", "drift"]]
    receivers = [route.get("receiver") for route in branch["routes"]]
    assert receivers == ["Telegram", "Telegram", "Telegram", "Ops Slack", "Ops hook"]
    slack, hook = branch["routes"][3:]
    assert slack["continue"] is True and slack["mute_time_intervals"] == [nights["name"]]
    assert hook["routes"] == [
        {"receiver": "Telegram", "object_matchers": [["severity", "=", "page"]]}
    ]
    assert [t["name"] for t in alerting["templates"]] and all(
        t["orgId"] == 1 for t in alerting["templates"]
    )


def test_grafana_reads_back_what_was_defined_and_secrets_from_its_environment(
    definitions: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    export(definitions, out, **SECRETS)
    everything = "".join(files(out).values())
    for secret in (TOKEN, SLACK_URL, HOOK_PASSWORD):
        assert secret not in everything

    grafanas_environment = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_CHAT_ID": CHAT_ID} | SECRETS
    read = grafana_reads(load(out, "alerting/drift.yaml"), grafanas_environment)
    points = {p["name"]: p["receivers"][0]["settings"] for p in read["contactPoints"]}
    assert (points["Telegram"]["bottoken"], points["Telegram"]["chatid"]) == (TOKEN, CHAT_ID)
    assert points["Ops Slack"]["url"] == SLACK_URL
    assert points["Ops Slack"]["text"] == '{{ template "slack.default.text" . }} costs $5'
    assert points["Ops hook"]["password"] == HOOK_PASSWORD
    groups = {g["name"]: g for g in read["groups"]}
    assert groups["ops"]["folder"] == "Operations $team"
    [ops] = groups["ops"]["rules"]
    assert ops["title"] == "Queue depth $high"
    assert ops["labels"] == {"team": "ops", "cost": "$5", "managed_by": "drift"}
    # Annotations reach the alert templates as written (alerting/rules.py, the ops module).
    assert ops["annotations"] == {
        "summary": "Queue {{ $labels.queue }} holds {{ $values.depth.Value }}"
    }
    drift = groups["data-drift"]["rules"][0]
    assert drift["annotations"]["summary"] == (
        "Drift in {{ $labels.dataset }} / {{ $labels.feature }}"
    )
    assert drift["annotations"]["p_value"] == '{{ printf "%.3g" $values.p_value.Value }}'
    assert (drift["dashboardUid"], drift["panelId"]) == ("data-drift", 2)
    assert "__dashboardUid__" not in drift["annotations"]
    # The message template (alerting/telegram.tmpl) as written: its "$1" is a regexp group.
    [template] = read["templates"]
    assert template["template"] == (ROOT / "alerting/telegram.tmpl").read_text().strip()
    # The route names the mute timing as the mute timing is named.
    [nights] = read["muteTimes"]
    slack_route = read["policies"][0]["routes"][0]["routes"][3]
    assert slack_route["mute_time_intervals"] == [nights["name"]]
    # The dashboards' JSON is not expanded either: its variable stays "$dataset".
    dashboard = (out / "dashboards/drift/drift/data-drift.json").read_text()
    assert '=~\\"$dataset\\"' in dashboard and "$$" not in dashboard


def test_the_export_needs_no_secret(definitions: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    export(definitions, out, TELEGRAM_BOT_TOKEN="", TELEGRAM_CHAT_ID="")
    settings = load(out, "alerting/drift.yaml")["contactPoints"][0]["receivers"][0]["settings"]
    assert (settings["bottoken"], settings["chatid"]) == (
        "$TELEGRAM_BOT_TOKEN",
        "$TELEGRAM_CHAT_ID",
    )


def test_every_key_and_value_is_one_grafanas_file_provisioning_takes(
    definitions: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    export(definitions, out, **SECRETS)
    for source in load(out, "datasources/drift.yaml")["datasources"]:
        assert set(source) <= DATASOURCE_KEYS and source["name"] and source["type"]
    for provider in load(out, "dashboards/drift.yaml")["providers"]:
        assert set(provider) <= PROVIDER_KEYS and provider["options"]["path"]

    alerting = load(out, "alerting/drift.yaml")
    assert set(alerting) <= ALERTING_KEYS and alerting["apiVersion"] == 1
    for template in alerting["templates"]:
        assert set(template) == TEMPLATE_KEYS
    for mute in alerting["muteTimes"]:
        assert set(mute) == MUTE_TIME_KEYS and mute["name"]
        assert all(set(interval) <= TIME_INTERVAL_KEYS for interval in mute["time_intervals"])
    for point in alerting["contactPoints"]:
        assert set(point) == CONTACT_POINT_KEYS and point["name"].strip()
        for receiver in point["receivers"]:
            assert set(receiver) == RECEIVER_KEYS
            assert receiver["uid"].strip() and receiver["type"].strip() and receiver["settings"]
            assert len(receiver["uid"]) <= 40  # Grafana's limit for a uid

    def route(node: dict[str, Any]) -> None:
        assert set(node) <= ROUTE_KEYS, set(node) - ROUTE_KEYS
        for child in node.get("routes", []):
            route(child)

    [policy] = alerting["policies"]
    route({k: v for k, v in policy.items() if k != "orgId"})
    for group in alerting["groups"]:
        assert set(group) == GROUP_KEYS and group["name"].strip() and group["folder"].strip()
        assert DURATION.fullmatch(group["interval"])
        for rule in group["rules"]:
            assert set(rule) <= RULE_KEYS, set(rule) - RULE_KEYS
            assert rule["uid"] and rule["title"] and rule["data"]
            assert rule["condition"] in {query["refId"] for query in rule["data"]}
            assert DURATION.fullmatch(rule["for"]) and DURATION.fullmatch(rule["keepFiringFor"])
            assert rule["noDataState"] in NO_DATA_STATES
            assert rule["execErrState"] in EXEC_ERR_STATES
            assert isinstance(rule["isPaused"], bool)
            assert isinstance(rule.get("panelId", 0), int)
            for query in rule["data"]:
                assert set(query) == QUERY_KEYS and isinstance(query["model"], dict)
                assert set(query["relativeTimeRange"]) == {"from", "to"}


def test_exported_annotations_are_go_templates_that_render(
    definitions: Path, tmp_path: Path
) -> None:
    """Grafana expands annotations with Go's text/template and Prometheus's functions, the
    engine promtool runs: every exported annotation parses (with Grafana's $values bound), and
    those reading labels render what the definition says, with no "$$"."""
    if not PROMTOOL.exists():
        pytest.skip(f"{PROMTOOL} not installed (make system-packages installs it)")
    out = tmp_path / "out"
    export(definitions, out, **SECRETS)
    rules = [r for g in load(out, "alerting/drift.yaml")["groups"] for r in g["rules"]]
    # Grafana's template data binds $values (ngalert/state/template); promtool's has $labels.
    parsed = [
        {"alert": f"A{i}", "expr": "vector(1)",
         "annotations": {k: "{{ $values := $labels }}" + v for k, v in r["annotations"].items()}}
        for i, r in enumerate(rules)
    ]  # fmt: skip
    checked = tmp_path / "parsed.yml"
    checked.write_text(yaml.safe_dump({"groups": [{"name": "parsed", "rules": parsed}]}))
    run = subprocess.run([str(PROMTOOL), "check", "rules", str(checked)], capture_output=True,
                         text=True, timeout=60)  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr

    drift = next(r for r in rules if r["uid"] == "drift-p-value")
    labels_only = {k: v for k, v in drift["annotations"].items() if "$values" not in v}
    rendered = tmp_path / "rendered.yml"
    rendered.write_text(yaml.safe_dump({"groups": [{"name": "rendered", "rules": [
        {"alert": "Drift", "expr": "drift_stand_in", "annotations": labels_only}]}]}))  # fmt: skip
    unit = tmp_path / "unit.yml"
    unit.write_text(yaml.safe_dump({
        "rule_files": [str(rendered)],
        "tests": [{
            "interval": "1m",
            "input_series": [
                {"series": 'drift_stand_in{dataset="bikes",feature="temp"}', "values": "1"}],
            "alert_rule_test": [{"eval_time": "0m", "alertname": "Drift", "exp_alerts": [{
                "exp_labels": {"dataset": "bikes", "feature": "temp"},
                "exp_annotations": {
                    "summary": "Drift in bikes / temp",
                    "description": "The adjusted p-value of the feature is below the alpha of "
                    "its run and its effect size reaches the feature's threshold (both set in "
                    "the drift config).",
                    "dashboard_url": "http://localhost:3000/d/data-drift?var-dataset=bikes",
                }}]}],
        }],
    }))  # fmt: skip
    run = subprocess.run([str(PROMTOOL), "test", "rules", str(unit)], capture_output=True,
                         text=True, timeout=60)  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr


def test_an_annotation_grafana_would_expand_is_refused_in_one_line(tmp_path: Path) -> None:
    module = """
from provisioning.model import Folder, Query, Reduce, Rule, RuleGroup, Threshold

def define(values):
    folder = Folder("drift", "Data drift")
    rule = Rule(uid="costly", title="Costly", steps={"q": Query("cost", "drift-prometheus"),
                "r": Reduce("q"), "c": Threshold("r", ">", 1)},
                annotations={"summary": "costs ${{ $values.r.Value }}"})
    return [RuleGroup(folder=folder, name="costs", rules=[rule])]
"""
    definitions = definitions_with_ops(tmp_path / "definitions", module)
    run = provision(None, "export", str(tmp_path / "out"), "--definitions", str(definitions))
    assert "rule costly: annotation summary holds '${'" in error_line(run)
    assert not (tmp_path / "out").exists()


# --- what every export does when it cannot write ----------------------------------------------


@pytest.mark.parametrize("target", ["grafana", "prometheus"])
def test_export_under_a_file_is_one_line_and_writes_nothing(tmp_path: Path, target: str) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("keep me\n")
    run = provision(None, "export", "--target", target, str(blocker / "out"))
    assert f"{blocker} is not a directory" in error_line(run)
    assert list(tmp_path.iterdir()) == [blocker] and blocker.read_text() == "keep me\n"


def test_a_failed_export_removes_what_it_created_and_keeps_what_was_there(tmp_path: Path) -> None:
    (tmp_path / "dashboards" / "drift").mkdir(parents=True)
    (tmp_path / "dashboards" / "drift" / "drift").write_text("in the way of the JSON's folder")
    (tmp_path / "notes.txt").write_text("mine\n")
    before = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*"))
    run = provision(None, "export", str(tmp_path))
    assert "cannot write" in error_line(run)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == before
