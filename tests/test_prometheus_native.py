"""`provision.py export --target prometheus`: the same alerts as Prometheus rules and an
Alertmanager configuration, checked with the real promtool and amtool."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT
from drift import names
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
        query = rule["data"][0]["model"]["expr"]
        threshold = rule["data"][2]["model"]["conditions"][0]["evaluator"]
        operator = {"lt": "<", "gt": ">"}[threshold["type"]]
        assert prometheus["expr"] == f"({query}) {operator} {threshold['params'][0]!r}"
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


def test_the_drift_rule_fires_per_drifted_feature_with_its_message(exported: Path) -> None:
    bikes = 'dataset="bikes"'
    promtool_test(
        exported,
        series=[
            {"series": f'{names.P_VALUE_ADJUSTED}{{{bikes},feature="temp"}}', "values": "0.01x12"},
            {"series": f'{names.P_VALUE_ADJUSTED}{{{bikes},feature="hum"}}', "values": "0.5x12"},
            {"series": f'{names.EFFECT_SIZE}{{{bikes},feature="temp"}}', "values": "0.3x12"},
            {"series": f"{names.LAST_RUN_TIMESTAMP}{{{bikes}}}", "values": "0x12"},
        ],
        tests=[
            {
                "eval_time": "1m",
                "alertname": "DataDriftDetected",
                "exp_alerts": [
                    {
                        "exp_labels": {
                            "dataset": "bikes",
                            "feature": "temp",
                            names.ALERT_LABEL: "true",
                        },
                        "exp_annotations": {
                            "summary": "Drift in bikes / temp",
                            "description": "The adjusted p-value of the feature is below 0.05.",
                            "p_value": "0.01",
                            "effect_size": "0.3",
                            "dashboard_url": "http://localhost:3000/d/data-drift?var-dataset=bikes",
                        },
                    }
                ],
            },
            # A run 1 minute ago is not stale (stale_after: 2h).
            {"eval_time": "1m", "alertname": "DriftRunStale", "exp_alerts": []},
        ],
    )


def test_the_staleness_rule_fires_when_no_run_came(tmp_path: Path) -> None:
    assert export(tmp_path, PROVISION__ALERTING__STALE_AFTER="30s").returncode == 0
    promtool_test(
        tmp_path,
        series=[{"series": f'{names.LAST_RUN_TIMESTAMP}{{dataset="bikes"}}', "values": "0x12"}],
        tests=[
            {
                "eval_time": "1m",
                "alertname": "DriftRunStale",
                "exp_alerts": [
                    {
                        "exp_labels": {"dataset": "bikes", names.STALE_LABEL: "true"},
                        "exp_annotations": {
                            "summary": "No drift run for bikes in 30s",
                            "dashboard_url": "http://localhost:3000/d/data-drift?var-dataset=bikes",
                        },
                    }
                ],
            }
        ],
    )
