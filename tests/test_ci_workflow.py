"""The provisioning check teams drop into their CI: .github/workflows/provision.yml passes
actionlint (with shellcheck on its run: blocks), and its one entry point, scripts/provision-ci,
runs against the fake Grafana with its secrets and without them."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from fnmatch import fnmatch
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from conftest import ROOT
from fake_grafana import DEFAULT_TOKEN, FakeGrafana
from provision_cli import TOKEN

WORKFLOW = ROOT / ".github" / "workflows" / "provision.yml"
ENTRY_POINT = ROOT / "scripts" / "provision-ci"
ACTIONLINT = Path(sys.executable).with_name("actionlint")  # requirements-dev.txt
ENVIRONMENTS = sorted(path.stem for path in (ROOT / "environments").glob("*.yaml"))
REPOSITORY, PULL_REQUEST = "team/drift", "7"


def ci(*args: str, cwd: Path = ROOT, **env: str) -> subprocess.CompletedProcess[str]:
    """scripts/provision-ci as a CI runs it: none of this machine's Grafana, Telegram or
    provisioning variables, only ``env``."""
    environ = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PROVISION", "GRAFANA_", "TELEGRAM_", "GITHUB_", "GH_"))
    }
    run = subprocess.run(
        [str(ENTRY_POINT), *args],
        env=environ | env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
    )
    for secret in (TOKEN, DEFAULT_TOKEN):
        assert secret not in run.stdout + run.stderr
    assert "Traceback" not in run.stderr, run.stderr
    return run


def secrets(fake: FakeGrafana) -> dict[str, str]:
    """What the workflow's apply job sets from the repository's secrets."""
    return {"GRAFANA_URL": fake.url, "GRAFANA_TOKEN": DEFAULT_TOKEN, "TELEGRAM_BOT_TOKEN": TOKEN}


# --- the workflow ------------------------------------------------------------------------------


def actionlint(path: Path) -> subprocess.CompletedProcess[str]:
    assert shutil.which("shellcheck"), "shellcheck checks the run: blocks (make system-packages)"
    return subprocess.run(
        [str(ACTIONLINT), "-no-color", str(path)], capture_output=True, text=True, timeout=60
    )


def test_the_workflow_passes_actionlint() -> None:
    run = actionlint(WORKFLOW)
    assert run.returncode == 0, run.stdout + run.stderr


def test_actionlint_checks_the_shell_of_run_blocks(tmp_path: Path) -> None:
    """So the test above can fail: an unquoted variable in a copy is shellcheck's SC2086."""
    text = WORKFLOW.read_text()
    quoted = 'scripts/provision-ci apply "$ENVIRONMENT"'
    assert text.count(quoted) == 1
    broken = tmp_path / ".github" / "workflows" / "provision.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(text.replace(quoted, "scripts/provision-ci apply $ENVIRONMENT"))
    run = actionlint(broken)
    assert run.returncode == 1 and "SC2086" in run.stdout, run.stdout + run.stderr


