"""The README's worked example, a second team's dashboard, contact point, route, mute timing
and rule in two new files, taken from README.md exactly as written: provisioned through the
CLI, with the repository's own definitions next to it, against the fake Grafana, and
previewed against a Prometheus stand-in. Every expected value is written out here from what
the README says, never taken from the toolkit."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT, prometheus_queries
from fake_grafana import FakeGrafana
from provision_cli import applied, error_line, provision

# A block of the README that is a file of the example: ```python, then "# file: <path>".
EXAMPLE_BLOCK = re.compile(r"^```python\n(# file: (\S+)\n.*?)^```$", re.MULTILINE | re.DOTALL)
EXAMPLE_FILES = ("alerting/team_b.py", "dashboards/team_b.py")
SLACK_URL = "https://hooks.slack.com/services/T000/B000/team-b-secret"
SLACK = {"TEAM_B_SLACK_URL": SLACK_URL}
MISSING_SHARE = 'drift_feature_missing_ratio{batch="current"}'  # what the README's rule asks
RULE_TITLE = "Team B: too many missing values"
BRANCH = [["managed_by", "=", "drift"]]  # the drift stack's branch of the policy tree


def example() -> dict[str, str]:
    """The README's example files, path -> text."""
    found = {path: text for text, path in EXAMPLE_BLOCK.findall((ROOT / "README.md").read_text())}
    assert sorted(found) == sorted(EXAMPLE_FILES)
    return found


@pytest.fixture
def definitions(tmp_path: Path) -> str:
    """The repository's dashboards/ and alerting/, with the README's two files added."""
    root = tmp_path / "definitions"
    for package in ("dashboards", "alerting"):
        ignore = shutil.ignore_patterns("__pycache__")
        shutil.copytree(ROOT / package, root / package, ignore=ignore)
    for path, text in example().items():
        assert not (root / path).exists(), f"{path} is meant to be a new file"
        (root / path).write_text(text)
    return str(root)


def run(fake: FakeGrafana, *args: str, **env: str) -> Any:
    done = provision(fake, *args, **env)
    assert SLACK_URL not in done.stdout + done.stderr  # the secret is never shown
    return done


def changes(fake: FakeGrafana, *args: str, **env: str) -> set[tuple[str, str, str]]:
    """What plan would change: (action, kind, name) of each change."""
    done = run(fake, "plan", "--output", "json", *args, **env)
    planned = json.loads(done.stdout)["changes"]
    found = {(c["action"], c["kind"], c["name"]) for c in planned if c["action"] != "unchanged"}
    assert done.returncode == (2 if found else 0), done.stderr  # exit 0: nothing to change
    return found


def team_b_route(fake: FakeGrafana) -> dict[str, Any]:
    [branch] = [r for r in fake.state.policy_tree["routes"] if r["object_matchers"] == BRANCH]
    [route] = [r for r in branch["routes"] if r.get("receiver") == "Team B Slack"]
    return route


