"""provision.py through a fault-injecting proxy (tests/fault_proxy.py) in front of the fake
Grafana: answers lost after Grafana acted, answers cut short, resets, timeouts, 5xx and 429.
Each apply either succeeds or fails with one line; no state routes a rule nowhere; a clean
apply afterwards converges."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from fake_grafana import (
    DEFAULT_TOKEN,
    FOLDER_GROUP,
    RECEIVERS_TEST_PATH,
    FakeGrafana,
    OrgState,
)
from fault_proxy import FAULTS, FaultProxy
from provision_cli import (
    NEW_TOKEN,
    TOKEN,
    applied,
    error_line,
    notifications_app,
    plan,
    provision,
    telegram,
)

# Short waits, so that a timeout or a retry costs little; the proxy stalls for longer.
FAST = {"PROVISION__GRAFANA__TIMEOUT_SECONDS": "0.5", "PROVISION__GRAFANA__RETRIES": "3"}
DATASOURCES, FOLDERS = "/api/datasources", "/api/folders"
CONTACT_POINTS = "/api/v1/provisioning/contact-points"
TEMPLATES = "/api/v1/provisioning/templates"
RULE_GROUPS = "/api/v1/provisioning/folder/"
DASHBOARDS = "/api/dashboards/uid/"
# The same on Grafana 13, where they go through notifications.alerting.grafana.app.
APP_PATHS = {CONTACT_POINTS: "receivers", TEMPLATES: "templategroups"}
FOLDERS_APP = f"/apis/{FOLDER_GROUP}/v1/namespaces/default/folders"  # GA in Grafana 13
# How Grafana refuses a write repeated after it landed: a duplicate, a stale version, gone.
REFUSED = re.compile(r"\((404|409|412)\)|already exists")


@pytest.fixture
def proxy(fake: FakeGrafana) -> Iterator[FaultProxy]:
    with FaultProxy(fake.url, stall_seconds=10) as server:
        yield server


def through(proxy: FaultProxy, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """provision.py with Grafana behind the proxy."""
    return provision(None, *args, GRAFANA_URL=proxy.url, GRAFANA_TOKEN=DEFAULT_TOKEN, **FAST | env)


def on_profile(fake: FakeGrafana, path: str) -> str:
    """``path`` (of folders, contact points or templates) where the fake's profile serves
    them."""
    if path == FOLDERS and fake.profile.serves(FOLDER_GROUP, "v1"):
        return FOLDERS_APP
    app = notifications_app(fake)
    return f"{app}/{APP_PATHS[path]}" if app and path in APP_PATHS else path


def statuses(fake: FakeGrafana, method: str, path: str) -> list[int | None]:
    """What the fake answered to each such request, in order."""
    return [r.status for r in fake.requests if r.method == method and r.path.startswith(path)]


@pytest.mark.parametrize(
    ("path", "duplicate"),
    [
        # Grafana's answers to a create whose object exists (pkg/api/datasources.go,
        # pkg/api/folder.go, ngalert provisioning contactpoints.go: uidInUse through ErrResp 500).
        (DATASOURCES, 409),
        (FOLDERS, 409),
        (CONTACT_POINTS, 500),
    ],
)
@pytest.mark.parametrize("fault", ["reset-after", "timeout", "5xx"])
def test_a_create_whose_answer_was_lost_converges(
    fake: FakeGrafana, proxy: FaultProxy, path: str, duplicate: int, fault: str
) -> None:
    # On /apis a taken receiver title is 409 receivers.exists, a taken folder 409 AlreadyExists.
    if on_profile(fake, path) != path:
        path, duplicate = on_profile(fake, path), 409
    proxy.inject(fault, "POST", path, after=True)
    run = through(proxy, "apply")
    assert run.returncode == 0, run.stdout + run.stderr
    answers = statuses(fake, "POST", path)
    # Created (201 on /apis), and the repeat found it there.
    assert answers[0] in (200, 201, 202) and duplicate in answers[1:]
    assert len(fake.state.datasources) == len(fake.state.folders) == len(telegram(fake)) == 1
    assert plan(fake)[0] == 0


def test_an_update_or_delete_repeated_after_it_landed_converges(
    fake: FakeGrafana, proxy: FaultProxy
) -> None:
    applied(fake)
    state = fake.state
    state.datasources["drift-prometheus"]["url"] = "http://elsewhere:9090"
    state.folders["drift"]["title"] = "Renamed in the UI"
    state.templates["drift:drift"]["template"] = '{{ define "drift.telegram" }}edited{{ end }}'
    templates, folders = on_profile(fake, TEMPLATES), on_profile(fake, FOLDERS)
    for path in (DATASOURCES, folders, templates):
        proxy.inject("reset-after", "PUT", path)
    fake.reset_log()
    run = through(proxy, "apply")
    assert run.returncode == 0, run.stdout + run.stderr
    # The repeats met a newer version than the plan read: Grafana's optimistic locks.
    assert statuses(fake, "PUT", DATASOURCES) == [200, 409]
    assert statuses(fake, "PUT", folders) == [200, 412 if folders == FOLDERS else 409]
    assert statuses(fake, "PUT", templates) == [202 if templates == TEMPLATES else 200, 409]
    assert plan(fake)[0] == 0

    for path in (DATASOURCES, FOLDERS, DASHBOARDS, RULE_GROUPS, CONTACT_POINTS, TEMPLATES):
        proxy.inject("reset-after", "DELETE", on_profile(fake, path))
    fake.reset_log()
    run = through(proxy, "destroy")
    assert run.returncode == 0, run.stdout + run.stderr
    assert 404 in statuses(fake, "DELETE", DATASOURCES)  # the repeat found it gone
    assert not (state.datasources or state.folders or state.dashboards or state.rule_groups)
    assert telegram(fake) == [] and "drift:drift" not in state.templates


@pytest.mark.parametrize(
    ("fault", "options"),
    [
        ("truncated", {"keep_length": True}),  # an incomplete read
        ("truncated", {"keep_length": False}),  # half a JSON document
        ("reset-after", {}),
        ("reset-before", {}),
        ("timeout", {"after": False}),
        ("5xx", {"after": False, "status": 503}),
        ("429", {}),
    ],
)
def test_a_read_whose_answer_failed_is_retried(
    fake: FakeGrafana, proxy: FaultProxy, fault: str, options: dict[str, Any]
) -> None:
    applied(fake)
    path = on_profile(fake, CONTACT_POINTS)
    proxy.inject(fault, "GET", path, times=2, **options)
    run = through(proxy, "plan")
    assert run.returncode == 0, run.stdout + run.stderr
    assert statuses(fake, "GET", path)[-1] == 200


def test_a_read_failing_every_time_is_one_line(fake: FakeGrafana, proxy: FaultProxy) -> None:
    proxy.inject("truncated", "GET", DATASOURCES, times=4)  # the first try and 3 retries
    line = error_line(through(proxy, "plan"))
    assert line.startswith("Error: GET /api/datasources: the answer was cut short")


def test_a_clash_with_someone_elses_data_source_is_one_line_naming_it(fake: FakeGrafana) -> None:
    # Not a look-alike (another type): one of the same type and URL is a candidate to take
    # over instead (tests/test_adopt.py).
    fake.seed_datasource("theirs", "Prometheus (drift)", "loki", url="http://loki:3100")
    line = error_line(provision(fake, "apply"))
    assert line.startswith(
        "Error: stopped, nothing written: data source drift-prometheus: its name "
        "'Prometheus (drift)' is taken by data source 'theirs'. Rename ours in the definitions, "
        "or remove theirs in Grafana"
    )
    assert set(fake.state.datasources) == {"theirs"}


def test_a_clash_with_someone_elses_folder_is_one_line_naming_it(fake: FakeGrafana) -> None:
    fake.seed_folder("theirs", "Data drift")
    line = error_line(provision(fake, "apply"))
    assert line.startswith(
        "Error: stopped, nothing written: folder drift: its title 'Data drift' is taken by "
        "folder 'theirs'. Rename ours in the definitions, or remove theirs in Grafana"
    )


def test_a_folder_of_the_same_title_inside_another_is_no_clash(fake: FakeGrafana) -> None:
    """Grafana keeps titles unique among one parent's folders; ours are at the root."""
    fake.seed_folder("parent", "Team")
    fake.seed_folder("nested", "Data drift", parent_uid="parent")
    applied(fake)
    assert fake.state.folders["drift"]["title"] == "Data drift"


