"""Taking over the Grafana a course user set up by hand (tests/course_state.py): plan lists
the hand-made objects that look like ours, `adopt` makes them the stack's, `--replace` puts
ours in their place; objects that do not look like ours are never touched."""

from __future__ import annotations

import copy
from pathlib import Path

from course_state import (
    CHAT_ID,
    CONTACT_POINT,
    DASHBOARD_TITLE,
    LABEL,
    PROMETHEUS_URL,
    RULE_TITLE,
    seed_course_state,
    serves_notifications_app,
)
from fake_grafana import FakeGrafana
from provision_cli import applied, copy_definitions, error_line, plan, provision


def test_the_course_state_is_seeded_as_the_ui_makes_it(fake: FakeGrafana) -> None:
    seeded = seed_course_state(fake)
    state = fake.state
    [source] = state.datasources.values()
    assert (source["uid"], source["url"]) == (seeded.datasource_uid, PROMETHEUS_URL)
    assert source["jsonData"].get("managed_by") is None
    [board] = state.dashboards.values()
    assert (board["uid"], board["folderUid"]) == (seeded.dashboard_uid, "")
    assert board["dashboard"]["title"] == DASHBOARD_TITLE
    [point] = [c for c in state.contact_points.values() if c["name"] == CONTACT_POINT]
    assert (point["type"], point["settings"]["chatid"], point["provenance"]) == (
        "telegram",
        CHAT_ID,
        "",
    )
    [rule] = [r for g in state.rule_groups.values() for r in g["rules"]]
    assert (rule["uid"], rule["title"], rule["provenance"]) == (seeded.rule_uid, RULE_TITLE, "")
    assert rule["data"][0]["datasourceUid"] == seeded.datasource_uid
    [route] = state.policy_tree["routes"]
    assert route["receiver"] == CONTACT_POINT
    assert route["object_matchers"] == [[LABEL, "=", "true"]]


# -- helpers -------------------------------------------------------------------------------


def actions(document: dict) -> dict[str, str]:
    return {f"{c['kind']} {c['name']}": c["action"] for c in document["changes"]}


def by_action(document: dict, action: str) -> list[str]:
    return sorted(f"{c['kind']} {c['name']}" for c in document["changes"] if c["action"] == action)


def rules(fake: FakeGrafana) -> list[dict]:
    return [r for g in fake.state.rule_groups.values() for r in g["rules"]]


def top_routes(fake: FakeGrafana) -> list[dict]:
    return list(fake.state.policy_tree.get("routes") or [])


def assert_one_of_each(fake: FakeGrafana) -> None:
    """What the course user ends with: one of each object, all the stack's, referring to
    each other by our uids and names."""
    state = fake.state
    assert sorted(state.datasources) == ["drift-prometheus"]
    assert state.datasources["drift-prometheus"]["jsonData"]["managed_by"] == "drift"
    titles = [d["dashboard"]["title"] for d in state.dashboards.values()]
    assert titles == [DASHBOARD_TITLE]
    assert "managed_by:drift" in state.dashboards["data-drift"]["dashboard"]["tags"]
    integrations = [c for c in state.contact_points.values() if c["name"] == CONTACT_POINT]
    assert integrations and all(c["uid"].startswith("drift_") for c in integrations)
    assert sorted(state.folders) == ["drift"]  # theirs, "Drift", went once left empty
    drift = [r for r in rules(fake) if r["labels"].get(LABEL) == "true"]
    assert [r["uid"] for r in drift] == ["drift-p-value"]
    assert all(r["labels"]["managed_by"] == "drift" for r in rules(fake))
    # References follow: every query names our data source, every route our contact point.
    sources = {q["datasourceUid"] for r in rules(fake) for q in r["data"]} - {"__expr__"}
    assert sources == {"drift-prometheus"}
    [branch] = top_routes(fake)  # theirs went, ours is the stack's branch
    assert branch["object_matchers"] == [["managed_by", "=", "drift"]]
    assert {route["receiver"] for route in branch["routes"]} == {CONTACT_POINT}
    assert not fake.spec_violations


# -- plan ----------------------------------------------------------------------------------


