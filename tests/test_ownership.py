"""Ownership through the CLI against the fake Grafana: a renamed object is replaced, two
stacks on one Grafana never touch each other, objects made by hand stay as they are, a name
taken by someone else stops the plan, secrets are needed by apply only and a rotated one
replaces its integration, and UI edits of the stack's objects are reverted.

Definitions are the repository's, copied to a temporary folder (--definitions) where a test
adds or edits modules."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from fake_grafana import DEFAULT_TOKEN, FakeGrafana, OrgState
from provision_cli import (
    NEW_TOKEN,
    TOKEN,
    applied,
    copy_definitions,
    error_line,
    notifications_app,
    plan,
    provision,
    telegram,
)
from provisioning.client import GrafanaClient
from provisioning.kinds import Stack, kinds_for
from provisioning.kinds import dashboards as dashboards_kind
from provisioning.plan import apply, make_plan
from provisioning.server import read_server

# A module that adds a mute timing and a route muted by it (the repository defines none).
QUIET_MODULE = """
import names
from provisioning.model import MuteTiming, Route, TimeInterval

NAME = "quiet"


def define(values):
    timing = MuteTiming(NAME, [TimeInterval(weekdays=["saturday", "sunday"])])
    receiver = values.section("telegram").text("contact_point")
    matchers = {names.MONITOR_DOWN_LABEL: names.ALERT_LABEL_VALUE}
    return [timing, Route(receiver=receiver, matchers=matchers, mute_timings=[timing])]
"""
RULE_UIDS = ("drift-p-value", "drift-stale", "drift-monitor-down")
UI_EDITABLE = {"PROVISION__GRAFANA__UI_EDITABLE": "true"}
BRANCH = ["managed_by", "=", "drift"]  # the matcher of the stack's branch of the policy tree

# Stack "b": its own name for everything the values set (its rule uids are set in its
# modules: see stack_b_definitions). Template and mute timing names carry the stack's mark.
STACK_A = {"PROVISION__STACK": "a"}
STACK_B = {
    "PROVISION__STACK": "b",
    "PROVISION__VALUES__PROMETHEUS__DATASOURCE_UID": "b-prometheus",
    "PROVISION__VALUES__PROMETHEUS__DATASOURCE_NAME": "Prometheus of b",
    "PROVISION__VALUES__FOLDER__UID": "b-folder",
    "PROVISION__VALUES__FOLDER__TITLE": "Data drift of b",
    "PROVISION__VALUES__DASHBOARD__UID": "b-data-drift",
    "PROVISION__VALUES__DASHBOARD__TITLE": "Data Drift of b",
    "PROVISION__VALUES__ALERTING__GROUP": "b-data-drift",
    "PROVISION__VALUES__TELEGRAM__CONTACT_POINT": "Telegram of b",
}


def edit(path: Path, old: str, new: str) -> None:
    """Replace the one occurrence of ``old`` in the module at ``path``."""
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} in {path}"
    path.write_text(text.replace(old, new))


def definitions(root: Path, quiet: bool = False) -> Path:
    """A copy of the repository's definitions under ``root``; ``quiet``: with QUIET_MODULE."""
    copy_definitions(root)
    if quiet:
        (root / "alerting" / "quiet.py").write_text(QUIET_MODULE)
    return root


def stack_b_definitions(root: Path, *, own_rule_uids: bool = True) -> Path:
    """Stack b's definitions: the repository's, with (``own_rule_uids``) rule uids of its own."""
    definitions(root, quiet=True)
    for uid in RULE_UIDS if own_rule_uids else ():
        edit(root / "alerting" / "rules.py", f'= "{uid}"', f'= "b-{uid}"')
    return root


def changed(document: dict) -> dict[tuple[str, str], str]:
    """(kind, name) -> action of every change the plan would make."""
    return {
        (c["kind"], c["name"]): c["action"]
        for c in document["changes"]
        if c["action"] != "unchanged"
    }


