"""provision.py through its CLI against the fake Grafana: apply, idempotence, plan after UI
edits, foreign objects, destroy, provenance modes, token rotation, failures."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Callable
from pathlib import Path

import names
from conftest import LIMITED_TOKEN, PrometheusServer, Recorder, free_port
from fake_grafana import (
    ALL_PERMISSIONS,
    DEFAULT_TOKEN,
    PERM_PROVISIONING_WRITE,
    FakeGrafana,
)
from provision_cli import (
    CHAT_ID,
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

RESOURCES = 7
# The stack's mark on an integration: <stack>_<identity><fingerprint of its secrets>.
INTEGRATION_UID = re.compile(r"^drift_[0-9a-f]{16}$")
OWNED = {"managed_by": "drift"}


def actions(document: dict) -> dict[str, str]:
    return {f"{c['kind']} {c['name']}": c["action"] for c in document["changes"]}


def test_apply_creates_everything_then_a_second_apply_writes_nothing(fake: FakeGrafana) -> None:
    first = applied(fake)
    assert f"Apply complete: {RESOURCES} changed, 0 unchanged." in first.stdout
    state = fake.state
    assert set(state.datasources) == {"drift-prometheus"}
    assert set(state.folders) == {"drift"}
    assert state.dashboards["data-drift"]["folderUid"] == "drift"
    [integration] = telegram(fake)
    assert integration["settings"]["bottoken"] == TOKEN
    assert INTEGRATION_UID.match(integration["uid"])
    [group] = state.rule_groups.values()
    assert group["interval"] == 10
    assert [r["labels"] for r in group["rules"]] == [
        {names.ALERT_LABEL: "true", **OWNED},
        {names.STALE_LABEL: "true", **OWNED},
        {names.MONITOR_DOWN_LABEL: "true", **OWNED},
    ]
    # The stack's branch of the policy tree, first, sees only the stack's alerts.
    [branch] = state.policy_tree["routes"]
    assert branch["object_matchers"] == [["managed_by", "=", "drift"]]
    assert branch["routes"][0]["receiver"] == "Telegram"
    assert branch["routes"][0]["object_matchers"] == [[names.ALERT_LABEL, "=", "true"]]

    fake.reset_log()
    second = applied(fake)
    assert f"Apply complete: 0 changed, {RESOURCES} unchanged." in second.stdout
    assert fake.writes() == 0
    code, document = plan(fake)
    assert code == 0
    assert set(actions(document).values()) == {"unchanged"}


def test_plan_shows_a_change_made_in_the_ui_and_apply_puts_it_back(fake: FakeGrafana) -> None:
    applied(fake)
    dashboard = dict(fake.state.dashboards["data-drift"]["dashboard"])
    fake.ui_save_dashboard("data-drift", {**dashboard, "title": "Clicked by hand"})
    fake.state.rule_groups["drift", "data-drift"]["interval"] = 60

    code, document = plan(fake)
    assert code == 2
    changed = {k: v for k, v in actions(document).items() if v != "unchanged"}
    assert changed == {"dashboard data-drift": "update", "rule group drift/data-drift": "update"}
    diff = {c["name"]: "\n".join(c["diff"]) for c in document["changes"]}
    assert '-    "title": "Clicked by hand"' in diff["data-drift"]
    assert '+    "title": "Data Drift"' in diff["data-drift"]
    assert '-  "interval": 60' in diff["drift/data-drift"]

    fake.reset_log()
    applied(fake)
    assert fake.writes() == 2  # one write per changed resource, nothing else
    assert fake.state.dashboards["data-drift"]["dashboard"]["title"] == "Data Drift"
    assert plan(fake)[0] == 0


def test_changing_one_setting_changes_only_that_resource(fake: FakeGrafana) -> None:
    applied(fake)
    fake.reset_log()
    run = applied(fake, PROVISION__VALUES__POLICY__REPEAT_INTERVAL="12h")
    assert "~ update notification policy" in run.stdout
    assert fake.writes() == 1
    [branch] = fake.state.policy_tree["routes"]
    assert {route["repeat_interval"] for route in branch["routes"]} == {"12h"}


def test_other_teams_objects_survive_apply_and_destroy(fake: FakeGrafana) -> None:
    fake.seed_contact_point("ops-email")
    foreign_route = {"receiver": "ops-email", "object_matchers": [["team", "=", "ops"]]}
    fake.seed_route(foreign_route)
    fake.seed_folder("ops", "Ops")
    fake.seed_rule_group("ops", "ops-rules", [{"title": "Ops is fine"}])

    applied(fake)
    branch, theirs = fake.state.policy_tree["routes"]
    assert [r["receiver"] for r in branch["routes"]] == ["Telegram", "Telegram", "Telegram"]
    assert theirs == foreign_route

    run = provision(fake, "destroy")
    assert run.returncode == 0, run.stderr
    state = fake.state
    assert [r["receiver"] for r in state.policy_tree["routes"]] == ["ops-email"]
    assert telegram(fake) == []
    assert any(cp["name"] == "ops-email" for cp in state.contact_points.values())
    assert set(state.folders) == {"ops"}
    assert list(state.rule_groups) == [("ops", "ops-rules")]
    assert "data-drift" not in state.dashboards
    assert "drift-prometheus" not in state.datasources
    assert provision(fake, "destroy").returncode == 0  # nothing left to remove: still fine


def test_a_folder_holding_someone_elses_dashboard_is_kept_on_destroy(fake: FakeGrafana) -> None:
    applied(fake)
    fake.seed_dashboard({"uid": "theirs", "title": "Theirs", "panels": []}, folder_uid="drift")
    run = provision(fake, "destroy")
    assert run.returncode == 0, run.stderr
    assert "kept: it still holds objects that others made (Theirs)" in run.stdout
    assert "theirs" in fake.state.dashboards and "drift" in fake.state.folders


def test_locked_mode_stamps_provenance_and_ui_editable_does_not(fake: FakeGrafana) -> None:
    applied(fake)
    state = fake.state
    assert telegram(fake)[0]["provenance"] == "api"
    assert state.policy_provenance == "api"
    assert {r["provenance"] for r in state.rule_groups["drift", "data-drift"]["rules"]} == {"api"}

    with FakeGrafana(version=fake.version) as editable:
        run = provision(editable, "apply", PROVISION__GRAFANA__UI_EDITABLE="true")
        assert run.returncode == 0, run.stderr
        assert telegram(editable)[0]["provenance"] == ""
        assert editable.state.policy_provenance == ""
        assert all(r.headers.get("X-Disable-Provenance") for r in editable.write_requests())
        assert editable.spec_violations == []


def test_switching_a_locked_stack_to_ui_editable_stops_with_the_way_out(fake: FakeGrafana) -> None:
    applied(fake)
    fake.reset_log()
    run = provision(fake, "apply", PROVISION__GRAFANA__UI_EDITABLE="true")
    assert run.returncode == 1
    assert "Grafana never unlocks an object provisioned as locked" in run.stderr
    assert re.search(
        r"notification template drift:drift, contact point Telegram \(telegram drift_", run.stderr
    )
    assert "DELETE /api/v1/provisioning/policies" in run.stderr
    assert fake.writes() == 0  # stopped before writing anything


def test_an_editable_stack_can_be_locked(fake: FakeGrafana) -> None:
    applied(fake, PROVISION__GRAFANA__UI_EDITABLE="true")
    applied(fake)
    assert telegram(fake)[0]["provenance"] == "api"
    assert plan(fake)[0] == 0


def test_a_rotated_bot_token_is_detected_and_applied(fake: FakeGrafana) -> None:
    applied(fake)
    code, document = plan(fake, TELEGRAM_BOT_TOKEN=NEW_TOKEN)
    assert code == 2
    changed = [(c["action"], c["name"]) for c in document["changes"] if c["action"] != "unchanged"]
    [old] = telegram(fake)
    if notifications_app(fake):  # the contact point is one object: one write replaces it
        assert changed == [("update", "Telegram")]
    else:  # a new integration for the new token first, then the old one goes: never none
        [(create, new_uid), delete] = changed
        assert (create, delete) == ("create", ("delete", old["uid"]))
    applied(fake, TELEGRAM_BOT_TOKEN=NEW_TOKEN)
    [integration] = telegram(fake)
    new_uid = integration["uid"]
    assert INTEGRATION_UID.match(new_uid) and new_uid != old["uid"]
    assert new_uid[:14] == old["uid"][:14]  # the same integration, its secret's part differs
    assert integration["settings"]["bottoken"] == NEW_TOKEN
    assert plan(fake, TELEGRAM_BOT_TOKEN=NEW_TOKEN)[0] == 0


def test_no_permission_to_read_secrets_is_needed(fake: FakeGrafana) -> None:
    applied(fake, GRAFANA_TOKEN=LIMITED_TOKEN)
    assert plan(fake, GRAFANA_TOKEN=LIMITED_TOKEN)[0] == 0  # no perpetual diff from "[REDACTED]"
    assert not any(r.path.endswith("/export") for r in fake.requests)


def test_grafana_failing_then_recovering_is_retried(fake: FakeGrafana) -> None:
    fake.fail_next(2, status=500, paths="/api/v1/provisioning/policies", methods="PUT")
    fake.fail_next(1, status=429, paths="/api/dashboards/db")
    applied(fake)
    assert plan(fake)[0] == 0


def test_grafana_failing_for_good_is_one_line_and_a_rerun_converges(fake: FakeGrafana) -> None:
    app = notifications_app(fake)
    path = f"{app}/receivers" if app else "/api/v1/provisioning/contact-points"
    fake.fail_next(4, status=503, paths=path, methods="POST")
    run = provision(fake, "apply")
    assert run.returncode == 1
    error_lines = [line for line in run.stderr.splitlines() if line.startswith("Error:")]
    assert error_lines == [
        f"Error: Grafana failed (HTTP 503) on POST {path}: fake grafana: injected failure"
    ]
    applied(fake)  # the first try and 3 retries failed; a rerun picks up where it stopped
    assert plan(fake)[0] == 0


def test_an_unreachable_grafana_is_one_line() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    run = provision(None, "plan", GRAFANA_URL=url, GRAFANA_TOKEN=DEFAULT_TOKEN)
    assert run.returncode == 1
    assert run.stderr.strip().startswith(f"Error: cannot reach Grafana at {url}")
    assert len(run.stderr.strip().splitlines()) == 1


def test_a_missing_permission_is_one_line_naming_it() -> None:
    without_provisioning = ALL_PERMISSIONS - {PERM_PROVISIONING_WRITE}
    with FakeGrafana(tokens={"glsa_no_alerting": without_provisioning}) as limited:
        run = provision(limited, "apply", GRAFANA_TOKEN="glsa_no_alerting")
    assert run.returncode == 1
    [error] = [line for line in run.stderr.splitlines() if line.startswith("Error:")]
    assert error.startswith("Error: permission denied (403) for PUT /api/v1/provisioning/templates")
    assert "the account needs alert.provisioning:write" in error


def test_wrong_credentials_are_one_line_naming_the_variables(fake: FakeGrafana) -> None:
    run = provision(fake, "plan", GRAFANA_TOKEN="glsa_wrong")
    assert run.returncode == 1
    assert "Error: Grafana refused the credentials (401)" in run.stderr
    assert "GRAFANA_TOKEN" in run.stderr
    assert fake.writes() == 0


def test_basic_auth_works_too(fake: FakeGrafana) -> None:
    run = provision(fake, "apply", GRAFANA_TOKEN="", GRAFANA_USER="admin", GRAFANA_PASSWORD="admin")
    assert run.returncode == 0, run.stderr


def test_missing_telegram_settings_stop_apply_before_any_request(fake: FakeGrafana) -> None:
    run = provision(fake, "apply", TELEGRAM_BOT_TOKEN="", TELEGRAM_CHAT_ID="")
    assert run.returncode == 1
    assert "not set: TELEGRAM_BOT_TOKEN, TELEGRAM_CHAT_ID; apply needs every one" in run.stderr
    assert fake.requests == []


def test_wait_polls_health_until_grafana_is_up(fake: FakeGrafana) -> None:
    fake.database_ok = False
    run = provision(fake, "apply", "--wait", "2")
    assert run.returncode == 1
    assert "Grafana was not healthy within 2 s" in run.stderr
    fake.database_ok = True
    applied(fake, "--wait", "5")


def test_test_notification_goes_through_the_telegram_contact_point(fake: FakeGrafana) -> None:
    applied(fake)
    run = provision(fake, "test-notification")
    assert run.returncode == 0, run.stderr
    [sent] = fake.sent_test_notifications
    assert sent["type"] == "telegram"
    assert (sent["settings"]["bottoken"], sent["settings"]["chatid"]) == (TOKEN, CHAT_ID)
    assert sent["status"] == "ok"


def test_test_notification_tests_the_defined_settings_before_any_apply(fake: FakeGrafana) -> None:
    """As the UI's Test button on a contact point not saved yet: nothing stored is needed."""
    run = provision(fake, "test-notification")
    assert run.returncode == 0, run.stderr
    [sent] = fake.sent_test_notifications
    assert (sent["type"], sent["settings"]["bottoken"], sent["status"]) == ("telegram", TOKEN, "ok")
    assert fake.writes() == 1  # the test's POST: nothing applied