def test_a_plain_plan_lists_every_candidate_and_apply_stops_naming_the_flags(
    fake: FakeGrafana,
) -> None:
    """Our contact point's name is taken by theirs, a candidate: plan shows what each flag
    does (no error), and apply without a flag stops before any write, saying which to pass."""
    seeded = seed_course_state(fake)
    fake.reset_log()
    code, document = plan(fake)
    assert code == 2
    their_point = CONTACT_POINT if serves_notifications_app(fake) else their_integration(fake)
    assert by_action(document, "candidate") == sorted(
        [
            f"data source {seeded.datasource_uid}",
            f"dashboard {seeded.dashboard_uid}",
            f"contact point {their_point}",
            f"notification policy route {LABEL}=true -> {CONTACT_POINT}",
            f"rule group {seeded.rule_uid}",
            f"folder {seeded.folder_uid}",  # it holds only their rule: left empty
        ]
    )
    for output in ("text", "markdown"):
        run = provision(fake, "plan", "--output", output)
        assert run.returncode == 2, run.stderr
        [stop] = [line for line in run.stdout.splitlines() if "Apply stops" in line]
        assert f"contact point {CONTACT_POINT}" in stop and "its name 'Telegram' is taken" in stop
        assert "--adopt" in stop and "--replace" in stop

    line = error_line(provision(fake, "apply"))
    assert line.startswith("Error: stopped, nothing written: ")
    assert f"contact point {CONTACT_POINT}" in line and "its name 'Telegram' is taken" in line
    assert "--adopt takes it over" in line and "--replace puts ours in its place" in line
    assert fake.writes() == 0


def test_plan_lists_the_candidates_when_nothing_clashes_and_apply_leaves_them(
    fake: FakeGrafana,
) -> None:
    seed_course_state(fake)
    renamed = {"PROVISION__VALUES__TELEGRAM__CONTACT_POINT": "Drift alerts"}
    code, document = plan(fake, **renamed)
    assert code == 2
    candidates = by_action(document, "candidate")
    assert len(candidates) == 5  # not the contact point: its name differs now
    assert any(name.startswith("data source ") for name in candidates)
    assert any(name.startswith("notification policy route ") for name in candidates)
    notes = {c["name"]: c["notes"] for c in document["changes"] if c["action"] == "candidate"}
    datasource_notes = notes[seed_datasource_uid(fake)]
    assert "--adopt: it becomes ours in place" in datasource_notes
    replace = [n for n in datasource_notes if n.startswith("--replace: ")]
    assert replace == ["--replace: data source drift-prometheus is written and this one deleted"]
    text = provision(fake, "plan", **renamed).stdout
    assert text.count("? ") >= 5 and "5 to take over (--adopt or --replace)" in text
    markdown = provision(fake, "plan", "--output", "markdown", **renamed).stdout
    assert "| kind | create | update | delete | unchanged | candidate |" in markdown
    assert "`?` candidate **data source 'prometheus'" in markdown

    before = snapshot(fake)
    run = applied(fake, **renamed)  # no flag: the hand-made objects stay as they are
    assert "; 5 made by hand look like ours (plan --adopt)." in run.stdout
    after = snapshot(fake)
    assert {k: after[k] for k in before} == before

    # Ours now sit beside theirs (what apply did before adopt existed): --adopt removes theirs.
    applied(fake, "--adopt", **renamed)
    assert sorted(fake.state.datasources) == ["drift-prometheus"]
    assert [d["uid"] for d in fake.state.dashboards.values()] == ["data-drift"]
    assert [r["uid"] for r in rules(fake) if r["labels"].get(LABEL)] == ["drift-p-value"]
    [branch] = top_routes(fake)
    assert branch["object_matchers"] == [["managed_by", "=", "drift"]]


def seed_datasource_uid(fake: FakeGrafana) -> str:
    [uid] = [u for u, d in fake.state.datasources.items() if d["name"] == "prometheus"]
    return uid