def snapshot(state: OrgState) -> dict[str, Any]:
    """Everything the toolkit could touch in the fake, copied."""
    names = (
        "datasources",
        "folders",
        "dashboards",
        "contact_points",
        "policy_tree",
        "policy_provenance",
        "templates",
        "mute_timings",
        "rule_groups",
    )
    return copy.deepcopy({name: getattr(state, name) for name in names})


def branch(state: OrgState) -> dict[str, Any]:
    """Stack drift's branch of the policy tree."""
    [found] = [r for r in state.policy_tree.get("routes") or [] if r["object_matchers"] == [BRANCH]]
    return found


# --- a renamed uid or name: the old object goes, the new one comes ------------------------


@dataclass(frozen=True)
class Rename:
    kind: str  # as the plan names it
    old: str
    new: str
    held: Callable[[OrgState], set[str]]  # the names of this kind in the fake
    rename: Callable[[Path], dict[str, str]]  # edits the definitions; the environment to add
    # The plan's key of the object named ``name`` (contact points: the integration's uid).
    key: Callable[[FakeGrafana, str], str] = lambda fake, name: name


def _integration_uid(fake: FakeGrafana, name: str) -> str:
    if notifications_app(fake):  # a receiver, named by its name
        return name
    [uid] = [uid for uid, cp in fake.state.contact_points.items() if cp["name"] == name]
    return uid


def _edit_module(path: str, old: str, new: str) -> Callable[[Path], dict[str, str]]:
    def rename(root: Path) -> dict[str, str]:
        edit(root / path, old, new)
        return {}

    return rename


RENAMES = {
    "dashboard uid": Rename(
        "dashboard",
        "data-drift",
        "data-drift-2",
        lambda s: set(s.dashboards),
        lambda root: {"PROVISION__VALUES__DASHBOARD__UID": "data-drift-2"},
    ),
    "rule group name": Rename(
        "rule group",
        "drift/data-drift",
        "drift/data-drift-2",
        lambda s: {f"{folder}/{group}" for folder, group in s.rule_groups},
        lambda root: {"PROVISION__VALUES__ALERTING__GROUP": "data-drift-2"},
    ),
    "data source uid": Rename(
        "data source",
        "drift-prometheus",
        "drift-prometheus-2",
        lambda s: set(s.datasources),
        lambda root: {"PROVISION__VALUES__PROMETHEUS__DATASOURCE_UID": "drift-prometheus-2"},
    ),
    "contact point name": Rename(
        "contact point",
        "Telegram",
        "Telegram-2",
        lambda s: s.receiver_names(),
        lambda root: {"PROVISION__VALUES__TELEGRAM__CONTACT_POINT": "Telegram-2"},
        _integration_uid,
    ),
    "mute timing name": Rename(
        "mute timing",
        "drift:quiet",
        "drift:quieter",
        lambda s: set(s.mute_timings),
        _edit_module("alerting/quiet.py", 'NAME = "quiet"', 'NAME = "quieter"'),
    ),
    "template name": Rename(
        "notification template",
        "drift:drift",
        "drift:drift-messages",
        lambda s: set(s.templates),
        _edit_module(
            "alerting/notifications.py",
            'TEMPLATE_GROUP = "drift"',
            'TEMPLATE_GROUP = "drift-messages"',
        ),
    ),
}


@pytest.mark.parametrize("case", RENAMES.values(), ids=RENAMES.keys())
def test_a_renamed_object_is_deleted_and_the_new_one_created(
    fake: FakeGrafana, tmp_path: Path, case: Rename
) -> None:
    root = definitions(tmp_path, quiet=True)
    applied(fake, "--definitions", str(root))
    held = case.held(fake.state)
    assert case.old in held and case.new not in held
    old_key = case.key(fake, case.old)

    env = case.rename(root)
    code, document = plan(fake, "--definitions", str(root), **env)
    assert code == 2
    actions = changed(document)
    assert actions[case.kind, old_key] == "delete"
    created = [
        name for (kind, name), action in actions.items() if kind == case.kind and action == "create"
    ]
    assert len(created) == 1, actions

    applied(fake, "--definitions", str(root), **env)
    held = case.held(fake.state)
    assert case.old not in held and case.new in held
    assert case.key(fake, case.new) == created[0]
    assert plan(fake, "--definitions", str(root), **env)[0] == 0


