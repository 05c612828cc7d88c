"""`provision.py export --target prometheus`: Prometheus rules derived from the Grafana rules'
steps and an Alertmanager configuration from the contact points, routes and mute timings,
checked with the real promtool and amtool."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from ops_definitions import HOOK_PASSWORD, SECRETS, SLACK_URL, definitions_with_ops

import names
from conftest import ROOT
from provision_cli import CHAT_ID, TOKEN, error_line, provision
from provisioning.files import ExportError
from provisioning.kinds import Stack
from provisioning.model import Folder, Math, Query, Reduce, Rule, RuleGroup, Threshold
from provisioning.prometheus_native import rule_file

PROMTOOL, AMTOOL = Path("/usr/bin/promtool"), Path("/usr/bin/amtool")
STRACE = Path("/usr/bin/strace")
ENV = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_CHAT_ID": CHAT_ID}
DRIFT = {names.ALERT_LABEL: "true", "managed_by": "drift"}


def export(directory: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return provision(None, "export", "--target", "prometheus", str(directory), *args, **env)


def tool(binary: Path, *args: str) -> subprocess.CompletedProcess[str]:
    if not binary.exists():
        pytest.skip(f"{binary} not installed (make system-packages installs it)")
    return subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=60)


def routed_to(config: Path, labels: dict[str, str]) -> str:
    """The receivers Alertmanager picks for ``labels``, comma-separated, in order."""
    pairs = [f"{key}={value}" for key, value in labels.items()]
    run = tool(AMTOOL, "config", "routes", "test", f"--config.file={config}", *pairs)
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout.strip()


@pytest.fixture
def exported(tmp_path: Path) -> Path:
    run = export(tmp_path)
    assert run.returncode == 0, run.stderr
    return tmp_path


def test_promtool_and_amtool_accept_the_files(exported: Path) -> None:
    assert sorted(p.name for p in exported.iterdir()) == [
        "alertmanager.yml",
        "rules.yml",
        "templates.tmpl",
    ]
    rules = tool(PROMTOOL, "check", "rules", str(exported / "rules.yml"))
    assert rules.returncode == 0, rules.stdout + rules.stderr
    config = tool(AMTOOL, "check-config", str(exported / "alertmanager.yml"))
    assert config.returncode == 0, config.stdout + config.stderr
    # The message template is Grafana's (alerting/telegram.tmpl), for Alertmanager to use.
    template = (ROOT / "alerting/telegram.tmpl").read_text().strip()
    assert (exported / "templates.tmpl").read_text() == template + "\n"


def test_the_rules_keep_their_names_pending_periods_and_labels(exported: Path) -> None:
    [group] = yaml.safe_load((exported / "rules.yml").read_text())["groups"]
    assert (group["name"], group["interval"]) == ("data-drift", "10s")
    rules = {rule["alert"]: rule for rule in group["rules"]}
    assert set(rules) == {"DataDriftDetected", "DriftRunStale", "DriftMonitorDown"}
    assert {name: rule["for"] for name, rule in rules.items()} == dict.fromkeys(rules, "10s")
    assert rules["DataDriftDetected"]["labels"] == DRIFT
    assert rules["DriftMonitorDown"]["labels"] == {names.MONITOR_DOWN_LABEL: "true",
                                                   "managed_by": "drift"}  # fmt: skip
    # Grafana's links to the dashboard panel are not annotations in Prometheus.
    assert not any(key.startswith("__") for r in rules.values() for key in r["annotations"])


def test_the_routes_send_each_alert_of_the_stack_to_telegram_and_nothing_else(
    exported: Path,
) -> None:
    config = exported / "alertmanager.yml"
    for label in (names.ALERT_LABEL, names.STALE_LABEL, names.MONITOR_DOWN_LABEL):
        assert routed_to(config, {label: "true", "managed_by": "drift"}) == "Telegram"
    assert routed_to(config, {names.ALERT_LABEL: "true", "managed_by": "other"}) == "null"
    assert routed_to(config, {"alertname": "SomethingElse"}) == "null"
    receivers = yaml.safe_load(config.read_text())["receivers"]
    [telegram] = next(r for r in receivers if r["name"] == "Telegram")["telegram_configs"]
    assert telegram["chat_id"] == int(CHAT_ID)  # an integer, or Alertmanager refuses it
    assert (telegram["api_url"], telegram["bot_token"]) == ("https://api.telegram.org", TOKEN)
    assert telegram["message"] == '{{ template "drift.telegram" . }}'
    assert (telegram["parse_mode"], telegram["send_resolved"]) == ("HTML", True)


def test_the_telegram_api_url_can_be_changed(tmp_path: Path) -> None:
    assert export(tmp_path, "--telegram-api-url", "http://127.0.0.1:8443").returncode == 0
    config = yaml.safe_load((tmp_path / "alertmanager.yml").read_text())
    [telegram] = next(r for r in config["receivers"] if r["name"] == "Telegram")["telegram_configs"]
    assert telegram["api_url"] == "http://127.0.0.1:8443"


def test_a_chat_id_that_is_not_a_number_is_one_error_line(tmp_path: Path) -> None:
    run = export(tmp_path / "out", TELEGRAM_CHAT_ID="@channel")
    assert "needs a whole-number chat id, not '@channel'" in error_line(run)
    assert not (tmp_path / "out").exists()


def test_a_missing_secret_is_named_in_one_line_and_nothing_is_written(tmp_path: Path) -> None:
    run = export(tmp_path / "out", TELEGRAM_BOT_TOKEN="", TELEGRAM_CHAT_ID="")
    assert "TELEGRAM_BOT_TOKEN, TELEGRAM_CHAT_ID not set" in error_line(run)
    assert list(tmp_path.iterdir()) == []


def older_export(tmp_path: Path) -> Path:
    """An export directory holding an alertmanager.yml left readable by an older export."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "alertmanager.yml").write_text("left by an older export\n")
    (out / "alertmanager.yml").chmod(0o644)
    return out


