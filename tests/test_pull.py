"""provision.py pull: a hand-made Grafana written as definitions, on every profile. The round
trip: the pulled definitions applied to an empty Grafana make the same objects, compared field
by field in the fakes' stored state (but for what Grafana or the stack assigns: ids, versions,
timestamps, the stack's marks); no secret reaches a pulled file."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import LIMITED_TOKEN, ROOT
from course_state import BOT_TOKEN, seed_course_state
from fake_grafana import DEFAULT_TOKEN, FakeGrafana
from provision_cli import error_line, provision
from provisioning.discover import Discovered
from provisioning.export import grafana_files
from provisioning.kinds import Stack
from provisioning.model import GENERAL, Dashboard, Folder, Math, Rule, RuleGroup
from provisioning.validate import validate

STACK = "drift"  # grafana.yaml's stack: its marks are what the comparison leaves out
MARK = "managed_by"
# What Grafana assigns to a stored object, never a definition.
ASSIGNED = {"id", "version", "created", "updated", "message", "typeLogoUrl"}
# Where a pulled module may import from.
ALLOWED_IMPORTS = {"__future__", "json", "pathlib", "typing", "provisioning.model"}
RUFF = Path(sys.executable).with_name("ruff")
# The rich hand-made state's secrets (none may reach a pulled file).
SLACK_URL = "https://hooks.slack.com/services/T000/B000/pulltestsecret"
WEBHOOK_PASSWORD = "webhook-pull-test-password"
TELEGRAM_TOKEN = "5000000000:rich-pull-test-token"


@pytest.fixture
def fresh(fake: FakeGrafana) -> Iterator[FakeGrafana]:
    """An empty Grafana of the same profile, where the pulled definitions are applied."""
    tokens = {DEFAULT_TOKEN: fake.tokens[DEFAULT_TOKEN], LIMITED_TOKEN: fake.tokens[LIMITED_TOKEN]}
    with FakeGrafana(version=fake.version, tokens=tokens) as server:
        yield server
    assert server.spec_violations == []
    assert server.internal_errors == []


def definitions(root: Path) -> Path:
    """An empty definitions directory (the two packages, no module) in a project with the
    repository's ruff settings."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    for package in ("dashboards", "alerting"):
        (root / package).mkdir(parents=True)
        (root / package / "__init__.py").touch()
    return root


def pulled(fake: FakeGrafana, root: Path, *args: str) -> dict[str, Any]:
    run = provision(fake, "pull", *args, "--output", "json", "--definitions", str(root))
    assert run.returncode == 0, run.stdout + run.stderr
    return json.loads(run.stdout)


def apply_pulled(fresh: FakeGrafana, root: Path, secrets: dict[str, str], *args: str) -> None:
    """Apply UI-editable (no provenance), as the hand-made objects are."""
    run = provision(
        fresh,
        "apply",
        *args,
        "--definitions",
        str(root),
        telegram_env=False,
        PROVISION__GRAFANA__UI_EDITABLE="true",
        **secrets,
    )
    assert run.returncode == 0, run.stdout + run.stderr


# --- the comparison ----------------------------------------------------------------------------


def unmarked(name: str) -> str:
    return name.removeprefix(f"{STACK}:")


def stored(fake: FakeGrafana) -> dict[str, Any]:
    """Everything org 1 holds, without what Grafana or the stack assigns."""
    state = fake.state

    def plain(obj: dict[str, Any], *also: str) -> dict[str, Any]:
        return {k: v for k, v in obj.items() if k not in ASSIGNED | set(also)}

    tree = dict(state.policy_tree)
    routes = []
    for route in tree.pop("routes", []):
        if route.get("object_matchers") == [[MARK, "=", STACK]]:
            routes += route.get("routes") or []  # the stack's branch holds the pulled routes
        else:
            routes.append(route)
    return {
        "datasources": {
            uid: plain(d, "jsonData") | {"jsonData": _without(d["jsonData"], MARK)}
            for uid, d in state.datasources.items()
        },
        "folders": {uid: plain(f) for uid, f in state.folders.items()},
        "dashboards": {
            uid: plain(d, "dashboard") | {"dashboard": _board(d["dashboard"])}
            for uid, d in state.dashboards.items()
        },
        "contact_points": sorted(
            json.dumps(plain(cp, "uid"), sort_keys=True) for cp in state.contact_points.values()
        ),
        "templates": {unmarked(n): plain(t, "name") for n, t in state.templates.items()},
        "mute_timings": {unmarked(n): plain(m, "name") for n, m in state.mute_timings.items()},
        "policy_tree": tree | {"routes": [_route(r) for r in routes]},
        "rule_groups": {
            key: plain(group, "rules")
            | {
                "rules": [
                    plain(r, "labels") | {"labels": _without(r["labels"], MARK)}
                    for r in group["rules"]
                ]
            }
            for key, group in state.rule_groups.items()
        },
    }