def test_a_renamed_rule_uid_replaces_the_rule_in_its_group(
    fake: FakeGrafana, tmp_path: Path
) -> None:
    root = definitions(tmp_path)
    applied(fake, "--definitions", str(root))
    assert "drift-p-value" in fake.state.alert_rules()

    edit(
        root / "alerting" / "rules.py",
        'DRIFT_RULE_UID = "drift-p-value"',
        'DRIFT_RULE_UID = "drift-p-value-2"',
    )
    code, document = plan(fake, "--definitions", str(root))
    assert code == 2
    assert changed(document) == {("rule group", "drift/data-drift"): "update"}
    [diff] = [c["diff"] for c in document["changes"] if c["kind"] == "rule group"]
    lines = [line.rstrip(",").split() for line in diff]
    assert ["-", '"uid":', '"drift-p-value"'] in lines
    assert ["+", '"uid":', '"drift-p-value-2"'] in lines

    applied(fake, "--definitions", str(root))
    rules = fake.state.alert_rules()
    assert "drift-p-value" not in rules and "drift-p-value-2" in rules
    assert set(rules) == {"drift-p-value-2", "drift-stale", "drift-monitor-down"}
    assert plan(fake, "--definitions", str(root))[0] == 0


# --- two stacks on one Grafana ----------------------------------------------------------------


def test_two_stacks_on_one_grafana_never_touch_each_other(
    fake: FakeGrafana, tmp_path: Path
) -> None:
    a = definitions(tmp_path / "a", quiet=True)
    b = stack_b_definitions(tmp_path / "b")
    applied(fake, "--definitions", str(a), **STACK_A)
    only_a = snapshot(fake.state)

    applied(fake, "--definitions", str(b), **STACK_B)
    state = fake.state
    assert {"drift-prometheus", "b-prometheus"} <= set(state.datasources)
    assert {"data-drift", "b-data-drift"} <= set(state.dashboards)
    assert {("drift", "data-drift"), ("b-folder", "b-data-drift")} <= set(state.rule_groups)
    assert {"a:quiet", "b:quiet"} <= set(state.mute_timings)
    assert {"a:drift", "b:drift"} <= set(state.templates)
    assert {"Telegram", "Telegram of b"} <= state.receiver_names()
    branches = sorted(str(r["object_matchers"]) for r in state.policy_tree["routes"])
    assert branches == [str([["managed_by", "=", stack]]) for stack in ("a", "b")]
    assert plan(fake, "--definitions", str(a), **STACK_A)[0] == 0
    assert plan(fake, "--definitions", str(b), **STACK_B)[0] == 0

    run = provision(fake, "destroy", "--definitions", str(b), **STACK_B)
    assert run.returncode == 0, run.stdout + run.stderr
    assert snapshot(fake.state) == only_a  # everything of a, as a left it; nothing of b
    assert plan(fake, "--definitions", str(a), **STACK_A)[0] == 0


# --- objects made by hand ---------------------------------------------------------------------


def seed_foreign(fake: FakeGrafana) -> None:
    """One object of each kind made by hand, next to (not in the way of) the definitions."""
    fake.seed_datasource("ops-prometheus", "Ops Prometheus", url="http://ops:9090")
    fake.seed_folder("ops", "Ops")
    fake.seed_dashboard(
        {"uid": "ops-board", "title": "Ops", "tags": ["drift"], "panels": []}, folder_uid="ops"
    )
    fake.seed_contact_point("ops-email")
    fake.seed_route({"receiver": "ops-email", "object_matchers": [["team", "=", "ops"]]})
    # Named as the stack's definition names its own: the stack's carries its mark instead.
    fake.seed_mute_timing("quiet", [{"weekdays": ["monday"]}])
    fake.seed_template("drift", '{{ define "ops.message" }}ops{{ end }}')
    fake.seed_rule_group("ops", "ops-rules", [{"title": "Ops is fine", "labels": {"team": "ops"}}])