def test_alertmanager_yml_holds_the_token_and_is_private(tmp_path: Path) -> None:
    """Checked without tracing, so that it runs wherever the export does: the file that
    replaces a readable one holds the token, readable by its owner only; rules.yml is an
    ordinary file."""
    out = older_export(tmp_path)
    run = export(out)
    assert run.returncode == 0, run.stderr
    secret = out / "alertmanager.yml"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    receivers = yaml.safe_load(secret.read_text())["receivers"]
    [telegram] = next(r for r in receivers if r["name"] == "Telegram")["telegram_configs"]
    assert (telegram["bot_token"], telegram["chat_id"]) == (TOKEN, int(CHAT_ID))
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE((out / "rules.yml").stat().st_mode) == 0o666 & ~umask  # as any file


def test_alertmanager_yml_is_private_from_its_creation(tmp_path: Path) -> None:
    """Traced: every file that becomes alertmanager.yml is created 0600 and never chmod-ed,
    so the token is never readable by others, not even for a moment. Only this part needs
    ptrace; the final mode and content are checked above without it."""
    if not STRACE.exists():
        pytest.skip(f"{STRACE} not installed (make system-packages installs it)")
    out, trace = older_export(tmp_path), tmp_path / "trace"
    calls = "open,openat,creat,chmod,fchmod,fchmodat,rename,renameat,renameat2"
    run = subprocess.run(
        [str(STRACE), "-f", "-qq", "-e", f"trace={calls}", "-o", str(trace),
         sys.executable, str(ROOT / "provision.py"), "export", "--target", "prometheus",
         str(out)],
        env={**os.environ, **ENV}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    if "Operation not permitted" in run.stderr:
        pytest.skip("ptrace is not permitted here: the creation mode is not traced")
    assert run.returncode == 0, run.stderr
    secret = out / "alertmanager.yml"
    assert TOKEN in secret.read_text()  # the traced export is the real one

    log = trace.read_text()
    calls_here = [line for line in log.splitlines() if str(out) in line]
    paths = {str(secret)} | {
        source for source, target in re.findall(r'rename\w*\(.*?"([^"]+)".*?"([^"]+)"', log)
        if target == str(secret)
    }  # fmt: skip
    created = re.findall(r'(?:open|openat|creat)\(.*?"([^"]+)", ([^)]*O_CREAT[^)]*)', log)
    modes = [args.rsplit(", ", 1)[1] for name, args in created if name in paths]
    assert modes == ["0600"], calls_here
    assert [line for line in calls_here if "chmod" in line] == []
    assert "fchmod(" not in log


# --- the rules, evaluated by promtool ----------------------------------------------------------


def promtool_test(rules: Path, tests: list[dict], series: list[dict]) -> None:
    unit = {
        "rule_files": [str(rules)],
        "evaluation_interval": "10s",
        "tests": [{"interval": "10s", "input_series": series, "alert_rule_test": tests}],
    }
    path = rules.parent / "rules_test.yml"
    path.write_text(yaml.safe_dump(unit))
    run = tool(PROMTOOL, "test", "rules", str(path))
    assert run.returncode == 0, run.stdout + run.stderr


def drift_alert(dataset: str, feature: str, p_value: str, effect_size: str) -> dict:
    return {
        "exp_labels": {"dataset": dataset, "feature": feature} | DRIFT,
        "exp_annotations": {
            "summary": f"Drift in {dataset} / {feature}",
            "description": "The adjusted p-value of the feature is below the alpha of its run "
            "and its effect size reaches the feature's threshold (both set in the drift "
            "config).",
            "p_value": p_value,
            "effect_size": effect_size,
            "dashboard_url": f"http://localhost:3000/d/data-drift?var-dataset={dataset}",
        },
    }


def test_the_drift_rule_fires_only_for_material_drift_against_the_published_values(
    exported: Path,
) -> None:
    """Each feature's adjusted p-value below its own dataset's alpha and its effect size at
    least its own threshold, both as published: both must hold, as in the engine."""

    def feature(family: str, dataset: str, name: str, value: str) -> dict:
        return {
            "series": f'{family}{{dataset="{dataset}",feature="{name}"}}',
            "values": f"{value}x12",
        }

    def tested(dataset: str, name: str, p_value: str, effect: str, threshold: str) -> list[dict]:
        return [
            feature(names.P_VALUE_ADJUSTED, dataset, name, p_value),
            feature(names.EFFECT_SIZE, dataset, name, effect),
            feature(names.EFFECT_SIZE_THRESHOLD, dataset, name, threshold),
        ]

    promtool_test(
        exported / "rules.yml",
        series=[
            # bikes ran with alpha 0.05, shop with 0.01 (each run publishes its own).
            {"series": f'{names.DATASET_ALPHA}{{dataset="bikes"}}', "values": "0.05x12"},
            {"series": f'{names.DATASET_ALPHA}{{dataset="shop"}}', "values": "0.01x12"},
            *tested("bikes", "temp", "0.03", "0.3", "0.07"),  # both hold: drift
            *tested("bikes", "hum", "0.5", "0.9", "0.07"),  # a large effect, not significant
            *tested("bikes", "wind", "0.05", "0.9", "0.07"),  # p equal to alpha: no drift
            *tested("bikes", "cnt", "1e-300", "0.05", "0.07"),  # significant, not material
            *tested("bikes", "hr", "0.001", "0.1", "0.1"),  # effect equal to its threshold: drift
            *tested("shop", "price", "0.03", "0.5", "0.1"),  # the same p-value, above 0.01
            *tested("shop", "qty", "0.001", "0.06", "0.05"),  # its own threshold, not bikes'
            # No effect size (it overflowed): not material, as in the engine.
            feature(names.P_VALUE_ADJUSTED, "shop", "gone", "0.001"),
            feature(names.EFFECT_SIZE_THRESHOLD, "shop", "gone", "0"),
        ],
        tests=[
            {
                "eval_time": "1m",
                "alertname": "DataDriftDetected",
                "exp_alerts": [
                    drift_alert("bikes", "temp", "0.03", "0.3"),
                    drift_alert("bikes", "hr", "0.001", "0.1"),
                    drift_alert("shop", "qty", "0.001", "0.06"),
                ],
            },
        ],
    )


def stale_alert(dataset: str, since: str) -> dict:
    return {
        "exp_labels": {"dataset": dataset, names.STALE_LABEL: "true", "managed_by": "drift"},
        "exp_annotations": {
            "summary": f"No drift run for {dataset} in {since}, longer than its schedule allows",
            "dashboard_url": f"http://localhost:3000/d/data-drift?var-dataset={dataset}",
        },
    }


def test_only_a_scheduled_dataset_past_its_published_limit_is_stale(exported: Path) -> None:
    def series(metric: str, dataset: str, values: str) -> dict:
        return {"series": f'{metric}{{dataset="{dataset}"}}', "values": values}

    promtool_test(
        exported / "rules.yml",
        series=[
            # Each ran at time 0. bikes may go 30 s without a run, edge exactly 60 s; shop is
            # run by hand: no limit published, never stale.
            series(names.LAST_RUN_TIMESTAMP, "bikes", "0x12"),
            series(names.LAST_RUN_TIMESTAMP, "edge", "0x12"),
            series(names.LAST_RUN_TIMESTAMP, "shop", "0x12"),
            series(names.DATASET_STALE_AFTER, "bikes", "30x12"),
            series(names.DATASET_STALE_AFTER, "edge", "60x12"),
        ],
        tests=[
            {
                "eval_time": "1m",  # edge: exactly at its limit, not past it
                "alertname": "DriftRunStale",
                "exp_alerts": [stale_alert("bikes", "1m 0s")],
            },
            {
                "eval_time": "2m",
                "alertname": "DriftRunStale",
                "exp_alerts": [stale_alert("bikes", "2m 0s"), stale_alert("edge", "2m 0s")],
            },
        ],
    )


def test_a_stack_that_never_ran_pages_nobody(exported: Path) -> None:
    promtool_test(
        exported / "rules.yml",
        series=[{"series": 'up{job="drift-monitor"}', "values": "1x100"}],  # the monitor, empty
        tests=[
            {"eval_time": "15m", "alertname": "DataDriftDetected", "exp_alerts": []},
            {"eval_time": "15m", "alertname": "DriftRunStale", "exp_alerts": []},
            {"eval_time": "15m", "alertname": "DriftMonitorDown", "exp_alerts": []},
        ],
    )


MONITOR_DOWN_DESCRIPTION = (
    "Prometheus's scrape of its job drift-monitor fails (the monitor stopped, unreachable, or "
    "/metrics failing). Without the monitor's series the drift and staleness rules see no data."
)
MONITOR_DOWN_LABELS = {names.MONITOR_DOWN_LABEL: "true", "managed_by": "drift"}


def test_a_monitor_prometheus_cannot_scrape_pages_until_it_answers_again(exported: Path) -> None:
    monitor = {"job": "drift-monitor", "instance": "monitor:5445"}
    down = {
        "exp_labels": monitor | MONITOR_DOWN_LABELS,
        "exp_annotations": {
            "summary": "The drift monitor at monitor:5445 does not answer Prometheus: no drift "
            "or staleness alert can fire",
            "description": MONITOR_DOWN_DESCRIPTION,
            "dashboard_url": "http://localhost:3000/d/data-drift",
        },
    }
    promtool_test(
        exported / "rules.yml",
        series=[
            # Scraped every 10 s: answers until 60 s, fails from 70 s to 120 s, answers again.
            {"series": 'up{job="drift-monitor",instance="monitor:5445"}', "values": "1x6 0x5 1x12"},
            # Another job's target, down all along: not the monitor.
            {"series": 'up{job="node",instance="host:9100"}', "values": "0x24"},
        ],
        tests=[
            {"eval_time": "1m", "alertname": "DriftMonitorDown", "exp_alerts": []},
            {"eval_time": "70s", "alertname": "DriftMonitorDown", "exp_alerts": []},  # pending
            {"eval_time": "90s", "alertname": "DriftMonitorDown", "exp_alerts": [down]},
            {"eval_time": "2m", "alertname": "DriftMonitorDown", "exp_alerts": [down]},
            {"eval_time": "3m", "alertname": "DriftMonitorDown", "exp_alerts": []},
        ],
    )


def test_no_up_series_at_all_pages_as_grafanas_no_data_state_does(exported: Path) -> None:
    """The monitor-down rule's no-data state is "NoData": Grafana pages when the query answers
    nothing, so the Prometheus rule does too (Prometheus does not scrape the monitor)."""
    unscraped = {
        "exp_labels": MONITOR_DOWN_LABELS,
        "exp_annotations": {
            "summary": "The drift monitor does not answer Prometheus: no drift or staleness "
            "alert can fire",
            "description": MONITOR_DOWN_DESCRIPTION,
            "dashboard_url": "http://localhost:3000/d/data-drift",
        },
    }
    promtool_test(
        exported / "rules.yml",
        series=[{"series": 'up{job="node",instance="host:9100"}', "values": "1x24"}],
        tests=[{"eval_time": "1m", "alertname": "DriftMonitorDown", "exp_alerts": [unscraped]}],
    )


# --- any rule of the reduce/threshold shape ----------------------------------------------------

FOLDER = Folder("f", "F")


def last_of(expr: str, **query: Any) -> dict[str, Query | Reduce]:
    return {"q": Query(expr, "prom", **query), "value": Reduce("q")}


def written(tmp_path: Path, *rules: Rule) -> Path:
    group = RuleGroup(folder=FOLDER, name="g", interval="10s", rules=list(rules))
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump(rule_file([group], Stack("t"))))
    return path