def test_the_example_validates_and_applies_as_the_readme_says(
    fake: FakeGrafana, definitions: str
) -> None:
    # validate needs no secret, and reads the two new modules with the rest.
    done = run(fake, "validate", "--definitions", definitions)
    assert done.returncode == 0, done.stderr
    assert "dashboards.team_b" in done.stdout and "alerting.team_b" in done.stdout
    # apply names the secret that is missing, and writes nothing.
    assert "TEAM_B_SLACK_URL" in error_line(run(fake, "apply", "--definitions", definitions))
    assert fake.writes() == 0

    applied(fake, "--definitions", definitions, **SLACK)
    state = fake.state
    # The dashboard, in the team's folder, showing the missing share per feature.
    assert state.folders["team-b"]["title"] == "Team B"
    board = state.dashboards["team-b-missing"]
    assert board["folderUid"] == "team-b"
    assert board["dashboard"]["title"] == "Missing values"
    [panel] = board["dashboard"]["panels"]
    assert [t["expr"] for t in panel["targets"]] == [MISSING_SHARE]
    # The Slack contact point, with the webhook URL from the environment stored.
    [slack] = [cp for cp in state.contact_points.values() if cp["name"] == "Team B Slack"]
    assert slack["type"] == "slack"
    assert slack["settings"]["url"] == SLACK_URL
    # The mute timing, under the stack's name, with the two night-time ranges.
    assert state.mute_timings["drift:team-b-nights"]["time_intervals"] == [
        {
            "times": [
                {"start_time": "22:00", "end_time": "24:00"},
                {"start_time": "00:00", "end_time": "07:00"},
            ],
            "location": "Europe/Berlin",
        }
    ]
    # The route, inside the stack's branch, muted at night.
    route = team_b_route(fake)
    assert route["object_matchers"] == [["team", "=", "b"]]
    assert route["mute_time_intervals"] == ["drift:team-b-nights"]
    # The rule: the missing share, last value, above 0.2; labelled for team B's route.
    group = state.rule_groups[("team-b", "team-b")]
    assert group["interval"] == 60
    [rule] = group["rules"]
    assert rule["uid"] == "team-b-missing-share"
    assert rule["title"] == RULE_TITLE
    assert rule["labels"] == {"team": "b", "managed_by": "drift"}
    assert rule["noDataState"] == "OK"
    assert rule["condition"] == "too_many"
    steps = {step["refId"]: step for step in rule["data"]}
    assert list(steps) == ["share_query", "share", "too_many"]
    assert steps["share_query"]["datasourceUid"] == "drift-prometheus"
    assert steps["share_query"]["model"]["expr"] == MISSING_SHARE
    assert steps["share"]["model"]["type"] == "reduce"
    assert steps["share"]["model"]["reducer"] == "last"
    threshold = steps["too_many"]["model"]
    assert threshold["expression"] == "share"
    assert threshold["conditions"][0]["evaluator"] == {"type": "gt", "params": [0.2]}
    assert "humanizePercentage $values.share.Value" in rule["annotations"]["summary"]

    fake.reset_log()
    applied(fake, "--definitions", definitions, **SLACK)
    assert fake.writes() == 0
    # One list of the dashboards serves ownership and look-alikes; a read of each of the two.
    assert fake.reads("/api/search") == 1
    assert fake.reads("/api/dashboards/uid/") == 2
    assert changes(fake, "--definitions", definitions, **SLACK) == set()


def test_on_an_applied_drift_stack_the_example_adds_and_then_removes_its_objects(
    fake: FakeGrafana, definitions: str
) -> None:
    applied(fake)  # the drift platform alone, from the repository's definitions
    added = {
        ("create", "folder", "team-b"),
        ("create", "dashboard", "team-b-missing"),
        ("create", "mute timing", "drift:team-b-nights"),
        ("create", "rule group", "team-b/team-b"),
        ("update", "notification policy", "branch managed_by=drift"),
    }
    planned = changes(fake, "--definitions", definitions, **SLACK)
    [slack] = [c for c in planned if c[1] == "contact point"]
    assert slack[0] == "create"
    assert planned - {slack} == added

    applied(fake, "--definitions", definitions, **SLACK)
    # The files removed again: the next plan deletes what they defined, and nothing else.
    removed = {(("delete" if a == "create" else a), kind, name) for a, kind, name in planned}
    assert changes(fake) == removed
    applied(fake)
    state = fake.state
    assert "team-b" not in state.folders and "team-b-missing" not in state.dashboards
    assert "Team B Slack" not in state.receiver_names()
    assert state.mute_timings == {}
    assert list(state.rule_groups) == [("drift", "data-drift")]
    assert changes(fake) == set()


def test_grafana_yaml_values_may_set_team_bs_limit(fake: FakeGrafana, definitions: str) -> None:
    override = {"PROVISION__VALUES__TEAM_B__MISSING_LIMIT": "0.3"}
    applied(fake, "--definitions", definitions, **SLACK, **override)
    [rule] = fake.state.rule_groups[("team-b", "team-b")]["rules"]
    [threshold] = [step for step in rule["data"] if step["refId"] == "too_many"]
    assert threshold["model"]["conditions"][0]["evaluator"]["params"] == [0.3]


def test_the_example_rule_fires_for_a_feature_missing_more_than_a_fifth(
    definitions: str,
) -> None:
    current = {"dataset": "bike_sharing", "batch": "current"}
    shares = {"temp": "0.35", "hum": "0.2", "windspeed": "0"}  # 0.2 is not above 0.2
    vectors = {MISSING_SHARE: [(current | {"feature": f}, v) for f, v in shares.items()]}
    with prometheus_queries(vectors, refuse_unknown=False) as url:
        done = provision(
            None, "preview", "--output", "json", "--definitions", definitions,
            "--prometheus-url", url,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    firing = [i for i in json.loads(done.stdout)["firing"] if i["rule"] == RULE_TITLE]
    [instance] = firing
    assert instance["labels"]["feature"] == "temp"
    assert instance["labels"]["team"] == "b"
    assert instance["values"]["share"] == 0.35
