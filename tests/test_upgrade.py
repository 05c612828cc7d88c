"""A Grafana provisioned by the toolkit on 11.6 or 12.4, then upgraded in place to 13.2 (the same
database, ``fake.upgrade``): contact points, templates, mute timings and the policy tree move to
notifications.alerting.grafana.app, plan shows no change but the representation (a contact
point is one object there, not one per integration), apply converges and a second apply writes
nothing; on 13.2 no request goes to a deprecated notification endpoint but where Grafana offers
no other way.

The marks of ownership (template and mute timing names, integration uids, the stack's branch of
the policy tree) are the same on both APIs: what the legacy API made is the stack's on the new."""

from __future__ import annotations

from pathlib import Path

import pytest

from fake_apps_notifications import name_to_uid
from fake_grafana import (
    DEPRECATED_ENDPOINTS,
    FOLDER_GROUP,
    NOTIFICATIONS_GROUP,
    FakeGrafana,
    k8s_status,
)
from provision_cli import (
    NEW_TOKEN,
    applied,
    copy_definitions,
    notifications_app,
    plan,
    provision,
    telegram,
)

NEW_API = f"{NOTIFICATIONS_GROUP}/v1beta1"
NOTIFICATION_KINDS = (
    "notification template",
    "mute timing",
    "contact point",
    "notification policy",
)
# A mute timing and a route it mutes (the repository defines none), so that all four exist.
QUIET_MODULE = """
import names
from provisioning.model import MuteTiming, Route, TimeInterval


def define(values):
    timing = MuteTiming("quiet", [TimeInterval(weekdays=["saturday", "sunday"])])
    receiver = values.section("telegram").text("contact_point")
    matchers = {names.MONITOR_DOWN_LABEL: names.ALERT_LABEL_VALUE}
    return [timing, Route(receiver=receiver, matchers=matchers, mute_timings=[timing])]
"""


def definitions(tmp_path: Path) -> Path:
    root = copy_definitions(tmp_path / "definitions")
    (root / "alerting" / "quiet.py").write_text(QUIET_MODULE)
    return root


def deprecated_notification_requests(fake: FakeGrafana) -> list[str]:
    """The requests the fake answered as a deprecated notification endpoint (by its table of
    Grafana 13's deprecations, whose replacements are in notifications.alerting.grafana.app;
    the rule groups' replacement is still alpha), or as the removed receivers test."""
    found = []
    for request in list(fake.requests):
        matched = fake.api.match(request.method, request.path)
        template = matched[0].template if matched else ""
        replacement = DEPRECATED_ENDPOINTS.get((request.method, template), "")
        if NOTIFICATIONS_GROUP in replacement or template.startswith("/api/alertmanager/"):
            found.append(f"{request.method} {template}")
    return found


def actions(document: dict) -> dict[tuple[str, str], str]:
    return {(c["kind"], c["name"]): c["action"] for c in document["changes"]}


@pytest.mark.fake_versions("11.6", "12.4")
def test_an_upgrade_to_13_plans_no_change_and_apply_converges(
    fake: FakeGrafana, tmp_path: Path
) -> None:
    root = str(definitions(tmp_path))
    applied(fake, "--definitions", root)
    before = actions(plan(fake, "--definitions", root)[1])
    assert set(before.values()) == {"unchanged"}
    [integration] = telegram(fake)
    mute_timing = fake.state.mute_timings["drift:quiet"]

    fake.upgrade("13.2")
    fake.reset_log()
    code, document = plan(fake, "--definitions", root)
    assert code == 0, document["changes"]
    apis = document["grafana"]["apis"]
    assert [apis[kind] for kind in NOTIFICATION_KINDS] == [NEW_API] * 4
    after = actions(document)
    assert set(after.values()) == {"unchanged"}
    # The change of representation: the contact point is listed once, by its name, where the
    # legacy API listed its integration by uid. Everything else keeps its key.
    assert ("contact point", integration["uid"]) in before
    assert ("contact point", "Telegram") in after
    assert before.keys() - {("contact point", integration["uid"])} == after.keys() - {
        ("contact point", "Telegram")
    }

    for _ in range(2):
        applied(fake, "--definitions", root)
        assert fake.writes() == 0
    assert telegram(fake) == [integration]
    assert fake.state.mute_timings["drift:quiet"] == mute_timing
    assert deprecated_notification_requests(fake) == []


@pytest.mark.fake_versions("11.6", "12.4")
def test_changes_after_an_upgrade_converge(fake: FakeGrafana, tmp_path: Path) -> None:
    """A rotated bot token and an edited mute timing after the upgrade: each is one update
    through the new API, and then there is nothing left to write."""
    root = definitions(tmp_path)
    applied(fake, "--definitions", str(root))
    [old] = telegram(fake)
    fake.upgrade("13.2")

    quiet = root / "alerting" / "quiet.py"
    quiet.write_text(quiet.read_text().replace('"sunday"]', '"sunday", "friday"]'))
    code, document = plan(fake, "--definitions", str(root), TELEGRAM_BOT_TOKEN=NEW_TOKEN)
    assert code == 2
    changed = {key: action for key, action in actions(document).items() if action != "unchanged"}
    assert changed == {
        ("contact point", "Telegram"): "update",
        ("mute timing", "drift:quiet"): "update",
    }

    fake.reset_log()
    applied(fake, "--definitions", str(root), TELEGRAM_BOT_TOKEN=NEW_TOKEN)
    [new] = telegram(fake)
    assert new["uid"] != old["uid"] and new["uid"][:14] == old["uid"][:14]
    assert new["settings"]["bottoken"] == NEW_TOKEN
    [interval] = fake.state.mute_timings["drift:quiet"]["time_intervals"]
    assert interval["weekdays"] == ["saturday", "sunday", "friday"]
    app = notifications_app(fake)
    assert [(r.method, r.path.removeprefix(str(app))) for r in fake.write_requests()] == [
        ("PUT", "/timeintervals/" + name_to_uid("drift:quiet")),
        ("PUT", "/receivers/" + name_to_uid("Telegram")),
    ]
    assert deprecated_notification_requests(fake) == []

    fake.reset_log()
    assert plan(fake, "--definitions", str(root), TELEGRAM_BOT_TOKEN=NEW_TOKEN)[0] == 0
    applied(fake, "--definitions", str(root), TELEGRAM_BOT_TOKEN=NEW_TOKEN)
    assert fake.writes() == 0