# Grafana's threshold predicates (pkg/expr/threshold.go) on x = 0.5, 1, 2, 3.
COMPARISONS = [
    ("above", ">", 2, ["3"]),
    ("below", "<", 2, ["0.5", "1"]),
    ("at-least", ">=", 2, ["2", "3"]),
    ("at-most", "<=", 2, ["0.5", "1", "2"]),
    ("equal", "==", 2, ["2"]),
    ("not-equal", "!=", 2, ["0.5", "1", "3"]),
    ("within", "within", (1, 2.5), ["2"]),  # exclusive: 1 is not within (1, 2.5)
    ("outside", "outside", (1, 2.5), ["0.5", "3"]),
]


def test_every_comparison_fires_for_the_series_grafanas_threshold_would(tmp_path: Path) -> None:
    rules = [
        Rule(uid=uid, title=uid, steps={**last_of("x"), "c": Threshold("value", operator, value)},
             no_data="OK")
        for uid, operator, value, _ in COMPARISONS
    ]  # fmt: skip
    path = written(tmp_path, *rules)
    names_ = [r["alert"] for r in yaml.safe_load(path.read_text())["groups"][0]["rules"]]
    assert names_ == ["Above", "Below", "AtLeast", "AtMost", "Equal", "NotEqual", "Within",
                      "Outside"]  # fmt: skip
    promtool_test(
        path,
        series=[{"series": f'x{{v="{v}"}}', "values": v} for v in ("0.5", "1", "2", "3")],
        tests=[
            {
                "eval_time": "0m",
                "alertname": name,
                "exp_alerts": [{"exp_labels": {"v": v, "managed_by": "t"}} for v in firing],
            }
            for name, (_, _, _, firing) in zip(names_, COMPARISONS, strict=True)
        ],
    )