def test_a_failed_test_notification_names_the_integration_and_grafanas_reason(
    fake: FakeGrafana,
) -> None:
    fake.telegram_valid_tokens = {"another-token"}
    line = error_line(provision(fake, "test-notification"))
    assert line == (
        "Error: the test notification failed: telegram: "
        "failed to send telegram message: Unauthorized (401)"
    )


def test_test_notification_tests_a_rotated_token_before_it_is_applied(fake: FakeGrafana) -> None:
    applied(fake)
    run = provision(fake, "test-notification", TELEGRAM_BOT_TOKEN=NEW_TOKEN)
    assert run.returncode == 0, run.stderr
    [sent] = fake.sent_test_notifications
    assert sent["settings"]["bottoken"] == NEW_TOKEN


def test_apply_has_grafana_test_the_data_source_it_writes_as_save_and_test_does(
    fake: FakeGrafana, prometheus_server: Callable[..., PrometheusServer]
) -> None:
    """The course's step 2.5: a Prometheus that answers passes; one that does not is a
    warning naming Grafana's reason, the data source saved all the same; a data source left
    as it is is not tested again."""
    closed = f"http://127.0.0.1:{free_port()}"
    run = applied(fake, PROVISION__VALUES__PROMETHEUS__URL=closed)
    [warning] = [line for line in run.stderr.splitlines() if line.startswith("Warning:")]
    assert warning.startswith("Warning: data source drift-prometheus: Grafana's test failed: Post ")
    assert "connect: connection refused" in warning
    assert warning.endswith("There was an error returned querying the Prometheus API.")
    assert [d["url"] for d in fake.state.datasources.values()] == [closed]

    prometheus = prometheus_server(f"127.0.0.1:{free_port()}")
    run = applied(fake, PROVISION__VALUES__PROMETHEUS__URL=prometheus.url)
    assert not [line for line in run.stderr.splitlines() if line.startswith("Warning:")]
    passed = "data source drift-prometheus: Grafana's test passed: "
    assert f"{passed}Successfully queried the Prometheus API." in run.stdout.splitlines()
    fake.reset_log()
    run = applied(fake, PROVISION__VALUES__PROMETHEUS__URL=prometheus.url)
    assert "test" not in run.stdout
    assert not [r for r in fake.requests if r.path.endswith("/health") and "datasources" in r.path]


