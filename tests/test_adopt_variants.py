"""Taking over hand-made setups that differ from the course text: the course state as the
person's screenshots show it (two Prometheus data sources, the rule's label misspelt), a
contact point holding more integrations than ours, a policy narrower than ours, a rule made
by hand on our queries. Each ends, after `adopt`, with one of each object, and the plan says
first what goes."""

from __future__ import annotations

import json

import names
from alerting.rules import DRIFT_RULE_UID
from course_state import (
    BOT_TOKEN,
    CONTACT_POINT,
    DASHBOARD_TITLE,
    LABEL,
    MISSPELT_LABEL,
    add_integration,
    seed_course_state,
    serves_notifications_app,
)
from fake_grafana import FakeGrafana
from provision_cli import applied, error_line, plan, provision

EMAIL = "me@example.com"
MARK = ["managed_by", "=", "drift"]


def rules(fake: FakeGrafana) -> list[dict]:
    return [r for g in fake.state.rule_groups.values() for r in g["rules"]]


def changes(document: dict, action: str) -> dict[str, list[str]]:
    """The changes of ``action``, by name: their notes."""
    return {c["name"]: c["notes"] for c in document["changes"] if c["action"] == action}


def no_secret(*outputs: str) -> None:
    for output in outputs:
        assert BOT_TOKEN not in output


def test_adopt_takes_over_the_course_state_as_the_screenshots_show_it(fake: FakeGrafana) -> None:
    """Two Prometheus data sources (dash_1's prometheus-1 for the dashboard, dash_5's
    prometheus for the rule) and the rule's label misspelt (dash_11): one of each remains."""
    seeded = seed_course_state(fake, as_screenshots=True)
    assert seeded.second_datasource_uid
    _, document = plan(fake, "--adopt")
    rule_notes = changes(document, "delete")[seeded.rule_uid]
    assert f"misspelt {MISSPELT_LABEL}=true" in " ".join(rule_notes)

    applied(fake, "--adopt")
    state = fake.state
    assert sorted(state.datasources) == ["drift-prometheus"]
    assert [d["dashboard"]["title"] for d in state.dashboards.values()] == [DASHBOARD_TITLE]
    assert all(r["labels"].get("managed_by") == "drift" for r in rules(fake))  # theirs went
    assert [r["uid"] for r in rules(fake) if r["labels"].get(LABEL)] == ["drift-p-value"]
    sources = {q["datasourceUid"] for r in rules(fake) for q in r["data"]} - {"__expr__"}
    assert sources == {"drift-prometheus"}
    [branch] = state.policy_tree["routes"]
    assert branch["object_matchers"] == [MARK]
    assert not fake.spec_violations
    fake.reset_log()
    applied(fake, "--adopt")
    assert fake.writes() == 0


def test_the_plan_says_of_each_data_source_what_apply_adopt_does_with_it(
    fake: FakeGrafana,
) -> None:
    """Two look-alike data sources: --adopt makes the first ours in place and deletes the
    second, so a plain plan says so of each (not "in place" of both); only of the first that
    its uid moves, and of the --adopt it holds for."""
    seeded = seed_course_state(fake, as_screenshots=True)
    first, second = seeded.datasource_uid, seeded.second_datasource_uid
    _, document = plan(fake)
    shown = changes(document, "candidate")
    ours = "data source drift-prometheus"
    assert f"--adopt: {ours} is written and this one deleted" in shown[second]
    assert f"--replace: {ours} is written and this one deleted" in shown[second]
    assert not any("becomes drift-prometheus" in note for note in shown[second])
    assert "--adopt: it becomes ours in place" in shown[first]
    moved = f"its uid becomes drift-prometheus (to keep {first}, make it the definition's uid)"
    assert f"--adopt: {moved}" in shown[first]

    kept = fake.state.datasources[first]["id"]
    applied(fake, "--adopt")
    assert sorted(fake.state.datasources) == ["drift-prometheus"]
    assert fake.state.datasources["drift-prometheus"]["id"] == kept  # the first, in place


def test_no_deletion_says_its_uid_becomes_ours(fake: FakeGrafana) -> None:
    """A look-alike deleted (the second data source under --adopt, each under --replace)
    keeps no uid: only an adoption's notes say the uid moves."""
    seeded = seed_course_state(fake, as_screenshots=True)
    for flag in ("--adopt", "--replace"):
        _, document = plan(fake, flag)
        deleted = changes(document, "delete")
        assert seeded.second_datasource_uid in deleted
        assert not [n for notes in deleted.values() for n in notes if "becomes" in n], flag
    adoption = changes(plan(fake, "--adopt")[1], "adopt")["drift-prometheus"]
    assert any("its uid becomes drift-prometheus" in note for note in adoption)