def test_values_of_other_steps_are_those_of_the_series_that_agree_with_the_alerts_labels(
    tmp_path: Path,
) -> None:
    """Grafana's $values holds each step's value for the alert's labels; a step with fewer
    labels (a limit per team) agrees with every alert of its team."""
    rule = Rule(
        uid="load-high",
        title="Load high",
        steps={
            **last_of("load"),
            "limit_q": Query("limit", "prom"),
            "limit": Reduce("limit_q"),
            "c": Threshold("value", ">", 0),
        },
        annotations={
            "load": '{{ printf "%.1f" $values.value.Value }}',
            "limit": "{{ with $values.limit }}{{ .Value }}{{ end }}",
            "headroom": "{{ $values.limit.Value }} for {{ $labels.host }}",
        },
        no_data="OK",
    )

    def alert(team: str, host: str, load: str, limit: str) -> dict:
        return {
            "exp_labels": {"team": team, "host": host, "managed_by": "t"},
            "exp_annotations": {"load": load, "limit": limit, "headroom": f"{limit} for {host}"},
        }

    promtool_test(
        written(tmp_path, rule),
        series=[
            {"series": 'load{team="a",host="h1"}', "values": "3"},
            {"series": 'load{team="b",host="h2"}', "values": "4"},
            {"series": 'limit{team="a"}', "values": "5"},
            {"series": 'limit{team="b"}', "values": "6"},
            {"series": 'limit{team="c"}', "values": "7"},
        ],
        tests=[
            {
                "eval_time": "0m",
                "alertname": "LoadHigh",
                "exp_alerts": [alert("a", "h1", "3.0", "5"), alert("b", "h2", "4.0", "6")],
            }
        ],
    )