LOKI_SOURCE = """from provisioning.model import DataSource


def define(values):
    return [DataSource(uid="logs", name="Logs", type="loki", url="http://loki:3100")]
"""


def test_a_data_source_grafana_cannot_test_is_said_not_failed(
    fake: FakeGrafana, tmp_path: Path
) -> None:
    """A type with no plugin (or no health check) has no test: nothing said. A plugin that is
    down (503) is "could not test it", asked once, not retried through the retry budget."""
    definitions = copy_definitions(tmp_path)
    (definitions / "dashboards" / "logs.py").write_text(LOKI_SOURCE)
    fake.fail_next(1, status=503, paths="/api/datasources/uid/drift-prometheus/health")
    run = applied(fake, "--definitions", str(definitions), "--output", "json")
    [tested] = json.loads(run.stdout)["tested"]
    assert (tested["name"], tested["passed"]) == ("drift-prometheus", None)
    [warning] = [line for line in run.stderr.splitlines() if line.startswith("Warning:")]
    assert warning.startswith("Warning: data source drift-prometheus: Grafana could not test it: ")
    assert "503" in warning
    assert fake.reads("/api/datasources/uid/drift-prometheus/health") == 1
    assert fake.reads("/api/datasources/uid/logs/health") == 1  # asked: Grafana has no test