def _without(mapping: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if k != key}


def _board(dashboard: dict[str, Any]) -> dict[str, Any]:
    board = {k: v for k, v in dashboard.items() if k not in ASSIGNED}
    if "tags" in board:
        board["tags"] = [t for t in board["tags"] if t != f"{MARK}:{STACK}"]
    return board


def _route(route: dict[str, Any]) -> dict[str, Any]:
    """A route with the mute timings' names unmarked."""
    out = dict(route)
    for key in ("mute_time_intervals", "active_time_intervals"):
        if key in out:
            out[key] = [unmarked(name) for name in out[key]]
    if "routes" in out:
        out["routes"] = [_route(child) for child in out["routes"]]
    return out


def assert_round_trip(fake: FakeGrafana, fresh: FakeGrafana, root: Path, secrets: dict) -> None:
    apply_pulled(fresh, root, secrets)
    original, recreated = stored(fake), stored(fresh)
    assert all(original[kind] for kind in ("datasources", "dashboards", "rule_groups"))
    for kind, objects in original.items():
        assert recreated[kind] == objects, kind


def assert_adopted_unchanged(fake: FakeGrafana, root: Path, secrets: dict[str, str]) -> None:
    """Taken over with the pulled definitions (apply --adopt), the original Grafana holds the
    same objects but for the stack's marks, and a plan then changes nothing."""
    before = stored(fake)
    apply_pulled(fake, root, secrets, "--adopt")
    assert stored(fake) == before
    run = provision(
        fake,
        "plan",
        "--definitions",
        str(root),
        telegram_env=False,
        PROVISION__GRAFANA__UI_EDITABLE="true",
        **secrets,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 to create, 0 to update, 0 to delete" in run.stdout


# --- the course's hand-made Grafana ----------------------------------------------------------


def test_course_state_round_trips(fake: FakeGrafana, fresh: FakeGrafana, tmp_path: Path) -> None:
    seed_course_state(fake)
    root = definitions(tmp_path)
    result = pulled(fake, root, "--all")
    assert result["notes"] == []
    [secret] = result["environment"]  # the bot token, named by pull, never read
    assert "Telegram" in result["environment"][secret]
    assert_pulled_files_clean(root, [BOT_TOKEN])
    # The UI's Telegram (no optional flag set) in the toolkit's own class, which validate checks.
    notifications = (root / "alerting" / "pulled_notifications.py").read_text()
    assert "Telegram(" in notifications and "Other(" not in notifications
    assert_round_trip(fake, fresh, root, {secret: BOT_TOKEN})
    assert_adopted_unchanged(fake, root, {secret: BOT_TOKEN})


# --- what a pulled file is ---------------------------------------------------------------------


def assert_pulled_files_clean(root: Path, secrets: list[str]) -> None:
    """Pulled modules import only the model and the standard library, pass ruff (check and
    format), and no file holds a secret."""
    files = sorted(root.glob("*/pulled_*"))
    modules = [path for path in files if path.suffix == ".py"]
    assert modules, "nothing pulled"
    for path in files:
        text = path.read_text()
        for secret in secrets:
            assert secret not in text, path
    for path in modules:
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                imported.add(node.module or "")
        assert imported <= ALLOWED_IMPORTS, (path, imported)
    for command in (["check", "--no-cache"], ["format", "--check", "--no-cache"]):
        run = subprocess.run(
            [str(RUFF), *command, *map(str, modules)], capture_output=True, text=True, cwd=root
        )
        assert run.returncode == 0, run.stdout + run.stderr


# --- a richer hand-made Grafana --------------------------------------------------------------


def query(ref: str, datasource: str, expr: str) -> dict[str, Any]:
    source = {"type": "prometheus", "uid": datasource}
    model = {"refId": ref, "expr": expr, "instant": True, "range": False, "datasource": source}
    span = {"from": 600, "to": 0}
    return {"refId": ref, "relativeTimeRange": span, "datasourceUid": datasource, "model": model}


def expression(ref: str, **model: Any) -> dict[str, Any]:
    expr = {"type": "__expr__", "uid": "__expr__"}
    body = {"refId": ref, "datasource": expr, **model}
    return {
        "refId": ref,
        "relativeTimeRange": {"from": 0, "to": 0},
        "datasourceUid": "__expr__",
        "queryType": "",
        "model": body,
    }


def seed_rich_state(fake: FakeGrafana) -> None:
    """A team's hand-made setup: its data source, a folder with a dashboard and a rule group
    (typed steps, and one the model keeps verbatim), a template, a mute timing, contact points
    with Slack, email, webhook and Telegram integrations, nested routes with mute timings."""
    fake.seed_datasource(
        "team-prom",
        "Team Prometheus",
        url="http://prom:9090",
        jsonData={"httpMethod": "GET", "timeInterval": "30s"},
    )
    fake.seed_folder("team-a", "Team A")
    panel = {
        "id": 1,
        "type": "stat",
        "title": "Errors",
        "gridPos": {"h": 4, "w": 6, "x": 0, "y": 0},
    }
    board = {
        "uid": "team-a-board",
        "title": "Team A",
        "tags": ["team"],
        "panels": [panel],
        "schemaVersion": 39,
    }
    fake.seed_dashboard(board, folder_uid="team-a")
    fake.seed_template(
        "ops", '{{ define "ops.title" }}[{{ .Status }}] {{ .CommonLabels.alertname }}{{ end }}'
    )
    fake.seed_mute_timing(
        "nights",
        [{"times": [{"start_time": "22:00", "end_time": "24:00"}], "weekdays": ["monday:friday"]}],
    )
    fake.seed_contact_point(
        "Ops",
        "slack",
        {"url": SLACK_URL, "recipient": "#ops", "title": '{{ template "ops.title" . }}'},
    )
    fake.seed_contact_point(
        "Ops", "email", {"addresses": "a@example.com;b@example.com", "singleEmail": True}
    )
    fake.seed_contact_point(
        "Hooks",
        "webhook",
        {
            "url": "https://hooks.example.com/alert",
            "httpMethod": "PUT",
            "username": "grafana",
            "password": WEBHOOK_PASSWORD,
        },
        disable_resolve_message=True,
    )
    fake.seed_contact_point(
        "Pager",
        "telegram",
        {
            "bottoken": TELEGRAM_TOKEN,
            "chatid": "-100200300",
            "disable_notifications": True,
            "disable_web_page_preview": False,
        },
    )
    fake.seed_route(
        {
            "receiver": "Ops",
            "object_matchers": [["team", "=", "a"]],
            "group_by": ["alertname", "severity"],
            "group_wait": "30s",
            "repeat_interval": "4h",
            "mute_time_intervals": ["nights"],
            "routes": [
                {
                    "receiver": "Hooks",
                    "object_matchers": [["severity", "=~", "critical|page"]],
                    "continue": True,
                },
                {
                    "receiver": "Pager",
                    "object_matchers": [["severity", "=", "page"]],
                    "active_time_intervals": ["nights"],
                },
            ],
        }
    )
    errors = {
        "uid": "team-a-errors",
        "title": "Errors above their usual band",
        "condition": "outside",
        "data": [
            query("errors", "team-prom", 'sum by (service) (rate(errors_total{team="a"}[5m]))'),
            expression(
                "mean",
                type="reduce",
                expression="errors",
                reducer="mean",
                settings={"mode": "dropNN"},
            ),
            expression("percent", type="math", expression="$mean * 100"),
            expression(
                "outside",
                type="threshold",
                expression="percent",
                conditions=[{"evaluator": {"type": "outside_range", "params": [5, 95]}}],
            ),
        ],
        "labels": {"team": "a", "severity": "page"},
        "annotations": {
            "summary": "{{ $labels.service }}: {{ $values.percent.Value }} %",
            "description": "The share of failed requests of the service left the band between "
            "5 % and 95 % that the team agreed on; see the runbook before paging anyone else, "
            "and say in the channel who looks at it.",
            "__dashboardUid__": "team-a-board",
            "__panelId__": "1",
        },
        "for": "5m",
        "noDataState": "OK",
        "execErrState": "Alerting",
        "missingSeriesEvalsToResolve": 3,  # Grafana 12's (the 11.6 fake drops it, as Go does)
    }
    resampled = {
        "uid": "team-a-resampled",
        "title": "Errors resampled",
        "data": [
            query("A", "team-prom", "sum(errors_total)"),
            expression(
                "B",
                type="resample",
                expression="A",
                window="1m",
                downsampler="last",
                upsampler="fillna",
            ),
            expression(
                "C",
                type="threshold",
                expression="B",
                conditions=[{"evaluator": {"type": "gt", "params": [3]}}],
            ),
        ],
        "condition": "C",
        "labels": {"team": "a"},
        "isPaused": True,
    }
    fake.seed_rule_group("team-a", "Team A checks", [errors, resampled], interval=60)


def rich_secrets(environment: dict[str, str]) -> dict[str, str]:
    """The value of each variable pull named, by what it said the variable holds."""
    values = {
        "slack url": SLACK_URL,
        "webhook password": WEBHOOK_PASSWORD,
        "telegram bottoken": TELEGRAM_TOKEN,
    }
    found = {name: v for name, what in environment.items() for k, v in values.items() if k in what}
    assert len(found) == len(environment) == len(values), environment
    return found


def test_rich_state_round_trips(fake: FakeGrafana, fresh: FakeGrafana, tmp_path: Path) -> None:
    seed_rich_state(fake)
    root = definitions(tmp_path)
    result = pulled(fake, root, "--all")
    assert result["notes"] == []
    assert_pulled_files_clean(root, [SLACK_URL, WEBHOOK_PASSWORD, TELEGRAM_TOKEN])
    rules = (root / "alerting" / "pulled_team_a.py").read_text()
    # Typed steps where they write what Grafana holds; the resample step verbatim.
    for step in ("Query(", "Reduce(", "Math(", "Threshold(", "Raw("):
        assert step in rules
    assert ("missing_series_evals_to_resolve=3," in rules) == (fake.version != "11.6")
    notifications = (root / "alerting" / "pulled_notifications.py").read_text()
    for integration in ("Slack(", "Email(", "Webhook(", "Telegram("):
        assert integration in notifications
    assert_round_trip(fake, fresh, root, rich_secrets(result["environment"]))
    assert_adopted_unchanged(fake, root, rich_secrets(result["environment"]))


# --- scope, notes, refusals ----------------------------------------------------------------


@pytest.mark.fake_versions("13.2")
def test_on_13_pull_lists_folders_through_the_folder_app(fake: FakeGrafana, tmp_path: Path) -> None:
    """/api/folders is deprecated in 13's spec, folder.grafana.app/v1 is GA."""
    seed_course_state(fake)
    fake.seed_folder("empty", "Kept empty")
    fake.reset_log()
    pulled(fake, definitions(tmp_path), "--all")
    assert [r.path for r in fake.requests if r.path.startswith("/api/folders")] == []
    assert "Kept empty" in (tmp_path / "dashboards" / "pulled_kept_empty.py").read_text()


def test_a_folder_pulls_its_dashboards_and_rule_groups_only(
    fake: FakeGrafana, tmp_path: Path
) -> None:
    seed_rich_state(fake)
    seed_course_state(fake)
    root = definitions(tmp_path)
    by_title = pulled(fake, root, "Team A")
    assert by_title["written"] == [
        "alerting/pulled_team_a.py",
        "dashboards/pulled_team_a.py",
        "dashboards/pulled_team_a_team_a.json",
    ]
    assert by_title["environment"] == {}
    by_uid = pulled(fake, definitions(tmp_path / "by_uid"), "team-a")
    assert by_uid["written"] == by_title["written"]
    general = pulled(fake, definitions(tmp_path / "general"), "General")
    assert general["written"] == [
        "dashboards/pulled_general.py",
        "dashboards/pulled_general_data_drift.json",
    ]
    run = provision(fake, "pull", "No such folder", "--definitions", str(root))
    assert "no folder 'No such folder'" in error_line(run)


def test_what_the_model_cannot_hold_is_said_one_line_each(
    fake: FakeGrafana, tmp_path: Path
) -> None:
    fake.seed_datasource(
        "secured",
        "Secured",
        url="http://db:5432",
        basicAuth=True,
        basicAuthUser="grafana",
        secureJsonData={"basicAuthPassword": "db-pull-test-password"},
    )
    fake.seed_rule_group(
        "recording", "Recorded", [{"title": "Rate", "record": {"metric": "m", "from": "A"}}]
    )
    root = definitions(tmp_path)
    run = provision(fake, "pull", "--all", "--definitions", str(root))
    assert run.returncode == 0, run.stderr
    notes = sorted(line for line in run.stdout.splitlines() if line.startswith("note: "))
    assert notes == [
        "note: data source 'Secured' (secured): not pulled, the model has no field for them: "
        "basicAuth, basicAuthUser, its secure settings (basicAuthPassword); set them in "
        "Grafana after apply",
        "note: rule group recording/Recorded: not pulled: its rule 'Rate' records, which the "
        "model does not write",
    ]
    assert (
        "db-pull-test-password" not in (root / "dashboards" / "pulled_datasources.py").read_text()
    )
    assert not (root / "alerting" / "pulled_recorded.py").exists()


def test_pulling_again_overwrites_nothing_without_force(fake: FakeGrafana, tmp_path: Path) -> None:
    seed_course_state(fake)
    root = definitions(tmp_path)
    first = pulled(fake, root, "--all")
    edited = root / "alerting" / "pulled_notifications.py"
    edited.write_text(edited.read_text() + "# edited by the team\n")
    again = provision(fake, "pull", "--all", "--definitions", str(root))
    assert error_line(again) == (
        "Error: alerting/pulled_drift.py exists (and 4 more): pull overwrites nothing "
        "without --force"
    )
    assert edited.read_text().endswith("# edited by the team\n")
    forced = pulled(fake, root, "--all", "--force")
    assert forced["written"] == first["written"]
    assert "# edited by the team" not in edited.read_text()


def test_pull_needs_a_folder_or_all(fake: FakeGrafana, tmp_path: Path) -> None:
    for args in ([], ["Drift", "--all"]):
        run = provision(
            fake, "pull", *args, "--definitions", str(definitions(tmp_path / str(len(args))))
        )
        assert run.returncode == 2
        assert "give a FOLDER or --all" in run.stderr


def test_a_dashboard_in_general_validates_and_exports_there() -> None:
    """Pulled dashboards in no folder stay in General (GENERAL); rules cannot be there."""
    board = Dashboard({"uid": "board", "title": "Board", "panels": []}, GENERAL)
    assert validate(Discovered([board], [], []), Stack(STACK)).problems == []
    [provider] = yaml.safe_load(grafana_files([board], Stack(STACK))["dashboards/drift.yaml"])[
        "providers"
    ]
    assert (provider["folder"], provider["folderUid"]) == ("", "")  # Grafana's root
    rule = Rule(uid="r", title="R", steps={"A": Math("1")}, labels={"team": "a"})
    group = RuleGroup(folder=GENERAL, name="g", rules=[rule])
    problems = validate(Discovered([group, Folder("f", "F")], [], []), Stack(STACK)).problems
    assert "rule group g: Grafana keeps rules in a folder" in problems


def test_nothing_to_pull_writes_nothing(fake: FakeGrafana, tmp_path: Path) -> None:
    root = definitions(tmp_path)
    run = provision(fake, "pull", "--all", "--definitions", str(root))
    assert run.returncode == 0, run.stderr
    assert "Nothing to pull" in run.stdout
    assert sorted(p.name for p in root.rglob("*.py")) == ["__init__.py", "__init__.py"]