@pytest.mark.parametrize(
    ("steps", "annotations", "reason"),
    [
        (
            {**last_of("x"), "m": Math("$value * 2"), "c": Threshold("m", ">", 1)},
            {},
            "rule r has no Prometheus equivalent: step m is a math, not a reduce",
        ),
        (
            {"q": Query("x", "prom", instant=False), "value": Reduce("q", "mean"),
             "c": Threshold("value", ">", 1)},
            {},
            "rule r has no Prometheus equivalent: step value reduces by mean (strict)",
        ),
        (
            {"q": Query("x", "prom"), "value": Reduce("q", mode="dropNN"),
             "c": Threshold("value", ">", 1)},
            {},
            "step value reduces by last (dropNN)",
        ),
        (
            {**last_of("rate(x[$__rate_interval])"), "c": Threshold("value", ">", 1)},
            {},
            "query q uses Grafana's variables: rate(x[$__rate_interval])",
        ),
        (last_of("x"), {}, "its condition value is not a threshold"),
        (
            {**last_of("x"), "a": Threshold("value", ">", 1), "b": Threshold("value", "<", 3),
             "c": Math("$a || $b")},
            {},
            "its condition c is math other than $a && $b",
        ),
        (
            {**last_of("x"), "c": Threshold("value", ">", 1)},
            {"summary": "{{ $values.c.Value }}"},
            "rule r: annotation summary: $values.c has no Prometheus equivalent: step c is a "
            "threshold, not a reduce",
        ),
        (
            {**last_of("x"), "c": Threshold("value", ">", 1)},
            {"summary": "{{ $value }}"},
            "rule r: annotation summary: Grafana's $value (every value as text) has no "
            "Prometheus equivalent",
        ),
        (
            {**last_of("x"), "c": Threshold("value", ">", 1)},
            {"summary": '{{ index $values "value" }}'},
            "rule r: annotation summary: $values is read other than as $values.<step>",
        ),
    ],
)  # fmt: skip
def test_a_rule_of_another_shape_is_refused_saying_why(
    tmp_path: Path, steps: dict, annotations: dict, reason: str
) -> None:
    rule = Rule(uid="r", title="r", steps=steps, annotations=annotations)
    with pytest.raises(ExportError) as refused:
        written(tmp_path, rule)
    assert reason in str(refused.value) and "\n" not in str(refused.value)