def foreign(state: OrgState) -> dict[str, Any]:
    """The objects seed_foreign made, as the fake holds them."""
    tree = state.policy_tree
    return copy.deepcopy(
        {
            "data source": state.datasources.get("ops-prometheus"),
            "folder": state.folders.get("ops"),
            "dashboard": state.dashboards.get("ops-board"),
            "contact point": [
                cp for cp in state.contact_points.values() if cp["name"] == "ops-email"
            ],
            "root of the policy tree": {k: v for k, v in tree.items() if k != "routes"},
            "route": [r for r in tree.get("routes") or [] if r.get("receiver") == "ops-email"],
            "mute timing": state.mute_timings.get("quiet"),
            "template": state.templates.get("drift"),
            "rule group": state.rule_groups.get(("ops", "ops-rules")),
        }
    )


def test_objects_made_by_hand_are_never_changed(fake: FakeGrafana, tmp_path: Path) -> None:
    root = definitions(tmp_path, quiet=True)
    seed_foreign(fake)
    before = foreign(fake.state)
    assert all(before.values())

    applied(fake, "--definitions", str(root))
    assert "drift:quiet" in fake.state.mute_timings and "data-drift" in fake.state.dashboards
    assert foreign(fake.state) == before
    assert plan(fake, "--definitions", str(root))[0] == 0

    run = provision(fake, "destroy", "--definitions", str(root))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "drift:quiet" not in fake.state.mute_timings
    assert "data-drift" not in fake.state.dashboards
    assert foreign(fake.state) == before


# --- a name taken by someone else stops the plan ------------------------------------------------


@dataclass(frozen=True)
class Taken:
    name: str  # as the error names the object
    seed: Callable[[FakeGrafana], None]  # someone makes it by hand
    mine: tuple[str, ...] = ()  # the overrides stack b drops to want what stack a holds
    own_rule_uids: bool = True  # stack b's rules have uids of their own


def _seed_rule_group(fake: FakeGrafana) -> None:
    fake.seed_folder("drift", "Data drift")  # the same folder: shared, not in the way
    fake.seed_rule_group("drift", "data-drift", [{"title": "By hand"}])


def _seed_dashboard_of_another_stack(fake: FakeGrafana) -> None:
    """Marked as another stack's, so not a look-alike to take over: in the way."""
    fake.seed_folder("drift", "Data drift")
    board = {"uid": "theirs", "title": "Data Drift", "tags": ["managed_by:x"], "panels": []}
    fake.seed_dashboard(board, folder_uid="drift")


# Data sources of theirs that are no look-alike (another type and URL): one of ours' type and
# URL is a candidate to take over instead (tests/test_adopt.py).
LOKI = "http://loki:3100"
TAKEN = {
    "dashboard uid": Taken(
        "dashboard data-drift",
        lambda fake: fake.seed_dashboard({"uid": "data-drift", "title": "Mine", "panels": []}),
        ("PROVISION__VALUES__DASHBOARD__UID",),
    ),
    "dashboard title in its folder": Taken(
        "its title 'Data Drift' is taken by dashboard",
        _seed_dashboard_of_another_stack,
        (
            "PROVISION__VALUES__FOLDER__UID",
            "PROVISION__VALUES__FOLDER__TITLE",
            "PROVISION__VALUES__DASHBOARD__TITLE",
        ),
    ),
    "contact point name": Taken(
        "'Telegram'",
        lambda fake: fake.seed_contact_point("Telegram"),
        ("PROVISION__VALUES__TELEGRAM__CONTACT_POINT",),
    ),
    "rule group": Taken(
        "rule group drift/data-drift",
        _seed_rule_group,
        (
            "PROVISION__VALUES__FOLDER__UID",
            "PROVISION__VALUES__FOLDER__TITLE",
            "PROVISION__VALUES__ALERTING__GROUP",
        ),
    ),
    "data source uid": Taken(
        "data source drift-prometheus",
        lambda fake: fake.seed_datasource("drift-prometheus", "Mine", "loki", url=LOKI),
        ("PROVISION__VALUES__PROMETHEUS__DATASOURCE_UID",),
    ),
    "data source name": Taken(
        "'Prometheus (drift)'",
        lambda fake: fake.seed_datasource("mine", "Prometheus (drift)", "loki", url=LOKI),
        ("PROVISION__VALUES__PROMETHEUS__DATASOURCE_NAME",),
    ),
    "rule uid": Taken(
        "drift-p-value",
        lambda fake: fake.seed_rule_group("ops", "ops", [{"uid": "drift-p-value", "title": "T"}]),
        own_rule_uids=False,
    ),
}