def test_the_rules_link_to_the_dashboard_panel_they_watch(fake: FakeGrafana) -> None:
    applied(fake)
    panels = {p["id"]: p for p in fake.state.dashboards["data-drift"]["dashboard"]["panels"]}
    rules = fake.state.rule_groups["drift", "data-drift"]["rules"]
    # No panel shows the monitor's up series: that rule links to no panel.
    linked = [rule for rule in rules if "__panelId__" in rule["annotations"]]
    assert [rule["uid"] for rule in linked] == ["drift-p-value", "drift-stale"]
    for rule in linked:
        annotations = rule["annotations"]
        assert annotations["__dashboardUid__"] == "data-drift"
        panel = panels[int(annotations["__panelId__"])]
        metric = rule["data"][0]["model"]["expr"].split()[-1]
        assert any(metric in t["expr"] for t in panel["targets"])


def test_grafana_stores_the_drift_rule_as_material_drift_on_every_version(
    fake: FakeGrafana,
) -> None:
    applied(fake)
    rules = fake.state.rule_groups["drift", "data-drift"]["rules"]
    drift_rule = next(rule for rule in rules if rule["uid"] == "drift-p-value")
    models = {step["refId"]: step["model"] for step in drift_rule["data"]}
    assert drift_rule["condition"] == "drifted"
    assert models["drifted"]["expression"] == "$significant && $material"
    assert models["effect_minus_threshold_query"]["expr"] == (
        "drift_feature_effect_size - drift_feature_effect_size_threshold"
    )
    # Threshold "gte" (>=): as the engine, an effect equal to its threshold is material.
    evaluator = models["material"]["conditions"][0]["evaluator"]
    assert (evaluator["type"], evaluator["params"]) == ("gte", [0])