def test_the_plan_names_every_integration_a_takeover_drops(fake: FakeGrafana) -> None:
    """Their "Telegram" holds a Telegram and an email integration: taking it over leaves
    ours alone, and the plan says the email one goes, in every output, no secret shown."""
    seed_course_state(fake)
    add_integration(fake, "email", {"addresses": EMAIL})
    [email] = [
        c
        for c in fake.state.contact_points.values()
        if (c["name"], c["type"]) == (CONTACT_POINT, "email")
    ]
    text = provision(fake, "plan", "--adopt")
    markdown = provision(fake, "plan", "--adopt", "--output", "markdown")
    _, document = plan(fake, "--adopt")
    outputs = [text.stdout, markdown.stdout, json.dumps(document)]
    no_secret(*outputs, text.stderr, markdown.stderr)
    for output in outputs:
        assert email["uid"] in output
    assert f"email {email['uid']}" in text.stdout or f"email (uid {email['uid']})" in text.stdout
    if serves_notifications_app(fake):  # one receiver: the adoption's diff shows it go
        [adoption] = [c for c in document["changes"] if c["action"] == "adopt" and
                      c["name"] == CONTACT_POINT]  # fmt: skip
        removed = "\n".join(line for line in adoption["diff"] if line.startswith("-"))
        assert email["uid"] in removed and EMAIL in removed
        assert '"bottoken": "(secret)"' in "\n".join(adoption["diff"])  # named, not shown

    applied(fake, "--adopt")
    points = [c for c in fake.state.contact_points.values() if c["name"] == CONTACT_POINT]
    assert points and all(c["uid"].startswith("drift_") for c in points)
    assert not fake.spec_violations


def test_a_policy_narrower_than_ours_to_our_contact_point_is_taken_over(
    fake: FakeGrafana,
) -> None:
    """drift_threshold_detected=true and severity=critical -> Telegram only ever sends what
    ours sends: a candidate, gone after adopt; the same matchers to another receiver stay."""
    seed_course_state(fake)
    fake.seed_contact_point("ops-email", settings={"addresses": "ops@example.com"})
    narrower = [[LABEL, "=", "true"], ["severity", "=", "critical"]]
    fake.seed_route({"receiver": CONTACT_POINT, "object_matchers": narrower})
    fake.seed_route({"receiver": "ops-email", "object_matchers": narrower})
    _, document = plan(fake, "--adopt")
    name = f"route {LABEL}=true, severity=critical -> {CONTACT_POINT}"
    assert "same receiver 'Telegram'" in " ".join(changes(document, "delete")[name])
    assert not any("ops-email" in n for n in changes(document, "delete"))

    applied(fake, "--adopt")
    routes = fake.state.policy_tree["routes"]
    assert [r["receiver"] for r in routes if r["object_matchers"] != [MARK]] == ["ops-email"]
    assert not fake.spec_violations


def test_a_rule_made_by_hand_on_our_queries_is_a_candidate(fake: FakeGrafana) -> None:
    """Another title, no label, but querying only what our drift rule queries (spaced
    differently): it would fire beside ours."""
    seeded = seed_course_state(fake)
    query = {
        "refId": "A",
        "datasourceUid": seeded.datasource_uid,
        "relativeTimeRange": {"from": 600, "to": 0},
        "model": {"refId": "A", "expr": f"  {names.P_VALUE_ADJUSTED} ", "instant": True},
    }
    below = {
        "refId": "B",
        "datasourceUid": "__expr__",
        "model": {
            "refId": "B",
            "type": "threshold",
            "expression": "A",
            "conditions": [{"evaluator": {"type": "lt", "params": [0.05]}}],
        },
    }
    rule = {"title": "p below 0.05", "condition": "B", "data": [query, below]}
    [theirs] = fake.seed_rule_group("ops", "watch", [rule])["rules"]
    renamed = {"PROVISION__VALUES__TELEGRAM__CONTACT_POINT": "Drift alerts"}
    _, document = plan(fake, **renamed)
    notes = changes(document, "candidate")[theirs["uid"]]
    assert "same queries as drift-p-value" in " ".join(notes)
    applied(fake, "--adopt", **renamed)
    assert theirs["uid"] not in {r["uid"] for r in rules(fake)}


def test_a_contact_point_of_our_name_but_none_of_our_types_is_a_clash(fake: FakeGrafana) -> None:
    """An email contact point named like our Telegram one is another contact point under our
    name, not ours made by hand: no candidate (adopting it would swap their email for our
    Telegram), so plan and apply stop, --adopt too, naming it and why it is no look-alike."""
    theirs = fake.seed_contact_point(CONTACT_POINT, "email", {"addresses": EMAIL})
    for args in ([], ["--adopt"], ["--replace"]):
        line = error_line(provision(fake, "plan", *args))
        assert (
            f"its name '{CONTACT_POINT}' is taken by a contact point this stack does not own "
            f"(it holds email (uid {theirs['uid']}), none of our integration types: telegram)"
        ) in line, line
        assert "--adopt" not in line  # not offered as ours
    fake.reset_log()
    error_line(provision(fake, "apply", "--adopt"))
    assert fake.writes() == 0
    kept = [c["type"] for c in fake.state.contact_points.values() if c["name"] == CONTACT_POINT]
    assert kept == ["email"]


def test_a_rule_sharing_only_our_uid_is_a_clash(fake: FakeGrafana) -> None:
    """A math rule of theirs at our drift rule's uid (another title, none of its labels or
    queries) is another alert: adopt would overwrite it, so it is no candidate and plan stops
    naming it; the same rule with our rule's labels is a candidate."""
    seeded = {"uid": DRIFT_RULE_UID, "title": "Always firing"}
    fake.seed_rule_group("ops", "watch", [seeded])
    for args in ([], ["--adopt"]):
        line = error_line(provision(fake, "plan", *args))
        assert f"rule uids taken by rules it does not own: {DRIFT_RULE_UID} (in ops/watch)" in line
        assert "--adopt" not in line
    assert [r["title"] for r in rules(fake)] == ["Always firing"]

    fake.seed_rule_group("ops", "watch", [seeded | {"labels": {LABEL: "true"}}])
    _, document = plan(fake)
    notes = " ".join(changes(document, "candidate")[DRIFT_RULE_UID])
    assert f"same uid and labels as {DRIFT_RULE_UID}" in notes
