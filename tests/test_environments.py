"""Environments: one set of definitions, several targets, through the overlays in
environments/ merged over grafana.yaml (`--env NAME` before or after the subcommand, or
PROVISION_ENV). The expected values are read from the overlay files themselves."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import ROOT
from fake_grafana import FakeGrafana
from provision_cli import applied, error_line, provision

ENVIRONMENTS = ROOT / "environments"
# Two that share one Grafana organisation below: both locked (dev is editable in the UI, and
# an organisation's policy tree is locked or editable as a whole).
SHARED = ("staging", "prod")


def overlay(name: str) -> dict[str, Any]:
    return yaml.safe_load((ENVIRONMENTS / f"{name}.yaml").read_text())


def bundled() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "grafana.yaml").read_text())


def setting(name: str, *keys: str) -> Any:
    """The setting at ``keys`` as environment ``name``'s overlay sets it, else grafana.yaml."""
    for layer in (overlay(name), bundled()):
        value: Any = layer
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        if value is not None:
            return value
    raise KeyError(keys)


def provenances(fake: FakeGrafana) -> dict[str, set[str]]:
    """Folder uid -> the provenances of the rules in it."""
    return {
        folder: {rule["provenance"] for rule in group["rules"]}
        for (folder, _), group in fake.state.rule_groups.items()
    }


def test_the_examples_are_dev_staging_and_prod() -> None:
    assert sorted(p.name for p in ENVIRONMENTS.iterdir()) == [
        "dev.yaml",
        "prod.yaml",
        "staging.yaml",
    ]


def test_two_environments_share_one_grafana(fake: FakeGrafana) -> None:
    first = applied(fake, "--env", SHARED[0])  # after the subcommand
    second = provision(fake, "--env", SHARED[1], "apply")  # before it
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"Apply complete (environment {SHARED[0]}): " in first.stdout
    assert f"Apply complete (environment {SHARED[1]}): " in second.stdout

    state = fake.state
    assert len({setting(name, "stack") for name in SHARED}) == 2
    chats = {
        cp["name"]: cp["settings"]["chatid"]
        for cp in state.contact_points.values()
        if cp["type"] == "telegram"
    }
    folders = [setting(name, "values", "folder", "uid") for name in SHARED]
    assert len(set(folders)) == 2 and provenances(fake) == {f: {"api"} for f in folders}
    for name, folder in zip(SHARED, folders, strict=True):
        assert state.folders[folder]["title"] == setting(name, "values", "folder", "title")
        board = setting(name, "values", "dashboard", "uid")
        assert state.dashboards[board]["folderUid"] == folder
        contact_point = setting(name, "values", "telegram", "contact_point")
        assert chats[contact_point] == setting(name, "values", "telegram", "chat_id")

    # Neither undoes the other: each plans no change, and says which environment it planned.
    for name in SHARED:
        run = provision(fake, "plan", PROVISION_ENV=name)
        assert run.returncode == 0, run.stdout + run.stderr
        header = rf"Grafana [\d.]+, environment {name}, stack {setting(name, 'stack')}, org 1:"
        assert re.fullmatch(header, run.stdout.splitlines()[0]), run.stdout


def test_each_plan_output_names_its_environment(fake: FakeGrafana) -> None:
    stack = overlay("dev")["stack"]
    markdown = provision(fake, "plan", "--env", "dev", "--output", "markdown")
    assert markdown.returncode == 2, markdown.stderr
    first = markdown.stdout.splitlines()[0]
    assert first.startswith(f"### Grafana plan: environment `dev`, stack `{stack}`, Grafana ")
    as_json = provision(fake, "plan", "--env", "dev", "--output", "json")
    assert as_json.returncode == 2, as_json.stderr
    assert json.loads(as_json.stdout)["environment"] == "dev"
    without = provision(fake, "plan", "--output", "json")
    assert json.loads(without.stdout)["environment"] is None

    applied(fake, "--env", "dev")
    assert overlay("dev")["grafana"]["ui_editable"] is True  # its rules editable in the UI
    assert provenances(fake) == {overlay("dev")["values"]["folder"]["uid"]: {""}}
    destroyed = provision(fake, "destroy", "--env", "dev", "--output", "json")
    assert destroyed.returncode == 0, destroyed.stderr
    assert json.loads(destroyed.stdout)["environment"] == "dev"
    assert fake.state.dashboards == {}


@pytest.mark.parametrize("name", ["qa", "../grafana", "dev.yaml"])
def test_an_unknown_environment_is_one_line_naming_the_known_ones(name: str) -> None:
    known = ", ".join(sorted(p.stem for p in ENVIRONMENTS.glob("*.yaml")))
    for run in (
        provision(None, "validate", "--env", name),
        provision(None, "plan", PROVISION_ENV=name),
    ):
        line = error_line(run)
        assert f"unknown environment {name!r}" in line and known in line


def test_the_layers_grafana_yaml_environment_config_then_variables(tmp_path: Path) -> None:
    """Each layer changes only what it names: read back through an export (offline)."""

    def exported(*args: str, before: tuple[str, ...] = (), **env: str) -> dict[str, Any]:
        out = tmp_path / f"out{len(list(tmp_path.iterdir()))}"
        run = provision(None, *before, "export", str(out), *args, **env)
        assert run.returncode == 0, run.stderr
        [board] = out.glob("dashboards/*/*/*.json")
        return json.loads(board.read_text())

    dev = overlay("dev")["values"]
    assert exported()["title"] == bundled()["values"]["dashboard"]["title"]
    board = exported("--env", "dev")
    assert (board["title"], board["refresh"]) == (
        dev["dashboard"]["title"],
        bundled()["values"]["dashboard"]["refresh"],  # dev.yaml does not set it
    )
    config = tmp_path / "mine.yaml"
    config.write_text(yaml.safe_dump({"values": {"dashboard": {"title": "Mine"}}}))
    board = exported("--env", "dev", "--config", str(config))
    assert (board["title"], board["uid"]) == ("Mine", dev["dashboard"]["uid"])
    variable = {"PROVISION__VALUES__DASHBOARD__TITLE": "From a variable"}
    assert exported("--config", str(config), PROVISION_ENV="dev", **variable)["title"] == (
        "From a variable"
    )
    # An explicit --env wins over PROVISION_ENV, after the subcommand over before it.
    staging = overlay("staging")["values"]["dashboard"]["uid"]
    assert exported(before=("--env", "staging"), PROVISION_ENV="dev")["uid"] == staging
    after = exported("--env", "dev", before=("--env", "staging"), PROVISION_ENV="staging")
    assert after["uid"] == dev["dashboard"]["uid"]


@pytest.mark.parametrize("subcommand", ["validate", "plan", "apply", "destroy", "export"])
def test_each_subcommand_takes_env(subcommand: str) -> None:
    run = provision(None, subcommand, "--help")
    assert run.returncode == 0, run.stderr
    assert "--env NAME" in run.stdout and "PROVISION_ENV" in run.stdout


def test_the_help_says_the_order_of_the_layers() -> None:
    top = " ".join(provision(None, "--help").stdout.split())
    layers = "grafana.yaml, environments/NAME.yaml (--env NAME or PROVISION_ENV), --config FILE, "
    assert layers + "then PROVISION__A__B" in top