def assert_stopped(fake: FakeGrafana, root: Path, name: str, **env: str) -> None:
    """plan and apply each stop with one line naming the object and the way out, and write
    nothing."""
    fake.reset_log()
    for command in ("plan", "apply"):
        line = error_line(provision(fake, command, "--definitions", str(root), **env))
        assert name in line, line
        assert "Rename ours in the definitions, or remove theirs in Grafana" in line, line
        assert fake.writes() == 0, command


@pytest.mark.parametrize("case", TAKEN.values(), ids=TAKEN.keys())
def test_a_name_taken_by_hand_stops_before_anything_is_written(
    fake: FakeGrafana, tmp_path: Path, case: Taken
) -> None:
    case.seed(fake)
    assert_stopped(fake, definitions(tmp_path), case.name)


@pytest.mark.parametrize("case", TAKEN.values(), ids=TAKEN.keys())
def test_a_name_taken_by_another_stack_stops_before_anything_is_written(
    fake: FakeGrafana, tmp_path: Path, case: Taken
) -> None:
    applied(fake, "--definitions", str(definitions(tmp_path / "a")), **STACK_A)
    root = stack_b_definitions(tmp_path / "b", own_rule_uids=case.own_rule_uids)
    env = {k: v for k, v in STACK_B.items() if k not in case.mine}
    assert_stopped(fake, root, case.name, **env)


def test_a_rule_uid_taken_by_hand_stops_an_update_of_the_group(
    fake: FakeGrafana, tmp_path: Path
) -> None:
    root = definitions(tmp_path)
    applied(fake, "--definitions", str(root))
    theirs = fake.seed_rule_group("ops", "ops", [{"uid": "theirs", "title": "Theirs"}])
    before = copy.deepcopy(theirs)

    edit(root / "alerting" / "rules.py", '= "drift-p-value"', '= "theirs"')
    assert_stopped(fake, root, "theirs")
    assert fake.state.rule_groups["ops", "ops"] == before


# --- secrets: needed by apply only; a rotated one replaces its integration ----------------------


def contact_point_notes(document: dict) -> list[str]:
    return [n for c in document["changes"] if c["kind"] == "contact point" for n in c["notes"]]


def test_validate_and_plan_need_no_secret_and_apply_refuses_without_them(
    fake: FakeGrafana, tmp_path: Path
) -> None:
    root = str(definitions(tmp_path))
    run = provision(fake, "validate", "--definitions", root, telegram_env=False)
    assert run.returncode == 0, run.stdout + run.stderr

    run = provision(fake, "plan", "--output", "json", "--definitions", root, telegram_env=False)
    assert run.returncode == 2, run.stdout + run.stderr
    notes = " ".join(contact_point_notes(json.loads(run.stdout)))
    for field, variable in (("bottoken", "TELEGRAM_BOT_TOKEN"), ("chatid", "TELEGRAM_CHAT_ID")):
        assert f"not compared: {field} ({variable} is not set; apply needs it)" in notes

    line = error_line(provision(fake, "apply", "--definitions", root, telegram_env=False))
    assert "TELEGRAM_BOT_TOKEN" in line and "TELEGRAM_CHAT_ID" in line, line
    assert fake.writes() == 0


