"""The Makefile's first install (scripts/pip_install.py): says what it installs and how long
it takes, shows pip's progress in a few lines, keeps pip's whole output, and on failure shows
pip's error. Run offline with ``--dry-run`` against this virtualenv, which the pins satisfy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import ROOT

SCRIPT = ROOT / "scripts" / "pip_install.py"


def pip_install(log: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(log), "--dry-run", *args],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )  # fmt: skip


def test_make_installs_through_the_progress_script() -> None:
    commands = subprocess.run(
        ["make", "-n", "-B", "/nonexistent/venv/.installed", "VENV=/nonexistent/venv"],
        capture_output=True, text=True, cwd=ROOT, timeout=60, check=True,
    ).stdout  # fmt: skip
    assert "scripts/pip_install.py /nonexistent/venv/pip-install.log" in commands
    assert "-r requirements-dev.txt" in commands


def test_progress_in_a_few_lines_and_pips_whole_output_in_the_log(tmp_path: Path) -> None:
    log = tmp_path / "pip.log"
    run = pip_install(log, "-c", "constraints.txt", "-r", "requirements-dev.txt")
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith("==> pip install")
    assert "-r requirements-dev.txt" in lines[0] and "about 2 minutes" in lines[0]
    assert any(line.strip().startswith("packages resolved: ") for line in lines)
    assert lines[-1].strip().startswith("done in ") and str(log) in lines[-1]
    pips_lines = log.read_text().splitlines()
    satisfied = [line for line in pips_lines if line.startswith("Requirement already satisfied")]
    assert len(satisfied) > 100  # Airflow and its dependencies
    assert len(lines) <= 6  # not one line per package


def test_a_failed_install_shows_pips_error_and_its_status(tmp_path: Path) -> None:
    log = tmp_path / "pip.log"
    run = pip_install(log, "--no-index", "no-such-package-for-this-test==1.0")
    assert run.returncode == 1
    assert "ERROR: No matching distribution found for no-such-package-for-this-test" in run.stderr
    assert run.stderr.splitlines()[-1] == (
        f"error: pip install failed (exit 1); its whole output: {log}"
    )
    assert "no-such-package-for-this-test" in log.read_text()
