"""Taking over the Grafana a course user set up by hand (tests/course_state.py): plan lists
the hand-made objects that look like ours, `adopt` makes them the stack's, `--replace` puts
ours in their place; objects that do not look like ours are never touched."""

from __future__ import annotations

from course_state import (
    CHAT_ID,
    CONTACT_POINT,
    DASHBOARD_TITLE,
    LABEL,
    PROMETHEUS_URL,
    RULE_TITLE,
    seed_course_state,
)
from fake_grafana import FakeGrafana


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
