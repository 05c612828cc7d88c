"""What a user meets following the README on a fresh clone: make's set-up steps (run through
stand-ins for apt-get and Python that only record their calls), what is missing without the
reference folder shared/ next to the clone, and one-line errors on a wrong call."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

MAKE = "/usr/bin/make"


def stand_in(folder: Path, name: str, log: Path, fails_on: str = "") -> None:
    """An executable ``name`` that appends its call to ``log`` and exits 1 when called with
    exactly ``fails_on`` (``*`` for any call), else 0."""
    script = folder / name
    fails = {"": "", "*": "exit 1\n"}.get(fails_on, f'[ "$*" = "{fails_on}" ] && exit 1\n')
    script.write_text(f'#!/bin/sh\necho "{name} $*" >> "{log}"\n{fails}exit 0\n')
    script.chmod(0o755)


def make(*args: str, path: Path) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS")}
    return subprocess.run(
        [MAKE, "--no-print-directory", "-C", str(ROOT), *args],
        env=environ | {"PATH": str(path)}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


@pytest.mark.parametrize("has_ensurepip", [False, True])
def test_make_installs_pythons_venv_package_only_when_ensurepip_is_missing(
    tmp_path: Path, has_ensurepip: bool
) -> None:
    """Debian's python3.11 makes no venv without python3.11-venv (it holds ensurepip)."""
    bin_, log, venv = tmp_path / "bin", tmp_path / "calls", tmp_path / "venv"
    bin_.mkdir()
    stand_in(bin_, "apt-get", log)
    # The stand-in Python fails at `-m venv` (after the step under test), which stops make.
    stand_in(bin_, "python3.11", log, "*" if not has_ensurepip else f"-m venv {venv}")
    run = make(f"VENV={venv}", f"{venv}/.installed", path=Path(f"{bin_}:/usr/bin:/bin"))
    assert run.returncode != 0  # the stand-in made no venv
    apt = (
        ["apt-get update -qq", "apt-get install -y -qq --no-install-recommends python3.11-venv"]
        if not has_ensurepip
        else []
    )
    assert log.read_text().splitlines() == [
        "python3.11 -m ensurepip --version",
        *apt,
        f"python3.11 -m venv {venv}",
    ]


def test_make_run_installs_prometheus_and_passes_run_args(tmp_path: Path) -> None:
    bin_, log, venv = tmp_path / "bin", tmp_path / "calls", tmp_path / "venv"
    bin_.mkdir()
    (venv / "bin").mkdir(parents=True)
    (venv / ".installed").touch()  # newer than the requirements: the venv is up to date
    stand_in(bin_, "apt-get", log)
    stand_in(venv / "bin", "python", log)
    # PATH holds the stand-in apt-get only, so no `prometheus` is found.
    run = make(f"VENV={venv}", "run", "RUN_ARGS=--prometheus-port 9191", path=bin_)
    assert run.returncode == 0, run.stdout + run.stderr
    assert log.read_text().splitlines() == [
        "apt-get update -qq",
        "apt-get install -y -qq --no-install-recommends prometheus",
        "python scripts/run_local.py --prometheus-port 9191",
    ]


def pytest_run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args],
        cwd=ROOT, env=os.environ | env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_without_grafanas_spec_the_suite_stops_with_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "api-merged.json"
    run = pytest_run("-x", "tests/test_fake_grafana.py", FAKE_GRAFANA_SPEC=str(missing))
    assert run.returncode == pytest.ExitCode.USAGE_ERROR, run.stdout + run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("ERROR")]
    assert errors == [
        f"ERROR: Grafana's OpenAPI spec is missing: {missing}. The fake Grafana's tests need the"
        " reference folder shared/ next to the clone (../shared/reference/grafana) or"
        " FAKE_GRAFANA_SPEC naming the spec (Grafana 11.4's public/api-merged.json, branch"
        " release-11.4.0 of grafana/grafana); see README.md, Tests"
    ]
    assert "FileNotFoundError" not in run.stdout + run.stderr


def test_tests_without_the_fake_grafana_run_without_its_spec(tmp_path: Path) -> None:
    missing = str(tmp_path / "api-merged.json")
    run = pytest_run("--collect-only", "tests/test_stats.py", FAKE_GRAFANA_SPEC=missing)
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.parametrize(
    ("command", "way_out"),
    [
        ([str(ROOT / "data" / "make_batches.py")], "pass the file's path"),
        (["-m", "bench.quality", "--output", "table", "--source"], "pass --source"),
    ],
)
def test_a_missing_source_table_is_one_line_saying_where_it_comes_from(
    tmp_path: Path, command: list[str], way_out: str
) -> None:
    missing = tmp_path / "bike_sharing_hourly.csv"
    run = subprocess.run(
        [sys.executable, *command, str(missing)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 1
    assert run.stdout == ""
    assert run.stderr == (
        f"error: no source table at {missing}: the UCI Bike Sharing hourly table (data/README.md"
        f" says where it comes from); put shared/ next to the clone or {way_out}\n"
    )


def provision(*args: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("GRAFANA_", "TELEGRAM_"))}
    return subprocess.run(
        [sys.executable, str(ROOT / "provision.py"), *args],
        cwd=ROOT, env=environ, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_apply_refuses_a_negative_wait() -> None:
    run = provision("apply", "--wait", "-1")
    assert run.returncode == 2  # click's usage error, before any secret or Grafana is asked
    assert "Invalid value for '--wait'" in run.stderr


def test_test_notification_says_which_name_it_did_not_find() -> None:
    run = provision("test-notification", "Nope")
    assert run.returncode == 1
    # alerting/notifications.py defines one contact point, named as in the course.
    assert run.stderr == "Error: no contact point 'Nope'; name one of: Telegram\n"