def snapshot(fake: FakeGrafana) -> dict[str, object]:
    """The objects nobody owns, as the fake holds them."""
    state = fake.state
    return copy.deepcopy(
        {
            **{
                f"ds {u}": d
                for u, d in state.datasources.items()
                if "managed_by" not in d["jsonData"]
            },
            **{
                f"dashboard {u}": d["dashboard"]
                for u, d in state.dashboards.items()
                if "managed_by:drift" not in (d["dashboard"].get("tags") or [])
            },
            **{
                f"cp {c['name']} {u}": c
                for u, c in state.contact_points.items()
                if not u.startswith("drift_")
            },
            **{f"rule {r['title']}": r for r in rules(fake) if "managed_by" not in r["labels"]},
            **{
                f"route {r.get('receiver')} {r.get('object_matchers')}": r
                for r in top_routes(fake)
                if r.get("object_matchers") != [["managed_by", "=", "drift"]]
            },
        }
    )


# -- adopt and replace -----------------------------------------------------------------------


def test_adopt_leaves_one_of_each_and_a_reapply_writes_nothing(fake: FakeGrafana) -> None:
    seeded = seed_course_state(fake)
    their_id = fake.state.datasources[seeded.datasource_uid]["id"]
    fake.reset_log()
    code, document = plan(fake, "--adopt")
    assert code == 2
    assert actions(document)["data source drift-prometheus"] == "adopt"
    assert sorted(by_action(document, "delete")) == sorted(
        [
            f"dashboard {seeded.dashboard_uid}",
            f"rule group {seeded.rule_uid}",
            f"notification policy route {LABEL}=true -> {CONTACT_POINT}",
            f"folder {seeded.folder_uid}",  # theirs, left empty: it held only their rule
            *(
                []  # Grafana 13: the receiver itself is taken over, in place
                if serves_notifications_app(fake)
                else [f"contact point {their_integration(fake)}"]
            ),
        ]
    )
    if serves_notifications_app(fake):
        assert actions(document)[f"contact point {CONTACT_POINT}"] == "adopt"
    markdown = provision(fake, "plan", "--adopt", "--output", "markdown").stdout
    assert "| kind | create | update | delete | unchanged | adopt |" in markdown
    assert "`>` adopt **data source drift-prometheus**" in markdown
    assert fake.writes() == 0  # plan writes nothing

    applied(fake, "--adopt")
    assert_one_of_each(fake)
    # The data source is theirs made ours: the same object (its id), at our uid.
    assert fake.state.datasources["drift-prometheus"]["id"] == their_id

    fake.reset_log()
    applied(fake, "--adopt")
    applied(fake)
    assert fake.writes() == 0
    code, document = plan(fake)
    assert code == 0 and set(actions(document).values()) == {"unchanged"}


def test_replace_leaves_only_ours(fake: FakeGrafana) -> None:
    seeded = seed_course_state(fake)
    their_id = fake.state.datasources[seeded.datasource_uid]["id"]
    _, document = plan(fake, "--replace")
    assert actions(document)["data source drift-prometheus"] == "create"
    assert actions(document)[f"data source {seeded.datasource_uid}"] == "delete"
    assert "adopt" not in {
        action for name, action in actions(document).items() if name.startswith("data source")
    }

    applied(fake, "--replace")
    assert_one_of_each(fake)
    assert fake.state.datasources["drift-prometheus"]["id"] != their_id
    fake.reset_log()
    applied(fake, "--replace")
    assert fake.writes() == 0


def test_adopt_keeps_a_dashboard_whose_uid_the_definitions_take(fake: FakeGrafana) -> None:
    """Set the definition's uid to theirs and the dashboard is updated in place: its uid
    (links, bookmarks) and its version history stay."""
    seeded = seed_course_state(fake)
    keep = {"PROVISION__VALUES__DASHBOARD__UID": seeded.dashboard_uid}
    _, document = plan(fake, "--adopt", **keep)
    assert actions(document)[f"dashboard {seeded.dashboard_uid}"] == "adopt"
    applied(fake, "--adopt", **keep)
    [board] = fake.state.dashboards.values()
    assert (board["uid"], board["version"]) == (seeded.dashboard_uid, 2)
    assert board["folderUid"] == "drift"
    rule = next(r for r in rules(fake) if r["uid"] == "drift-p-value")
    assert rule["annotations"]["__dashboardUid__"] == seeded.dashboard_uid  # links follow
    fake.reset_log()
    applied(fake, "--adopt", **keep)
    assert fake.writes() == 0


