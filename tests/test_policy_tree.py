"""``grafana.policy_tree: own``: on Grafana 13 with named routing trees (feature toggle
alertingMultiplePolicies), the stack's routes live in a routing tree of their own, named after
the stack, that the stack's rules select; Grafana's default tree is never written. Where
Grafana has no named trees, the setting is one line and nothing is written. Switching either
way moves the branch: the new place is written, then the old one goes."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from course_state import seed_course_state
from fake_grafana import DEFAULT_TOKEN, NOTIFICATIONS_GROUP, FakeGrafana
from provision_cli import applied, error_line, plan, provision
from provisioning.client import GrafanaClient, GrafanaError
from provisioning.discover import discover
from provisioning.kinds import Stack, kinds_for
from provisioning.plan import apply, make_plan
from provisioning.server import read_server
from provisioning.settings import load_settings

OWN = {"PROVISION__GRAFANA__POLICY_TREE": "own"}
TOGGLE = "alertingMultiplePolicies"
TREES = f"/apis/{NOTIFICATIONS_GROUP}/v1beta1/namespaces/default/routingtrees"
# The branch that holds the stack's routes, wherever it is (ownership.py: routes).
BRANCH_MATCHER = {"label": "managed_by", "type": "=", "value": "drift"}
WRITES = ("POST", "PUT", "PATCH", "DELETE")


def get(fake: FakeGrafana, path: str) -> requests.Response:
    headers = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}
    return requests.get(fake.url + path, headers=headers, timeout=5)


def tree(fake: FakeGrafana, name: str) -> dict[str, Any] | None:
    response = get(fake, f"{TREES}/{name}")
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return response.json()


def branches(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in spec.get("routes") or [] if BRANCH_MATCHER in (r.get("matchers") or [])]


def routing_of_rules(fake: FakeGrafana) -> set[Any]:
    rules = get(fake, "/api/v1/provisioning/alert-rules").json()
    assert rules
    return {repr(rule.get("notification_settings")) for rule in rules}


def writes(fake: FakeGrafana, since: int = 0) -> list[str]:
    return [f"{r.method} {r.path}" for r in fake.requests[since:] if r.method in WRITES]


def make_tree(fake: FakeGrafana, name: str, routes: list[dict[str, Any]]) -> None:
    """A routing tree made by someone else, through the API."""
    receiver = tree(fake, "user-defined")["spec"]["defaults"]["receiver"]
    body = {
        "apiVersion": f"{NOTIFICATIONS_GROUP}/v1beta1",
        "kind": "RoutingTree",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"defaults": {"receiver": receiver}, "routes": routes},
    }
    headers = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}
    made = requests.post(fake.url + TREES, json=body, headers=headers, timeout=5)
    assert made.status_code == 201, made.text


@pytest.fixture
def named(fake: FakeGrafana) -> FakeGrafana:
    fake.features.add(TOGGLE)
    return fake


@pytest.mark.fake_versions("13.2")
def test_the_stack_tree_holds_its_routes_and_the_default_tree_is_not_written(
    named: FakeGrafana,
) -> None:
    default_before = tree(named, "user-defined")
    assert default_before is not None
    applied(named, **OWN)

    own = tree(named, "drift")
    assert own is not None
    [branch] = branches(own["spec"])
    assert own["spec"]["routes"] == [branch]  # the branch is all the tree holds
    assert len(branch["routes"]) == 3  # drift, stale pipeline, monitor down
    # Alerts no route of the stack matches go where the default tree's root sends them.
    assert own["spec"]["defaults"] == default_before["spec"]["defaults"]
    assert own["metadata"]["annotations"]["grafana.com/provenance"] == "api"
    assert tree(named, "user-defined")["spec"] == default_before["spec"]
    assert routing_of_rules(named) == {repr({"receiver": "", "policy": "drift"})}
    touched = [w for w in writes(named) if "/routingtrees/user-defined" in w or "/policies" in w]
    assert touched == []

    mark = len(named.requests)
    code, document = plan(named, **OWN)
    assert code == 0, document
    assert {c["action"] for c in document["changes"]} == {"unchanged"}
    applied(named, **OWN)
    assert writes(named, mark) == []


@pytest.mark.fake_versions("13.2")
def test_switching_to_the_own_tree_and_back_moves_the_branch(named: FakeGrafana) -> None:
    applied(named)
    assert len(branches(tree(named, "user-defined")["spec"])) == 1
    assert tree(named, "drift") is None

    code, document = plan(named, **OWN)
    assert code == 2
    actions = {(c["kind"], c["name"]): c["action"] for c in document["changes"]}
    assert actions[("notification policy", "tree drift")] == "create"
    assert actions[("notification policy", "branch managed_by=drift")] == "delete"
    assert actions[("rule group", "drift/data-drift")] == "update"
    order = [c["name"] for c in document["changes"] if c["action"] != "unchanged"]
    # The tree first, then the rules that select it, and only then the old branch goes.
    assert order.index("tree drift") < order.index("drift/data-drift")
    assert order.index("drift/data-drift") < order.index("branch managed_by=drift")

    applied(named, **OWN)
    assert branches(tree(named, "user-defined")["spec"]) == []
    assert len(branches(tree(named, "drift")["spec"])) == 1
    assert routing_of_rules(named) == {repr({"receiver": "", "policy": "drift"})}

    applied(named)
    assert tree(named, "drift") is None
    assert len(branches(tree(named, "user-defined")["spec"])) == 1
    assert routing_of_rules(named) == {repr(None)}
    assert plan(named)[0] == 0


@pytest.mark.fake_versions("13.2")
def test_destroy_removes_the_stack_tree_and_leaves_the_default_one(named: FakeGrafana) -> None:
    default_before = tree(named, "user-defined")
    applied(named, **OWN)
    run = provision(named, "destroy", **OWN)
    assert run.returncode == 0, run.stdout + run.stderr
    assert tree(named, "drift") is None
    assert tree(named, "user-defined")["spec"] == default_before["spec"]


@pytest.mark.fake_versions("13.2")
def test_a_tree_of_the_stack_name_made_by_someone_else_stops_the_plan(
    named: FakeGrafana,
) -> None:
    make_tree(named, "drift", [])
    mark = len(named.requests)

    run = provision(named, "plan", **OWN)
    assert run.returncode == 1
    assert "tree drift exists and belongs to someone else" in run.stderr
    assert writes(named, mark) == []
    assert not tree(named, "drift")["spec"]["routes"]  # theirs, as made (no route: null)


@pytest.mark.fake_versions("11.6", "12.4", "13.2")
def test_own_tree_is_one_line_where_grafana_has_no_named_trees(fake: FakeGrafana) -> None:
    """11.6 and 12.4 serve no routing trees at beta; 13.2 has them only with the toggle on
    (Grafana's default: off)."""
    line = error_line(provision(fake, "apply", **OWN))
    assert f"policy_tree: own needs Grafana 13 with the feature toggle {TOGGLE}" in line
    assert f"Grafana {fake.profile.version}" in line
    assert writes(fake) == []


def test_policy_tree_must_be_shared_or_own() -> None:
    line = error_line(provision(None, "validate", PROVISION__GRAFANA__POLICY_TREE="mine"))
    assert "grafana.policy_tree: 'mine' must be one of shared or own" in line


def test_a_stack_named_as_the_default_tree_cannot_have_its_own() -> None:
    run = provision(None, "validate", PROVISION__STACK="default", **OWN)
    assert "names Grafana's default policy tree" in error_line(run)
    assert provision(None, "validate", PROVISION__STACK="default").returncode == 0


def test_own_tree_is_not_exported_as_files(tmp_path: Any) -> None:
    target = tmp_path / "out"
    line = error_line(provision(None, "export", str(target), **OWN))
    assert "policy_tree: own cannot be exported as provisioning files" in line
    assert not target.exists()


@pytest.mark.fake_versions("13.2")
def test_a_tree_of_the_stack_name_made_between_plan_and_apply_is_not_written(
    named: FakeGrafana,
) -> None:
    """The create meets Grafana's 409 (the name is taken): the tree is read again and, not
    the stack's, left as its maker made it."""
    stack = Stack("drift", own_tree=True, environ={"TELEGRAM_BOT_TOKEN": "1:x"})
    client = GrafanaClient(named.url, token=DEFAULT_TOKEN)
    server = read_server(client, client.check_health(), features=True)
    kinds = [make(stack) for make in kinds_for(server, own_tree=True)]
    definitions = discover(load_settings(environ={}).values).definitions
    changes = make_plan(client, definitions, kinds)
    theirs = [{"receiver": "grafana-default-email", "continue": False,
               "matchers": [{"label": "team", "type": "=", "value": "b"}]}]  # fmt: skip
    make_tree(named, "drift", theirs)
    with pytest.raises(GrafanaError) as refused:
        apply(client, changes, progress=lambda line: None)
    assert refused.value.status == 409
    after = tree(named, "drift")
    assert after["spec"]["routes"] == theirs
    assert after["metadata"]["annotations"]["grafana.com/provenance"] == ""


@pytest.mark.fake_versions("13.2")
@pytest.mark.parametrize("takeover", ["--adopt", "--replace"])
def test_a_takeover_with_an_own_tree_leaves_the_default_tree_editable(
    named: FakeGrafana, takeover: str
) -> None:
    """The course's hand-made route goes from the default tree, which stays as it was made:
    editable in the UI (locking it would lock everyone's routes)."""
    seed_course_state(named)
    assert tree(named, "user-defined")["metadata"]["annotations"]["grafana.com/provenance"] == ""
    applied(named, takeover, **OWN)
    default = tree(named, "user-defined")
    assert default["metadata"]["annotations"]["grafana.com/provenance"] == ""
    assert not default["spec"]["routes"]  # the look-alike route went
    assert len(branches(tree(named, "drift")["spec"])) == 1


@pytest.mark.fake_versions("13.2")
def test_unlocking_an_own_tree_says_destroy_then_apply_and_nothing_of_the_default_tree(
    named: FakeGrafana,
) -> None:
    applied(named, **OWN)
    line = error_line(provision(named, "plan", PROVISION__GRAFANA__UI_EDITABLE="true", **OWN))
    assert "cannot make" in line and "notification policy tree drift" in line
    assert "Run `provision.py destroy` with ui_editable: false" in line
    assert "/api/v1/provisioning/policies" not in line


@pytest.mark.fake_versions("13.2")
def test_rules_that_select_a_tree_grafana_no_longer_lists_stop_the_plan(
    named: FakeGrafana,
) -> None:
    """The toggle turned off after the stack moved into its tree: Grafana lists the default
    tree alone. Planned as shared, the branch would go back and the tree stay behind unseen."""
    applied(named, **OWN)
    named.features.discard(TOGGLE)
    mark = len(named.requests)
    for command in ("plan", "apply", "destroy"):
        line = error_line(provision(named, command))
        assert "the stack's rules select its policy tree 'drift', which Grafana does not" in line
        assert f"is the feature toggle {TOGGLE} off?" in line
    assert writes(named, mark) == []


def test_an_own_tree_name_ends_with_a_letter_or_digit() -> None:
    run = provision(None, "validate", PROVISION__STACK="drift-", **OWN)
    assert "must end with a letter or a digit" in error_line(run)
    assert provision(None, "validate", PROVISION__STACK="drift-").returncode == 0
