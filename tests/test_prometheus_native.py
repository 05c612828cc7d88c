"""`provision.py export --target prometheus`: the same alerts as Prometheus rules and an
Alertmanager configuration, checked with the real promtool and amtool."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import names
from conftest import ROOT
from provisioning.resources import RuleGroup
from provisioning.settings import load_secrets, load_settings
from provisioning.stack import build_stack

PROMTOOL, AMTOOL = Path("/usr/bin/promtool"), Path("/usr/bin/amtool")
TOKEN = "123456:fake-test-token"
ENV = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_CHAT_ID": "-1001234567890"}


def export(directory: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PROVISION__")}
    return subprocess.run(
        [sys.executable, str(ROOT / "provision.py"), "export", "--target", "prometheus",
         str(directory), *args],
        env=environ | ENV | env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def tool(binary: Path, *args: str) -> subprocess.CompletedProcess[str]:
    if not binary.exists():
        pytest.skip(f"{binary} not installed (make system-packages installs it)")
    return subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=60)


@pytest.fixture
def exported(tmp_path: Path) -> Path:
    run = export(tmp_path)
    assert run.returncode == 0, run.stderr
    assert TOKEN not in run.stdout + run.stderr
    return tmp_path


def test_promtool_and_amtool_accept_the_files(exported: Path) -> None:
    assert sorted(p.name for p in exported.iterdir()) == [
        "alertmanager.yml",
        "rules.yml",
        "telegram.tmpl",
    ]
    rules = tool(PROMTOOL, "check", "rules", str(exported / "rules.yml"))
    assert rules.returncode == 0, rules.stdout + rules.stderr
    config = tool(AMTOOL, "check-config", str(exported / "alertmanager.yml"))
    assert config.returncode == 0, config.stdout + config.stderr


def test_the_rules_are_the_grafana_rules(exported: Path) -> None:
    environ = ENV
    grafana = next(
        r for r in build_stack(load_settings(environ={}), load_secrets(environ))
        if isinstance(r, RuleGroup)
    ).body  # fmt: skip
    [group] = yaml.safe_load((exported / "rules.yml").read_text())["groups"]
    assert (group["name"], group["interval"]) == (grafana["title"], f"{grafana['interval']}s")
    for prometheus, rule in zip(group["rules"], grafana["rules"], strict=True):
        # Grafana thresholds the sign of left - right; Prometheus compares left with right.
        models = {query["refId"]: query["model"] for query in rule["data"]}
        threshold = models[rule["condition"]]
        difference = models[models[threshold["expression"]]["expression"]]["expr"]
        left, _, right = difference.rpartition(" - ")
        # Against the value its dataset published, or (the monitor's up) a constant.
        assert right.startswith("on(dataset) group_left() ") or right == "1"
        evaluator = threshold["conditions"][0]["evaluator"]
        assert evaluator["params"] == [0] and left and right
        operator = {"lt": "<", "gt": ">"}[evaluator["type"]]
        assert prometheus["expr"] == f"{left} {operator} {right}"
        assert prometheus["for"] == rule["for"]
        assert prometheus["labels"] == rule["labels"]
        assert set(prometheus["annotations"]) == {k for k in rule["annotations"] if "__" not in k}


def test_the_alertmanager_route_sends_drift_to_telegram_and_nothing_else(exported: Path) -> None:
    config = str(exported / "alertmanager.yml")
    to_telegram = tool(AMTOOL, "config", "routes", "test", f"--config.file={config}",
                       "--verify.receivers=Telegram", f"{names.ALERT_LABEL}=true")  # fmt: skip
    assert to_telegram.returncode == 0, to_telegram.stdout
    stale = tool(AMTOOL, "config", "routes", "test", f"--config.file={config}",
                 "--verify.receivers=Telegram", f"{names.STALE_LABEL}=true")  # fmt: skip
    assert stale.returncode == 0, stale.stdout
    down = tool(AMTOOL, "config", "routes", "test", f"--config.file={config}",
                "--verify.receivers=Telegram", f"{names.MONITOR_DOWN_LABEL}=true")  # fmt: skip
    assert down.returncode == 0, down.stdout
    other = tool(AMTOOL, "config", "routes", "test", f"--config.file={config}",
                 "--verify.receivers=null", "alertname=SomethingElse")  # fmt: skip
    assert other.returncode == 0, other.stdout
    telegram = yaml.safe_load(Path(config).read_text())["receivers"][1]["telegram_configs"][0]
    assert telegram["chat_id"] == -1001234567890  # an integer, or Alertmanager refuses it
    assert telegram["api_url"] == "https://api.telegram.org"


def test_the_telegram_api_url_can_be_changed(tmp_path: Path) -> None:
    assert export(tmp_path, "--telegram-api-url", "http://127.0.0.1:8443").returncode == 0
    config = yaml.safe_load((tmp_path / "alertmanager.yml").read_text())
    assert config["receivers"][1]["telegram_configs"][0]["api_url"] == "http://127.0.0.1:8443"


def test_a_chat_id_that_is_not_a_number_is_one_error_line(tmp_path: Path) -> None:
    run = export(tmp_path, TELEGRAM_CHAT_ID="@channel")
    assert run.returncode == 1
    assert "whole-number TELEGRAM_CHAT_ID" in run.stderr and "Traceback" not in run.stderr


def promtool_test(exported: Path, tests: list[dict], series: list[dict]) -> None:
    unit = {
        "rule_files": [str(exported / "rules.yml")],
        "evaluation_interval": "10s",
        "tests": [{"interval": "10s", "input_series": series, "alert_rule_test": tests}],
    }
    path = exported / "rules_test.yml"
    path.write_text(yaml.safe_dump(unit))
    run = tool(PROMTOOL, "test", "rules", str(path))
    assert run.returncode == 0, run.stdout + run.stderr


def drift_alert(dataset: str, feature: str, p_value: str, effect_size: str) -> dict:
    return {
        "exp_labels": {"dataset": dataset, "feature": feature, names.ALERT_LABEL: "true"},
        "exp_annotations": {
            "summary": f"Drift in {dataset} / {feature}",
            "description": "The adjusted p-value of the feature is below the alpha of its run "
            "(set in the drift config).",
            "p_value": p_value,
            "effect_size": effect_size,
            "dashboard_url": f"http://localhost:3000/d/data-drift?var-dataset={dataset}",
        },
    }


def test_the_drift_rule_compares_each_feature_with_its_own_datasets_alpha(exported: Path) -> None:
    def p_value(dataset: str, feature: str, value: str) -> dict:
        labels = f'dataset="{dataset}",feature="{feature}"'
        return {"series": f"{names.P_VALUE_ADJUSTED}{{{labels}}}", "values": f"{value}x12"}

    def effect_size(dataset: str, feature: str, value: str) -> dict:
        labels = f'dataset="{dataset}",feature="{feature}"'
        return {"series": f"{names.EFFECT_SIZE}{{{labels}}}", "values": f"{value}x12"}

    promtool_test(
        exported,
        series=[
            # bikes ran with alpha 0.05, shop with 0.01 (each run publishes its own).
            {"series": f'{names.DATASET_ALPHA}{{dataset="bikes"}}', "values": "0.05x12"},
            {"series": f'{names.DATASET_ALPHA}{{dataset="shop"}}', "values": "0.01x12"},
            p_value("bikes", "temp", "0.03"),  # below 0.05: drift
            p_value("bikes", "hum", "0.5"),
            p_value("bikes", "wind", "0.05"),  # equal to alpha: no drift, as in the engine
            p_value("shop", "price", "0.03"),  # the same p-value, above 0.01: no drift
            p_value("shop", "qty", "0.001"),
            effect_size("bikes", "temp", "0.3"),
            effect_size("shop", "qty", "0.25"),
        ],
        tests=[
            {
                "eval_time": "1m",
                "alertname": "DataDriftDetected",
                "exp_alerts": [
                    drift_alert("bikes", "temp", "0.03", "0.3"),
                    drift_alert("shop", "qty", "0.001", "0.25"),
                ],
            },
        ],
    )


def stale_alert(dataset: str, since: str) -> dict:
    return {
        "exp_labels": {"dataset": dataset, names.STALE_LABEL: "true"},
        "exp_annotations": {
            "summary": f"No drift run for {dataset} in {since}, longer than its schedule allows",
            "dashboard_url": f"http://localhost:3000/d/data-drift?var-dataset={dataset}",
        },
    }


def test_only_a_scheduled_dataset_past_its_published_limit_is_stale(exported: Path) -> None:
    def series(metric: str, dataset: str, values: str) -> dict:
        return {"series": f'{metric}{{dataset="{dataset}"}}', "values": values}

    promtool_test(
        exported,
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
        exported,
        series=[{"series": 'up{job="drift-monitor"}', "values": "1x100"}],  # the monitor, empty
        tests=[
            {"eval_time": "15m", "alertname": "DataDriftDetected", "exp_alerts": []},
            {"eval_time": "15m", "alertname": "DriftRunStale", "exp_alerts": []},
            {"eval_time": "15m", "alertname": "DriftMonitorDown", "exp_alerts": []},
        ],
    )


def test_a_monitor_prometheus_cannot_scrape_pages_until_it_answers_again(exported: Path) -> None:
    monitor = {"job": "drift-monitor", "instance": "monitor:5445"}
    down = {
        "exp_labels": monitor | {names.MONITOR_DOWN_LABEL: "true"},
        "exp_annotations": {
            "summary": "The drift monitor at monitor:5445 does not answer Prometheus: no drift "
            "or staleness alert can fire",
            "description": "Prometheus's scrape of its job drift-monitor fails (the monitor "
            "stopped, unreachable, or /metrics failing). Without the monitor's series the drift "
            "and staleness rules see no data.",
            "dashboard_url": "http://localhost:3000/d/data-drift",
        },
    }
    promtool_test(
        exported,
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