# Their rule as code, at its own uid and in its own folder and group (as `pull` writes it).
THEIR_RULE_MODULE = """
from dashboards.drift import datasource
from provisioning.model import Folder, Query, Reduce, Route, Rule, RuleGroup, Threshold


def define(values):
    steps = {{
        "A": Query('drift{{metric="p_value"}}', datasource(values)),
        "B": Reduce("A"),
        "C": Threshold("B", "<", 0.05),
    }}
    rule = Rule(uid="{uid}", title="{title}", steps=steps, condition="C",
                labels={{"course": "true"}}, pending="10s")
    folder = Folder("{folder}", "Drift")
    group = RuleGroup(folder=folder, name="Drift", interval="10s", rules=[rule])
    return [folder, group, Route(receiver="Telegram", matchers={{"course": "true"}})]
"""


def test_adopt_moves_a_rule_that_a_definition_names_by_its_uid(
    fake: FakeGrafana, tmp_path: Path
) -> None:
    """A rule defined at their rule's uid is taken over by its group's write (Grafana moves
    the rule into the group naming its uid): kept, never deleted."""
    seeded = seed_course_state(fake)
    root = copy_definitions(tmp_path / "definitions")
    module = THEIR_RULE_MODULE.format(
        uid=seeded.rule_uid, title=RULE_TITLE, folder=seeded.folder_uid
    )
    (root / "alerting" / "theirs.py").write_text(module)
    where = {"PROVISION_DEFINITIONS": str(root)}
    fake.reset_log()
    code, document = plan(fake, **where)  # theirs at our key: a candidate, no clash
    assert (code, actions(document)[f"rule group {seeded.rule_uid}"]) == (2, "candidate")
    refused = error_line(provision(fake, "apply", **where))
    assert f"rule group {seeded.folder_uid}/Drift: it exists, made by hand" in refused
    assert fake.writes() == 0
    _, document = plan(fake, "--adopt", **where)
    assert actions(document)[f"rule group {seeded.rule_uid}"] == "adopt"
    applied(fake, "--adopt", **where)
    [rule] = [r for r in rules(fake) if r["uid"] == seeded.rule_uid]
    assert rule["labels"] == {"course": "true", "managed_by": "drift"}
    assert (rule["folderUID"], rule["ruleGroup"]) == (seeded.folder_uid, "Drift")
    fake.reset_log()
    applied(fake, "--adopt", **where)
    assert fake.writes() == 0


def test_objects_that_do_not_look_like_ours_are_untouched(fake: FakeGrafana) -> None:
    seed_course_state(fake)
    fake.seed_datasource("loki", "Loki", "loki", url="http://loki:3100")
    fake.seed_dashboard({"uid": "ops", "title": "Ops", "panels": []})
    fake.seed_contact_point("ops-email")
    fake.seed_route({"receiver": "ops-email", "object_matchers": [["team", "=", "ops"]]})
    fake.seed_rule_group("ops", "ops-rules", [{"title": "Ops is fine", "labels": {"team": "ops"}}])
    before = snapshot(fake)
    applied(fake, "--adopt")
    after = snapshot(fake)
    untouched = {k: v for k, v in before.items() if "ops" in k.lower() or "loki" in k}
    assert len(untouched) == 5
    assert {k: after.get(k) for k in untouched} == untouched


def test_a_failure_mid_adopt_loses_nothing_and_a_rerun_converges(fake: FakeGrafana) -> None:
    seeded = seed_course_state(fake)
    # Everything of ours is written, then deleting their rule is refused.
    fake.fail_next(1, 403, "/api/v1/provisioning/alert-rules/", methods="DELETE")
    run = provision(fake, "apply", "--adopt")
    assert error_line(run)
    # Their rule still fires beside ours: no worse than before (nothing of theirs lost).
    assert seeded.rule_uid in {r["uid"] for r in rules(fake)}
    assert "drift-p-value" in {r["uid"] for r in rules(fake)}
    applied(fake, "--adopt")
    assert_one_of_each(fake)