def test_export_matches_what_apply_sends(fake: FakeGrafana, tmp_path: Path) -> None:
    applied(fake)
    assert provision(None, "export", str(tmp_path)).returncode == 0
    exported = json.loads((tmp_path / "dashboards/drift/drift/data-drift.json").read_text())
    live = fake.state.dashboards["data-drift"]["dashboard"]
    assert {k: v for k, v in exported.items() if k not in ("id", "version")} == {
        k: v for k, v in live.items() if k not in ("id", "version")
    }


def test_a_url_that_is_not_grafana_is_one_line(recorder: Recorder) -> None:
    run = provision(None, "plan", GRAFANA_URL=recorder.url, GRAFANA_TOKEN=DEFAULT_TOKEN)
    assert run.returncode == 1
    assert run.stderr.strip() == (
        f"Error: {recorder.url} does not answer like Grafana (GET /api/health: HTTP 501); "
        "check GRAFANA_URL"
    )


def test_apply_validates_first_and_writes_nothing_invalid(fake: FakeGrafana) -> None:
    run = provision(fake, "apply", TELEGRAM_CHAT_ID="my channel")
    assert run.returncode == 1
    assert "not valid: contact point Telegram (telegram): chat id 'my channel'" in run.stderr
    assert fake.requests == []


def test_a_route_with_several_matchers_in_any_order_plans_as_unchanged(
    fake: FakeGrafana, tmp_path: Path
) -> None:
    # Grafana answers a route's matchers sorted by name (its routes are read that way). The
    # route matches a label the drift rule's alerts take from their series.
    definitions = copy_definitions(tmp_path)
    (definitions / "alerting/bikes.py").write_text(
        "from provisioning.model import Route, Values\n\n\n"
        "def define(values: Values) -> list:\n"
        "    matchers = {'drift_threshold_detected': 'true', 'dataset': 'bikes'}\n"
        "    return [Route(receiver='Telegram', matchers=matchers, continue_matching=True)]\n"
    )
    applied(fake, "--definitions", str(definitions))
    [branch] = fake.state.policy_tree["routes"]
    # Modules are read in name order: alerting/bikes.py comes first.
    assert [m[0] for m in branch["routes"][0]["object_matchers"]] == [
        "dataset",
        "drift_threshold_detected",
    ]
    assert plan(fake, "--definitions", str(definitions))[0] == 0