def test_plan_without_secrets_after_apply_finds_the_integration_unchanged(
    fake: FakeGrafana, tmp_path: Path
) -> None:
    root = str(definitions(tmp_path))
    applied(fake, "--definitions", root)
    run = provision(fake, "plan", "--output", "json", "--definitions", root, telegram_env=False)
    assert run.returncode == 0, run.stdout + run.stderr
    notes = contact_point_notes(json.loads(run.stdout))
    assert any("TELEGRAM_BOT_TOKEN is not set" in note for note in notes), notes


def test_a_rotated_bot_token_replaces_the_integration(fake: FakeGrafana, tmp_path: Path) -> None:
    root = str(definitions(tmp_path))
    applied(fake, "--definitions", root)
    [old] = telegram(fake)
    assert old["settings"]["bottoken"] == TOKEN

    code, document = plan(fake, "--definitions", root, TELEGRAM_BOT_TOKEN=NEW_TOKEN)
    assert code == 2
    actions = changed(document)
    if notifications_app(fake):  # one receiver holds the integration: it is updated
        assert actions == {("contact point", "Telegram"): "update"}
        [diff] = [c["diff"] for c in document["changes"] if c["kind"] == "contact point"]
        removed = [line for line in diff if line.startswith("-") and old["uid"] in line]
        assert len(removed) == 1
        [added] = [line for line in diff if line.startswith("+") and '"uid"' in line]
        created = added.split('"')[-2]
    else:
        assert actions.pop(("contact point", old["uid"])) == "delete"
        [((kind, created), action)] = actions.items()  # nothing else changes
        assert (kind, action) == ("contact point", "create")

    applied(fake, "--definitions", root, TELEGRAM_BOT_TOKEN=NEW_TOKEN)
    [new] = telegram(fake)
    assert new["uid"] == created != old["uid"]
    assert new["settings"]["bottoken"] == NEW_TOKEN
    assert plan(fake, "--definitions", root, TELEGRAM_BOT_TOKEN=NEW_TOKEN)[0] == 0


# --- edits made in the UI are reverted -----------------------------------------------------------


@dataclass(frozen=True)
class UiEdit:
    change: tuple[str, str]  # the plan's (kind, name) of the object edited
    view: Callable[[OrgState], Any]  # the edited object (or its fields that matter)
    make: Callable[[FakeGrafana], None]  # the edit, as Grafana would store it


def _rule(state: OrgState) -> dict[str, Any]:
    return {k: v for k, v in state.alert_rules()["drift-p-value"].items() if k != "updated"}


def _edit_rule(**fields: Any) -> Callable[[FakeGrafana], None]:
    def make(fake: FakeGrafana) -> None:
        fake.ui_edit_rule("drift-p-value", **fields)

    return make


def _label_rule(fake: FakeGrafana) -> None:
    labels = fake.state.alert_rules()["drift-p-value"]["labels"]
    fake.ui_edit_rule("drift-p-value", labels={**labels, "team": "ops"})


def _add_child_route(fake: FakeGrafana) -> None:
    child = {"receiver": "grafana-default-email", "object_matchers": [["severity", "=", "page"]]}
    branch(fake.state)["routes"].append(fake.api.normalise_route(child))


def _retime_route(fake: FakeGrafana) -> None:
    branch(fake.state)["routes"][0]["group_wait"] = "1m"


def _retime_mute_timing(fake: FakeGrafana) -> None:
    fake.state.mute_timings["drift:quiet"]["time_intervals"] = [{"weekdays": ["monday"]}]


RULES = ("rule group", "drift/data-drift")
POLICY = ("notification policy", "branch managed_by=drift")
UI_EDITS = {
    # keep_firing_for (Grafana 12 on): test_keep_firing_for_edited_in_the_ui_is_reverted.
    "rule paused": UiEdit(RULES, _rule, _edit_rule(isPaused=True)),
    "rule pending period": UiEdit(RULES, _rule, _edit_rule(**{"for": "5m"})),
    "rule label added": UiEdit(RULES, _rule, _label_rule),
    "rule notification_settings": UiEdit(
        RULES, _rule, _edit_rule(notification_settings={"receiver": "Telegram"})
    ),
    "child route under the branch": UiEdit(POLICY, branch, _add_child_route),
    "route timing": UiEdit(POLICY, branch, _retime_route),
    "mute timing": UiEdit(
        ("mute timing", "drift:quiet"),
        lambda s: s.mute_timings["drift:quiet"],
        _retime_mute_timing,
    ),
}