@pytest.mark.fake_versions("11.6", "12.4")  # on 13 a rotation is one write (one receiver)
def test_a_token_rotation_cut_short_deletes_the_stale_integration_next_time(
    fake: FakeGrafana,
) -> None:
    applied(fake)
    [old] = telegram(fake)
    fake.fail_next(4, status=503, paths=CONTACT_POINTS, methods="DELETE")
    error_line(provision(fake, "apply", TELEGRAM_BOT_TOKEN=NEW_TOKEN, **FAST))
    assert len(telegram(fake)) == 2  # the new integration is there, the old one not gone yet
    [new] = [i for i in telegram(fake) if i["uid"] != old["uid"]]

    code, document = plan(fake, TELEGRAM_BOT_TOKEN=NEW_TOKEN)
    assert code == 2
    changed = [(c["action"], c["name"]) for c in document["changes"] if c["action"] != "unchanged"]
    assert changed == [("delete", old["uid"])]
    applied(fake, TELEGRAM_BOT_TOKEN=NEW_TOKEN)
    assert telegram(fake) == [new]


@pytest.mark.fake_versions("13.2")
def test_a_token_rotation_refused_keeps_the_old_integration_until_the_next_apply(
    fake: FakeGrafana,
) -> None:
    """On notifications.alerting.grafana.app the contact point is one object: a rotation
    replaces its integration in one write, or leaves it as it was."""
    applied(fake)
    [old] = telegram(fake)
    path = on_profile(fake, CONTACT_POINTS)
    fake.fail_next(4, status=503, paths=path, methods="PUT")
    error_line(provision(fake, "apply", TELEGRAM_BOT_TOKEN=NEW_TOKEN, **FAST))
    assert telegram(fake) == [old]

    code, document = plan(fake, TELEGRAM_BOT_TOKEN=NEW_TOKEN)
    assert code == 2
    changed = [(c["action"], c["name"]) for c in document["changes"] if c["action"] != "unchanged"]
    assert changed == [("update", "Telegram")]
    applied(fake, TELEGRAM_BOT_TOKEN=NEW_TOKEN)
    [new] = telegram(fake)
    assert new["uid"] != old["uid"] and new["settings"]["bottoken"] == NEW_TOKEN