@pytest.mark.fake_versions("13.2")
def test_a_stale_resource_version_is_read_again_and_written_once_more(
    fake: FakeGrafana, tmp_path: Path
) -> None:
    """Someone wrote the receiver between plan and apply (409: the version read is stale):
    apply reads it again, plans it once more and writes it with the version just read."""
    root = str(definitions(tmp_path))
    applied(fake, "--definitions", root)
    path = f"{notifications_app(fake)}/receivers/"
    stale = k8s_status(409, "the object has been modified; please apply your changes to the "
                       "latest version and try again").reply().body  # fmt: skip
    fake.fail_next(1, 409, path, methods="PUT", body=stale)
    fake.reset_log()
    applied(fake, "--definitions", root, TELEGRAM_BOT_TOKEN=NEW_TOKEN)
    assert [r.status for r in fake.write_requests()] == [409, 200]
    [integration] = telegram(fake)
    assert integration["settings"]["bottoken"] == NEW_TOKEN
    assert plan(fake, "--definitions", root, TELEGRAM_BOT_TOKEN=NEW_TOKEN)[0] == 0


@pytest.mark.fake_versions("13.2")
def test_a_folder_changed_since_the_plan_is_read_again_and_written_once_more(
    fake: FakeGrafana, tmp_path: Path
) -> None:
    """The same for a folder, which folder.grafana.app/v1 writes with its resourceVersion."""
    root = str(definitions(tmp_path))
    applied(fake, "--definitions", root)
    stale = k8s_status(409, "the object has been modified; please apply your changes to the "
                       "latest version and try again").reply().body  # fmt: skip
    fake.fail_next(1, 409, f"/apis/{FOLDER_GROUP}/", methods="PUT", body=stale)
    fake.reset_log()
    renamed = {"PROVISION__VALUES__FOLDER__TITLE": "Data drift (renamed)"}
    applied(fake, "--definitions", root, **renamed)
    assert [r.status for r in fake.write_requests()] == [409, 200]
    assert fake.state.folders["drift"]["title"] == "Data drift (renamed)"
    assert plan(fake, "--definitions", root, **renamed)[0] == 0


@pytest.mark.fake_versions("13.2")
@pytest.mark.parametrize("editable", [True, False], ids=["ui-editable", "locked"])
def test_on_13_no_request_goes_to_a_deprecated_notification_endpoint(
    fake: FakeGrafana, tmp_path: Path, editable: bool
) -> None:
    """plan, apply, a second apply and destroy go through notifications.alerting.grafana.app,
    locked or not (a DELETE there passes the stored provenance)."""
    root = str(definitions(tmp_path))
    env = {"PROVISION__GRAFANA__UI_EDITABLE": str(editable).lower()}
    for command in ("plan", "apply", "apply"):
        run = provision(fake, command, "--definitions", root, **env)
        assert run.returncode in (0, 2), run.stdout + run.stderr
    assert deprecated_notification_requests(fake) == []
    assert fake.writes(f"/apis/{NEW_API}/") > 0

    fake.reset_log()
    run = provision(fake, "destroy", "--definitions", root, **env)
    assert run.returncode == 0, run.stdout + run.stderr
    assert not fake.state.templates and not fake.state.mute_timings and not telegram(fake)
    assert deprecated_notification_requests(fake) == []


@pytest.mark.fake_versions("11.6", "12.4")
def test_an_integration_added_by_hand_to_the_stacks_contact_point_stays(
    fake: FakeGrafana, tmp_path: Path
) -> None:
    """On the legacy API an integration added in the UI to the stack's contact point is an
    object of its own that the stack never touches; on 13 the contact point is one object, and
    the stack writes it back with that integration as read, and leaves it when it goes."""
    root = str(definitions(tmp_path))
    applied(fake, "--definitions", root)
    fake.seed_contact_point("Telegram", uid="by-hand")
    fake.upgrade("13.2")
    assert plan(fake, "--definitions", root)[0] == 0

    def by_hand() -> dict:  # Grafana keeps a receiver's provenance on all its integrations
        return {k: v for k, v in fake.state.contact_points["by-hand"].items() if k != "provenance"}

    theirs = by_hand()
    applied(fake, "--definitions", root, TELEGRAM_BOT_TOKEN=NEW_TOKEN)  # rewrites the receiver
    assert by_hand() == theirs
    assert len(telegram(fake)) == 2

    run = provision(fake, "destroy", "--definitions", root)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "kept 1 integration(s) this stack does not own" in run.stdout
    assert fake.state.receiver_names() == {"grafana-default-email", "Telegram"}
    assert [cp["uid"] for cp in telegram(fake)] == ["by-hand"] and by_hand() == theirs