@pytest.mark.parametrize("case", UI_EDITS.values(), ids=UI_EDITS.keys())
def test_an_edit_in_the_ui_is_planned_and_reverted(
    fake: FakeGrafana, tmp_path: Path, case: UiEdit
) -> None:
    root = str(definitions(tmp_path, quiet=True))
    applied(fake, "--definitions", root, **UI_EDITABLE)
    as_applied = copy.deepcopy(case.view(fake.state))
    case.make(fake)
    assert case.view(fake.state) != as_applied

    code, document = plan(fake, "--definitions", root, **UI_EDITABLE)
    assert code == 2
    assert changed(document) == {case.change: "update"}

    applied(fake, "--definitions", root, **UI_EDITABLE)
    assert case.view(fake.state) == as_applied
    assert plan(fake, "--definitions", root, **UI_EDITABLE)[0] == 0


@pytest.mark.fake_versions("12.4", "13.2")
def test_keep_firing_for_edited_in_the_ui_is_reverted(fake: FakeGrafana, tmp_path: Path) -> None:
    """UI_EDITS' case for the field Grafana 12 added (11.x has none: the fake refuses it)."""
    case = UiEdit(RULES, _rule, _edit_rule(keep_firing_for="10m"))
    test_an_edit_in_the_ui_is_planned_and_reverted(fake, tmp_path, case)
    assert _rule(fake.state)["keep_firing_for"] == "0s"  # the definition sets none


@pytest.mark.fake_versions("12.4", "13.2")
def test_missing_series_evals_to_resolve_edited_in_the_ui_is_reverted(
    fake: FakeGrafana, tmp_path: Path
) -> None:
    """Grafana 12's missingSeriesEvalsToResolve (camelCase in the API), set in the rule form:
    the definition sets none (Grafana's default, 2), so apply's PUT resets it."""
    case = UiEdit(RULES, _rule, _edit_rule(missingSeriesEvalsToResolve=5))
    test_an_edit_in_the_ui_is_planned_and_reverted(fake, tmp_path, case)
    assert "missingSeriesEvalsToResolve" not in _rule(fake.state)


# The stack moved to a folder of its own: "drift" is named by no definition any more.
MOVED = {"PROVISION__VALUES__FOLDER__UID": "drift-2", "PROVISION__VALUES__FOLDER__TITLE": "Moved"}
HAND_MADE = {"uid": "hand-made", "title": "Hand made", "panels": []}
KEPT_NOTE = "it still holds objects that others made (Hand made)"


def test_a_folder_left_holding_a_hand_made_dashboard_is_planned_as_kept(
    fake: FakeGrafana,
) -> None:
    applied(fake)
    fake.seed_dashboard(HAND_MADE, folder_uid="drift")
    code, document = plan(fake, **MOVED)
    assert code == 2
    [folder] = [c for c in document["changes"] if c["name"] == "drift"]
    assert (folder["action"], folder["notes"]) == ("keep", [KEPT_NOTE])
    text = provision(fake, "plan", **MOVED).stdout
    assert f"! folder drift: keep\n    note: {KEPT_NOTE}" in text
    assert "- folder drift" not in text

    run = applied(fake, **MOVED)
    assert "delete folder drift" not in run.stdout
    assert f"; folder drift kept: {KEPT_NOTE}." in run.stdout
    # Made: folder drift-2, the rule group in it; changed: the dashboard; gone: the old group.
    assert "Apply complete: 4 changed, " in run.stdout
    assert {"drift", "drift-2"} <= set(fake.state.folders)
    assert "hand-made" in fake.state.dashboards