@pytest.mark.parametrize(
    ("fault", "sent", "exit_code"),
    [
        ("reset-after", 1, 1),  # Grafana sent it and the answer was lost: never sent again
        ("429", 1, 0),  # throttled before Grafana acted: sent once the wait is over
    ],
)
def test_a_test_notification_is_sent_again_only_when_it_certainly_was_not_sent(
    fake: FakeGrafana, proxy: FaultProxy, fault: str, sent: int, exit_code: int
) -> None:
    applied(fake)
    app = notifications_app(fake)  # 13: the receivers' test subresource (the other is 410)
    proxy.inject(fault, "POST", f"{app}/receivers/" if app else RECEIVERS_TEST_PATH)
    run = through(proxy, "test-notification")
    assert run.returncode == exit_code, run.stdout + run.stderr
    if exit_code:
        error_line(run)
    assert len(fake.sent_test_notifications) == sent


def matcher_holds(matcher: list[str], labels: dict[str, str]) -> bool:
    name, op, value = matcher
    actual = labels.get(name, "")
    if op in ("=~", "!~"):
        return bool(re.fullmatch(value, actual)) == (op == "=~")
    return (actual == value) == (op == "=")


def receivers_for(node: dict[str, Any], labels: dict[str, str]) -> list[str]:
    """The receivers of the routes below ``node`` that take an alert with these labels, as
    Alertmanager walks the tree (the first matching route unless it has continue)."""
    found = []
    for route in node.get("routes") or []:
        if all(matcher_holds(m, labels) for m in route.get("object_matchers") or []):
            found += receivers_for(route, labels) or [route.get("receiver") or node["receiver"]]
            if not route.get("continue"):
                break
    return found


def rules_routed_nowhere(state: OrgState) -> list[str]:
    """Alert rules whose labels no route (below the root) sends to an existing contact point."""
    contact_points = state.receiver_names()
    return [
        rule["title"]
        for rule in state.alert_rules().values()
        if not set(receivers_for(state.policy_tree, rule.get("labels") or {})) & contact_points
    ]


def test_thirty_applies_through_thirty_percent_faults_then_a_clean_apply_converges(
    fake: FakeGrafana,
) -> None:
    outcomes = []
    with FaultProxy(fake.url, rate=0.3, seed=20240611, stall_seconds=10) as proxy:
        for attempt in range(30):
            token = (TOKEN, NEW_TOKEN)[attempt // 6 % 2]  # the bot token rotates now and then
            # Two retries only, so that some applies fail too (one request in 37 fails 3 times).
            run = through(proxy, "apply", TELEGRAM_BOT_TOKEN=token, PROVISION__GRAFANA__RETRIES="2")
            if run.returncode != 0:  # a fault outlasted the retries, never a repeat's refusal
                assert not REFUSED.search(error_line(run))
            outcomes.append(run.returncode)
            assert rules_routed_nowhere(fake.state) == [], attempt
            if run.returncode == 0:  # the rotation finished: one integration, the new token
                [integration] = telegram(fake)
                assert integration["settings"]["bottoken"] == token
    assert proxy.kinds() == set(FAULTS)  # every kind of fault happened
    assert set(outcomes) == {0, 1}, outcomes

    applied(fake, TELEGRAM_BOT_TOKEN=NEW_TOKEN)
    assert plan(fake, TELEGRAM_BOT_TOKEN=NEW_TOKEN)[0] == 0
    fake.reset_log()
    applied(fake, TELEGRAM_BOT_TOKEN=NEW_TOKEN)
    assert fake.writes() == 0
