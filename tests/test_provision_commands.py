"""provision.py's command line as a user types it: the settings options before or after the
subcommand, and where the preview looks for Prometheus."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, free_port, prometheus_queries
from fake_grafana import FakeGrafana
from provision_cli import error_line
from provision_cli import provision as run_provision

# Basic auth, since X-Grafana-Org-Id (--org-id) moves it between organisations and a
# service-account token stays in its own.
BASIC_AUTH = {"GRAFANA_USER": "admin", "GRAFANA_PASSWORD": "admin"}
SUBCOMMANDS = ["validate", "plan", "apply", "destroy", "export", "test-notification", "preview"]
SETTINGS_OPTIONS = ["--config", "--grafana-url", "--org-id"]


def provision(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """provision.py with no Grafana, Prometheus or settings taken from this environment."""
    return run_provision(None, *args, **BASIC_AUTH | env)


@pytest.fixture
def fake(request: pytest.FixtureRequest) -> Iterator[FakeGrafana]:
    """Two organisations, on each profile (conftest parametrizes ``fake``)."""
    with FakeGrafana(orgs=(1, 2), version=request.param) as server:
        yield server
    assert server.spec_violations == [] and server.internal_errors == []


# --- the settings options -------------------------------------------------------------------


@pytest.mark.parametrize("subcommand", SUBCOMMANDS)
def test_each_subcommand_takes_the_settings_options(subcommand: str) -> None:
    run = provision(subcommand, "--help")
    assert run.returncode == 0, run.stderr
    for option in SETTINGS_OPTIONS:
        assert option in run.stdout


def test_grafana_url_and_org_id_after_the_subcommand(fake: FakeGrafana) -> None:
    run = provision("apply", "--grafana-url", fake.url, "--org-id", "2")
    assert run.returncode == 0, run.stderr
    assert "data-drift" in fake.org_state(2).dashboards
    assert fake.org_state(1).dashboards == {}


def test_after_the_subcommand_wins_over_before_it(fake: FakeGrafana) -> None:
    provision("apply", "--grafana-url", fake.url, "--org-id", "2")
    nowhere = f"http://127.0.0.1:{free_port()}"
    run = provision(
        "--grafana-url", nowhere, "--org-id", "1",
        "plan", "--grafana-url", fake.url, "--org-id", "2", "--output", "json",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr  # org 2 is applied: nothing to change
    assert {c["action"] for c in json.loads(run.stdout)["changes"]} == {"unchanged"}
    # Given only before the subcommand, they still apply.
    before = provision("--grafana-url", fake.url, "--org-id", "2", "plan")
    assert before.returncode == 0, before.stderr


def test_validate_as_json_lists_the_problems_and_exits_as_the_text_does(tmp_path: Path) -> None:
    run = provision("validate", "--output", "json")
    assert run.returncode == 0, run.stderr
    document = json.loads(run.stdout)
    assert (document["valid"], document["problems"], document["warnings"]) == (True, [], [])
    assert document["modules"] == ["dashboards.drift", "alerting.notifications", "alerting.rules"]
    blank = tmp_path / "blank.yaml"
    blank.write_text(yaml.safe_dump({"values": {"folder": {"title": " "}}}))
    run = provision("validate", "--config", str(blank), "--output", "json")
    assert run.returncode == 1
    document = json.loads(run.stdout)
    assert document["valid"] is False
    assert document["problems"] == ["folder drift: its title is blank"]


def test_config_after_the_subcommand(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(yaml.safe_dump({"values": {"dashboard": {"title": "Mine"}}}))
    bad.write_text(yaml.safe_dump({"grafana": {"colour": "red"}}))
    assert "grafana.colour" in error_line(provision("validate", "--config", str(bad)))
    assert provision("--config", str(bad), "validate", "--config", str(good)).returncode == 0
    after = provision("--config", str(good), "validate", "--config", str(bad))
    assert "grafana.colour" in error_line(after)

    run = provision("export", str(tmp_path / "out"), "--config", str(good), "--org-id", "3")
    assert run.returncode == 0, run.stderr
    dashboard = json.loads((tmp_path / "out/dashboards/drift/drift/data-drift.json").read_text())
    datasources = yaml.safe_load((tmp_path / "out/datasources/drift.yaml").read_text())
    assert dashboard["title"] == "Mine"
    assert datasources["datasources"][0]["orgId"] == 3


def test_definitions_given_on_the_command_line_win_over_the_variable(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    where = {"PROVISION_DEFINITIONS": str(empty)}
    assert "no dashboards or alerting folder" in error_line(provision("validate", **where))
    given = ("--definitions", str(ROOT))
    for args in ((*given, "validate"), ("validate", *given)):
        run = provision(*args, **where)
        assert run.returncode == 0, run.stderr


# --- preview: where Prometheus is -------------------------------------------------------------


@pytest.fixture
def empty_prometheus() -> Iterator[str]:
    """Answers every instant query with no series, as a Prometheus without data does."""
    with prometheus_queries({}, refuse_unknown=False) as url:
        yield url


def test_preview_defaults_to_the_port_compose_publishes_on_the_host() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    [published] = compose["services"]["prometheus"]["ports"]  # "127.0.0.1:9090:9090"
    host_port = published.split(":")[-2]
    help_text = " ".join(provision("preview", "--help").stdout.split())
    assert f"default: http://localhost:{host_port}]" in help_text
    assert "PREVIEW_PROMETHEUS_URL" in help_text


def test_preview_takes_prometheus_from_the_environment(empty_prometheus: str) -> None:
    run = provision("preview", PREVIEW_PROMETHEUS_URL=empty_prometheus)
    assert run.returncode == 0, run.stderr
    assert f"No alert instance to evaluate: Prometheus at {empty_prometheus} has none" in (
        run.stdout
    )


def test_an_unreachable_prometheus_says_how_to_point_the_preview_at_it() -> None:
    from_env, from_option = (f"http://127.0.0.1:{free_port()}" for _ in range(2))
    line = error_line(provision("preview", PREVIEW_PROMETHEUS_URL=from_env))
    assert f"cannot reach Prometheus at {from_env}" in line
    assert "--prometheus-url" in line and "PREVIEW_PROMETHEUS_URL" in line
    run = provision("preview", "--prometheus-url", from_option, PREVIEW_PROMETHEUS_URL=from_env)
    assert f"cannot reach Prometheus at {from_option}" in error_line(run)