def test_destroy_counts_a_folder_kept_for_a_hand_made_dashboard_as_kept(
    fake: FakeGrafana,
) -> None:
    applied(fake)
    fake.seed_dashboard(HAND_MADE, folder_uid="drift")
    run = provision(fake, "destroy")
    assert run.returncode == 0, run.stderr
    # Seven objects made by apply; all but the folder go.
    assert f"Destroy complete: 6 removed; folder drift kept: {KEPT_NOTE}." in run.stdout
    assert "drift" in fake.state.folders and "hand-made" in fake.state.dashboards
    assert "data-drift" not in fake.state.dashboards
    again = provision(fake, "destroy", "--output", "json")
    assert json.loads(again.stdout) == {"environment": None, "destroyed": []}


def test_a_folder_that_gets_a_hand_made_dashboard_after_the_plan_is_kept_not_done(
    fake: FakeGrafana,
) -> None:
    """Planned empty, the folder is a deletion; the dashboard made meanwhile keeps it (the
    legacy API is checked first, folder.grafana.app refuses): a KEEP, not among those done."""
    applied(fake)
    client = GrafanaClient(fake.url, token=DEFAULT_TOKEN)
    server = read_server(client, client.check_health())
    changes = make_plan(client, [], [make(Stack("drift")) for make in kinds_for(server)], True)
    [folder] = [c for c in changes if c.kind.label == "folder"]
    assert folder.action == "delete"
    fake.seed_dashboard(HAND_MADE, folder_uid="drift")

    done = apply(client, changes, progress=lambda line: None)
    assert (folder.action, folder.notes) == ("keep", [KEPT_NOTE])
    assert folder not in done and len(done) == 6
    assert "drift" in fake.state.folders and "hand-made" in fake.state.dashboards


def test_destroy_finds_the_stacks_dashboards_on_every_page_of_the_search(
    fake: FakeGrafana, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Grafana answers a search 5,000 hits at most (api/search.go): at 2 a page, the stack's
    five dashboards among eight spread over four pages, and every one of them goes."""
    monkeypatch.setattr(dashboards_kind, "SEARCH_PAGE", 2)
    for n in range(5):
        fake.seed_dashboard({"uid": f"ours-{n}", "title": f"B {n}", "tags": ["managed_by:drift"]})
    for n in range(3):
        fake.seed_dashboard({"uid": f"theirs-{n}", "title": f"A {n}"})
    client = GrafanaClient(fake.url, token=DEFAULT_TOKEN)
    server = read_server(client, client.check_health())
    changes = make_plan(client, [], [make(Stack("drift")) for make in kinds_for(server)], True)
    assert sorted(c.key for c in changes if c.kind.label == "dashboard") == [
        f"ours-{n}" for n in range(5)
    ]
    assert all(c.action == "delete" for c in changes)


def test_a_new_folder_title_keeps_the_description_someone_gave_the_folder(
    fake: FakeGrafana,
) -> None:
    """Grafana 13's folder API replaces the whole spec on a PUT: ours sends it back whole."""
    applied(fake)
    fake.state.folders["drift"]["description"] = "owned by the ML team"
    applied(fake, PROVISION__VALUES__FOLDER__TITLE="Drift alerts")
    folder = fake.state.folders["drift"]
    assert (folder["title"], folder["description"]) == ("Drift alerts", "owned by the ML team")


def test_a_search_that_ignores_the_page_ends_the_listing_instead_of_looping(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A proxy in front of Grafana that drops ``page`` answers page 1 again and again."""
    monkeypatch.setattr(dashboards_kind, "SEARCH_PAGE", 2)
    page_one = [{"uid": "a", "title": "A"}, {"uid": "b", "title": "B"}]
    asked: list[dict[str, Any]] = []

    class PageDropping:
        def get(self, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
            asked.append(params)
            return page_one

    hits = dashboards_kind.every_dashboard(PageDropping())  # type: ignore[arg-type]
    assert [hit["uid"] for hit in hits] == ["a", "b"]
    assert [params["page"] for params in asked] == [1, 2]