def test_a_refused_rule_is_one_line_and_nothing_is_written(tmp_path: Path) -> None:
    module = """
from provisioning.model import Folder, Math, Query, Reduce, Rule, RuleGroup, Threshold

def define(values):
    steps = {"q": Query("x", "drift-prometheus"), "r": Reduce("q"), "m": Math("$r * 2"),
             "c": Threshold("m", ">", 1)}
    rule = Rule(uid="doubled", title="Doubled", steps=steps)
    return [RuleGroup(folder=Folder("drift", "Data drift"), name="doubled", rules=[rule])]
"""
    definitions = definitions_with_ops(tmp_path / "definitions", module)
    run = export(tmp_path / "out", "--definitions", str(definitions))
    assert "rule doubled has no Prometheus equivalent: step m is a math" in error_line(run)
    assert not (tmp_path / "out").exists()


# --- several contact points, nested routes, mute timings ---------------------------------------


def test_every_contact_point_route_and_mute_timing_reaches_alertmanager(tmp_path: Path) -> None:
    definitions = definitions_with_ops(tmp_path / "definitions")
    out = tmp_path / "out"
    run = export(out, "--definitions", str(definitions), **SECRETS)
    assert run.returncode == 0, run.stderr
    config_file = out / "alertmanager.yml"
    check = tool(AMTOOL, "check-config", str(config_file))
    assert check.returncode == 0, check.stdout + check.stderr

    ops = {"team": "ops", "managed_by": "drift"}
    assert routed_to(config_file, ops) == "Ops Slack,Ops hook"  # the first route continues
    assert routed_to(config_file, ops | {"severity": "page"}) == "Ops Slack,Telegram"
    config = yaml.safe_load(config_file.read_text())
    receivers = {r["name"]: r for r in config["receivers"]}
    [slack] = receivers["Ops Slack"]["slack_configs"]
    assert slack == {"api_url": SLACK_URL, "text": '{{ template "slack.default.text" . }} costs $5',
                     "send_resolved": True}  # fmt: skip
    [hook] = receivers["Ops hook"]["webhook_configs"]
    basic_auth = {"username": "ops", "password": HOOK_PASSWORD}
    assert hook == {"url": "http://hooks.example/alert", "send_resolved": True,
                    "http_config": {"basic_auth": basic_auth}}  # fmt: skip
    [nights] = config["time_intervals"]
    assert nights["time_intervals"] == [{"times": [{"start_time": "22:00", "end_time": "24:00"}]}]
    slack_route = config["route"]["routes"][0]["routes"][3]
    assert (slack_route["mute_time_intervals"], slack_route["continue"]) == ([nights["name"]], True)
    assert stat.S_IMODE(config_file.stat().st_mode) == 0o600  # it holds their secrets

    # The ops rule, from its own group, fires with the annotation Grafana's would show.
    groups = {g["name"]: g for g in yaml.safe_load((out / "rules.yml").read_text())["groups"]}
    [rule] = groups["ops"]["rules"]
    assert (rule["alert"], groups["ops"]["interval"]) == ("OpsQueueDepth", "60s")
    promtool_test(
        out / "rules.yml",
        series=[{"series": 'queue_depth{queue="orders"}', "values": "150x12"}],
        tests=[{"eval_time": "1m", "alertname": "OpsQueueDepth", "exp_alerts": [{
            "exp_labels": {"queue": "orders", "team": "ops", "cost": "$5", "managed_by": "drift"},
            "exp_annotations": {"summary": "Queue orders holds 150"}}]}],
    )  # fmt: skip