def test_a_refused_adoption_writes_nothing_beside_theirs(fake: FakeGrafana) -> None:
    """The data source's PUT is refused as stale (someone saved it meanwhile): apply stops,
    no second data source is made beside theirs, and a rerun adopts it."""
    seeded = seed_course_state(fake)
    fake.reset_log()
    fake.fail_next(1, 409, f"/api/datasources/uid/{seeded.datasource_uid}", methods="PUT")
    assert error_line(provision(fake, "apply", "--adopt"))
    assert sorted(fake.state.datasources) == [seeded.datasource_uid]
    assert fake.writes("/api/dashboards") == 0  # it stopped at the first write
    applied(fake, "--adopt")
    assert_one_of_each(fake)


def seed_their_own_on_the_course_data_source(fake: FakeGrafana, uid: str) -> None:
    """A rule and a dashboard of theirs that look like nothing of ours and query the course's
    data source (by uid, as Grafana's UI saves them)."""
    source = {"type": "prometheus", "uid": uid}
    panel = {"id": 1, "type": "stat", "title": "Up", "datasource": source,
             "targets": [{"refId": "A", "datasource": source, "expr": "up"}]}  # fmt: skip
    fake.seed_dashboard({"uid": "ops", "title": "Ops", "panels": [panel]})
    query = {"refId": "A", "datasourceUid": uid, "relativeTimeRange": {"from": 600, "to": 0},
             "model": {"refId": "A", "expr": "up == 0", "instant": True}}  # fmt: skip
    fake.seed_rule_group("ops", "ops", [{"title": "Prometheus down", "data": [query]}])


def dangling(fake: FakeGrafana) -> set[str]:
    """The data source uids that rules and dashboards query and Grafana does not hold."""
    named: set[str] = {q["datasourceUid"] for r in rules(fake) for q in r["data"]}

    def walk(node: object) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            source = node.get("datasource")
            if isinstance(source, dict) and source.get("uid"):
                named.add(source["uid"])
            for value in node.values():
                walk(value)

    walk([d["dashboard"] for d in fake.state.dashboards.values()])
    return named - set(fake.state.datasources) - {"__expr__"}


def test_a_takeover_stops_while_objects_it_leaves_query_the_data_source_it_moves(
    fake: FakeGrafana,
) -> None:
    """Adopted, their data source moves to our uid; replaced, it goes: a rule and a dashboard
    of theirs that are not taken over would query nothing. Plan names them, --adopt and
    --replace stop before any write, and making their uid the definition's adopts it in
    place, nothing left pointing nowhere."""
    seeded = seed_course_state(fake)
    seed_their_own_on_the_course_data_source(fake, seeded.datasource_uid)
    queries = ("alert rule 'Prometheus down'", "dashboard 'Ops' (uid ops)")
    _, document = plan(fake)
    [note] = [
        n
        for c in document["changes"]
        if c["name"] == seeded.datasource_uid
        for n in c["notes"]
        if "--adopt and --replace stop" in n
    ]
    assert all(name in note for name in queries)
    fake.reset_log()
    for flag in ("--adopt", "--replace"):
        line = error_line(provision(fake, "apply", flag))
        assert f"data source 'prometheus' (uid {seeded.datasource_uid})" in line
        assert all(name in line for name in queries)
        assert f"make {seeded.datasource_uid} the definition's uid" in line
    assert fake.writes() == 0 and not dangling(fake)

    keep = {"PROVISION__VALUES__PROMETHEUS__DATASOURCE_UID": seeded.datasource_uid}
    _, document = plan(fake, "--adopt", **keep)
    assert actions(document)[f"data source {seeded.datasource_uid}"] == "adopt"
    applied(fake, "--adopt", **keep)
    assert sorted(fake.state.datasources) == [seeded.datasource_uid]
    assert not dangling(fake)
    assert "Prometheus down" in {r["title"] for r in rules(fake)}
    assert "ops" in fake.state.dashboards
    fake.reset_log()
    applied(fake, "--adopt", **keep)
    assert fake.writes() == 0


def their_integration(fake: FakeGrafana) -> str:
    [uid] = [
        u
        for u, c in fake.state.contact_points.items()
        if c["name"] == CONTACT_POINT and not u.startswith("drift_")
    ]
    return uid