def test_the_entry_point_passes_shellcheck() -> None:
    run = subprocess.run(["shellcheck", str(ENTRY_POINT)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout


def test_the_matrices_list_exactly_the_environments_defined() -> None:
    jobs = yaml.safe_load(WORKFLOW.read_text())["jobs"]
    for name in ("plan", "apply"):
        # Listed in the order apply goes through them (dev first), each once.
        assert sorted(jobs[name]["strategy"]["matrix"]["environment"]) == ENVIRONMENTS
        assert jobs[name]["environment"] == "${{ matrix.environment }}"


def started(event: str, ref: str, default_branch: str) -> set[str]:
    """The jobs of the workflow that an event on ``ref`` runs, in a repository whose default
    branch is ``default_branch``: the trigger's branch filters (globs), then each job's
    ``if:`` (these use only ==, &&, || and format() on the github context) and its needs."""
    workflow = yaml.safe_load(WORKFLOW.read_text())
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads the key `on` as True
    if event not in triggers:
        return set()
    filters = triggers[event] or {}
    branch = ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else None
    if event == "push" and ("branches" in filters or "branches-ignore" in filters):
        wanted = branch is not None and any(
            fnmatch(branch, p) for p in filters.get("branches", ["**"])
        )
        if not wanted or any(fnmatch(branch, p) for p in filters.get("branches-ignore", [])):
            return set()
    repository = SimpleNamespace(default_branch=default_branch)
    github = SimpleNamespace(
        event_name=event,
        ref=ref,
        ref_name=ref.rsplit("/", 1)[-1],
        event=SimpleNamespace(repository=repository),
    )
    context = {"github": github, "format": lambda text, *values: text.format(*values)}
    run: set[str] = set()
    # The conditions are this repository's own, read as Python once && and || are spelled out.
    for name, job in workflow["jobs"].items():  # needs come first in this workflow
        condition = str(job.get("if", "true")).replace("&&", " and ").replace("||", " or ")
        needs = job.get("needs") or []
        needs = [needs] if isinstance(needs, str) else needs
        if eval(condition, {"true": True}, context) and set(needs) <= run:
            run.add(name)
    return run


@pytest.mark.parametrize("default", ["main", "master", "trunk"])
def test_a_push_to_the_default_branch_applies_whatever_its_name(default: str) -> None:
    assert started("push", f"refs/heads/{default}", default) == {"check", "apply"}
    assert started("push", "refs/heads/feature", default) == set()
    assert started("push", f"refs/tags/{default}", default) == set()
    assert started("pull_request", "refs/pull/7/merge", default) == {"check", "plan"}


def test_the_readmes_gitlab_job_runs_the_entry_point_for_each_environment() -> None:
    readme = (ROOT / "README.md").read_text()
    found = re.search(r"\*\*GitLab CI\*\*.*?```yaml\n(.*?)```", readme, re.DOTALL)
    assert found, "README: the GitLab CI job"
    jobs = yaml.safe_load(found.group(1))
    for name in ("plan", "apply"):
        [matrix] = jobs[name]["parallel"]["matrix"]
        assert sorted(matrix["ENV"]) == ENVIRONMENTS
    for job in jobs.values():
        for line in job.get("before_script", []) + job.get("script", []):
            assert line.startswith("scripts/provision-ci "), line
    assert jobs["plan"]["allow_failure"] == {"exit_codes": [2]}  # changes are no failure


def test_every_step_runs_the_entry_point_and_the_plan_job_may_comment() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    assert workflow["permissions"] == {"contents": "read"}
    jobs = workflow["jobs"]
    assert jobs["plan"]["permissions"] == {"contents": "read", "pull-requests": "write"}
    for job in jobs.values():
        for step in job["steps"]:
            assert "uses" in step or step["run"].startswith("scripts/provision-ci "), step


# --- the entry point against the fake Grafana ---------------------------------------------------


def test_with_the_secrets_plan_apply_converge(fake: FakeGrafana, tmp_path: Path) -> None:
    plan_file = tmp_path / "plan.md"
    first = ci("plan", "dev", str(plan_file), **secrets(fake))
    assert first.returncode == 2, first.stdout + first.stderr  # changes, as provision.py plan
    lines = plan_file.read_text().splitlines()
    assert lines[0] == "<!-- provision-plan:dev -->"
    assert lines[1].startswith("### Grafana plan: environment `dev`, stack `drift-dev`, ")
    assert any(line.startswith("**Plan: ") and "0 unchanged" in line for line in lines)
    assert plan_file.read_text() in first.stdout  # also in the job's log

    applied = ci("apply", "dev", **secrets(fake))
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "Apply complete (environment dev): " in applied.stdout
    assert "drift-dev" in fake.state.folders

    second = ci("plan", "dev", str(plan_file), **secrets(fake))
    assert second.returncode == 0, second.stdout + second.stderr
    assert "**Plan: 0 to create, 0 to update, 0 to delete," in plan_file.read_text()


def test_the_plan_file_is_relative_to_where_it_runs(fake: FakeGrafana, tmp_path: Path) -> None:
    run = ci("plan", "prod", "plan.md", cwd=tmp_path, **secrets(fake))
    assert run.returncode == 2, run.stdout + run.stderr
    assert (tmp_path / "plan.md").read_text().startswith("<!-- provision-plan:prod -->\n")


@pytest.mark.parametrize("github", [True, False], ids=["github", "elsewhere"])
def test_without_the_secrets_each_step_is_skipped_visibly(
    fake: FakeGrafana, tmp_path: Path, github: bool
) -> None:
    """As on a fork's pull request: the secrets are empty strings there, not unset."""
    plan_file = tmp_path / "plan.md"
    empty = {"GRAFANA_URL": fake.url, "GRAFANA_TOKEN": "", "TELEGRAM_BOT_TOKEN": ""}
    if github:
        empty["GITHUB_ACTIONS"] = "true"
    prefix = "::notice title=provision-ci::" if github else "notice: "
    for args in (("plan", "dev", str(plan_file)), ("apply", "dev")):
        run = ci(*args, **empty)
        assert run.returncode == 0, run.stdout + run.stderr
        [line] = run.stdout.splitlines()
        assert line.startswith(f"{prefix}{args[0]} of dev skipped: no Grafana credential")
    assert not plan_file.exists()
    commented = ci("comment", str(plan_file), **empty)
    assert commented.returncode == 0 and "no plan to post" in commented.stdout
    assert fake.state.folders == {} and fake.state.dashboards == {}  # nothing written


def test_a_failed_plan_exits_1_and_its_comment_says_why(fake: FakeGrafana, tmp_path: Path) -> None:
    plan_file = tmp_path / "plan.md"
    run = ci("plan", "qa", str(plan_file), **secrets(fake))
    assert run.returncode == 1, run.stdout + run.stderr
    text = plan_file.read_text()
    assert text.startswith("<!-- provision-plan:qa -->\n### Grafana plan: environment `qa` failed")
    assert "unknown environment 'qa'" in text


def test_check_validates_every_environment_offline() -> None:
    run = ci("check")
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.count("valid: ") == 1 + len(ENVIRONMENTS)
    # Each line names what it validated.
    named = [line.split(": valid: ")[0] for line in run.stdout.splitlines()]
    assert named == ["grafana.yaml", *(f"environment {env}" for env in ENVIRONMENTS)]


def test_a_wrong_call_shows_the_usage() -> None:
    for args in ((), ("plan", "dev"), ("deploy",)):
        run = ci(*args)
        assert run.returncode == 1
        assert "scripts/provision-ci plan ENV FILE" in run.stderr


# --- the pull-request comment, through a stand-in for `gh api` ---------------------------------

FAKE_GH = r'''#!/usr/bin/env python3
"""`gh api` for the issue-comments endpoints, over a JSON file of comments."""
import json, os, sys
from pathlib import Path

state = Path(os.environ["FAKE_GH_STATE"])
comments = json.loads(state.read_text())
args = sys.argv[1:]
assert os.environ.get("GH_TOKEN"), "gh needs GH_TOKEN"
assert args[0] == "api", args
method = args[args.index("--method") + 1] if "--method" in args else "GET"
path = next(a for a in args[1:] if a.startswith("repos/"))
if method == "GET":
    assert path == "repos/team/drift/issues/7/comments" and "--paginate" in args, args
    assert args[args.index("--jq") + 1] == '.[] | [.id, (.body | split("\\n")[0])] | @tsv'
    def tsv(text):  # jq's @tsv escapes
        return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\r", "\\r")
    for c in comments:
        print(f"{c['id']}\t{tsv(c['body'].split(chr(10))[0])}")
    sys.exit(0)
[field] = [args[i + 1] for i, a in enumerate(args) if a == "-F"]
assert field.startswith("body=@"), field
body = Path(field[len("body=@"):]).read_text()
if method == "POST":
    assert path == "repos/team/drift/issues/7/comments", path
    comments.append({"id": 100 + len(comments), "body": body})
else:
    assert method == "PATCH" and path.startswith("repos/team/drift/issues/comments/"), args
    [comment] = [c for c in comments if str(c["id"]) == path.rsplit("/", 1)[1]]
    comment["body"] = body
state.write_text(json.dumps(comments))
print("{}")
'''


@pytest.fixture
def gh(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """The environment of the workflow's comment step, with the stand-in first on PATH; the
    file of comments it keeps (a reviewer's comment already there)."""
    bin_dir, state = tmp_path / "bin", tmp_path / "comments.json"
    bin_dir.mkdir()
    (bin_dir / "gh").write_text(FAKE_GH)
    (bin_dir / "gh").chmod(0o755)
    state.write_text(json.dumps([{"id": 1, "body": "Looks good.\n<!-- provision-plan:dev -->"}]))
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "FAKE_GH_STATE": str(state),
        "GH_TOKEN": "fake-github-token",
        "GITHUB_REPOSITORY": REPOSITORY,
        "PR_NUMBER": PULL_REQUEST,
    }
    return env, state


def test_the_plan_comment_is_updated_not_duplicated(
    gh: tuple[dict[str, str], Path], tmp_path: Path
) -> None:
    env, state = gh
    dev, prod = tmp_path / "dev.md", tmp_path / "prod.md"
    dev.write_text("<!-- provision-plan:dev -->\n### Grafana plan: first push\n")
    prod.write_text("<!-- provision-plan:prod -->\n### Grafana plan: prod\n")
    for file in (dev, prod):
        assert ci("comment", str(file), **env).stdout == "posted a comment\n"
    dev.write_text("<!-- provision-plan:dev -->\n### Grafana plan: second push\n")
    assert ci("comment", str(dev), **env).stdout == "updated comment 101\n"
    bodies = [c["body"] for c in json.loads(state.read_text())]
    assert bodies == [
        "Looks good.\n<!-- provision-plan:dev -->",  # mentions the marker, not on its first line
        dev.read_text(),
        prod.read_text(),
    ]


def test_a_plan_too_long_for_a_comment_is_posted_as_its_summary(
    gh: tuple[dict[str, str], Path], tmp_path: Path
) -> None:
    env, state = gh
    summary = [
        "<!-- provision-plan:dev -->",
        "### Grafana plan: environment `dev`",
        "",
        "**Plan: 1 to create, 0 to update, 0 to delete, 0 unchanged.**",
    ]
    long_diff = ["", "```diff", *(f"+ line {i}" for i in range(10_000)), "```"]
    plan_file = tmp_path / "plan.md"
    plan_file.write_text("\n".join(summary + long_diff) + "\n")
    assert ci("comment", str(plan_file), **env).returncode == 0
    body = json.loads(state.read_text())[-1]["body"]
    assert body.splitlines()[: len(summary)] == summary
    assert "line 1" not in body and "too long for a comment" in body and len(body) < 65536


# --- a CI's own venv ---------------------------------------------------------------------------

# What a team's repository holds of ours: the toolkit, its definitions and the entry point.
TOOLKIT = (
    "scripts/provision-ci", "provision.py", "provisioning", "names.py", "alerting", "dashboards",
    "grafana.yaml", "environments", "requirements-provision.txt", "constraints.txt",
    "pyproject.toml",
)  # fmt: skip


def test_setup_installs_only_what_provisioning_needs_and_the_check_runs_on_it(
    tmp_path: Path,
) -> None:
    """A fresh venv from the package registry (as a CI runner has): provision.py validates
    every environment and the lint passes with it, and none of the platform's heavy packages
    (Airflow, Spark, the drift engine's) is installed."""
    repo = tmp_path / "repo"
    for name in TOOLKIT:
        source, target = ROOT / name, repo / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target)
    entry = repo / "scripts" / "provision-ci"
    run = subprocess.run(
        [str(entry), "setup"], capture_output=True, text=True, timeout=600, cwd=tmp_path
    )
    assert run.returncode == 0, run.stdout + run.stderr
    python = repo / ".venv" / "bin" / "python"
    installed = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=json"], capture_output=True, text=True
    )
    packages = {p["name"].lower() for p in json.loads(installed.stdout)}
    assert {"click", "grafanalib", "pyyaml", "requests", "ruff"} <= packages
    assert not packages & {"apache-airflow", "pyspark", "pandas", "numpy", "scipy", "duckdb"}
    check, lint = (
        subprocess.run(
            [str(entry), step], capture_output=True, text=True, timeout=180, cwd=tmp_path
        )
        for step in ("check", "lint")
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count("valid: ") == 1 + len(ENVIRONMENTS)
    assert lint.returncode == 0, lint.stdout + lint.stderr