def test_the_secrets_alertmanager_needs_are_named_when_unset(tmp_path: Path) -> None:
    definitions = definitions_with_ops(tmp_path / "definitions")
    run = export(tmp_path / "out", "--definitions", str(definitions))
    assert "OPS_HOOK_PASSWORD, OPS_SLACK_URL not set" in error_line(run)
    assert not (tmp_path / "out").exists()


EMAIL = """
from provisioning.model import ContactPoint, Email, Route

def define(values):
    mail = ContactPoint("Mail", [Email(addresses=["a@example.org", "b@example.org"],
                                       subject="Drift")])
    return [mail, Route(receiver=mail, matchers={"team": "mail"})]
"""


def test_email_goes_through_the_smtp_server_grafana_is_given(tmp_path: Path) -> None:
    definitions = definitions_with_ops(tmp_path / "definitions", EMAIL)
    run = export(tmp_path / "out", "--definitions", str(definitions))
    assert "GF_SMTP_HOST, GF_SMTP_FROM_ADDRESS not set" in error_line(run)

    smtp = {"GF_SMTP_HOST": "smtp.example.org:587", "GF_SMTP_FROM_ADDRESS": "drift@example.org"}
    run = export(tmp_path / "out", "--definitions", str(definitions), **smtp)
    assert run.returncode == 0, run.stderr
    config_file = tmp_path / "out" / "alertmanager.yml"
    check = tool(AMTOOL, "check-config", str(config_file))
    assert check.returncode == 0, check.stdout + check.stderr
    config = yaml.safe_load(config_file.read_text())
    assert config["global"] == {"smtp_smarthost": "smtp.example.org:587",
                                "smtp_from": "drift@example.org"}  # fmt: skip
    mail = next(r for r in config["receivers"] if r["name"] == "Mail")["email_configs"]
    # Grafana sends one email per address unless singleEmail.
    assert [(m["to"], m["headers"]["Subject"]) for m in mail] == [
        ("a@example.org", "Drift"), ("b@example.org", "Drift")]  # fmt: skip
    assert routed_to(config_file, {"team": "mail", "managed_by": "drift"}) == "Mail"
