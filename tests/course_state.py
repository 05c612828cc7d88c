"""The Grafana a course user has after clicking through the course's practice by hand
(/work/shared/seed: the screenshots dash_1 ... dash_9 and the text of steps 2-6), seeded into
the fake through Grafana's HTTP API as the UI would write it: no uid chosen by the person (so
Grafana's random ones), no provenance (UI-made objects carry none), the admin's basic auth.

What each object is, and where it comes from:
    data source    "prometheus" (step 2: the UI names the first Prometheus data source after
                   its type; dash_5 shows it), url http://prometheus:9090, a random uid
    dashboard      "Data Drift" in General (step 3), one time-series panel "Bike Covariate
                   Shift" (dash_2) querying drift{metric="p_value"} (dash_1), a random uid
    contact point  "Telegram" (dash_4): a Telegram integration, a bot token and chat id
    folder         "Drift" (dash_8), made from the rule form, a random uid
    alert rule     "Bike Drift Alert(Below Threshold)" (dash_5/6/8) in group "Drift" every
                   10s, pending 10s: A = drift{metric="p_value"} (instant), B = last of A
                   (strict), C = B below 0.05; label drift_threshold_detected=true (step 5.6,
                   spelled as the policy matches it, not as dash_11's typo)
    policy         a nested route drift_threshold_detected = true -> Telegram under the
                   default policy (dash_9)

``seed_course_state(fake, as_screenshots=True)`` seeds what the person's own screenshots show
where they differ from the text: a second Prometheus data source, "prometheus-1" (Grafana's
name for a second one of a type; same URL), which the dashboard queries (dash_1) while the rule
queries "prometheus" (dash_5); the panel left "Panel Title" (dash_1, dash_10); the rule's label
misspelt drift_treshold_detected (dash_11, dash_12), so the policy never matches it. The
dashboard keeps the text's title "Data Drift" (step 3.5): dash_10 shows this person's own
"drift_detection", which nothing in it ties to ours (it queries the course's drift gauge).

Which API writes what: data sources, folders and rules go through the legacy endpoints on
every version (the UI's ruler API and the provisioning API with X-Disable-Provenance store the
same rule, without provenance). On Grafana 13 the UI writes dashboards through
dashboard.grafana.app/v1 and contact points and the policy tree through
notifications.alerting.grafana.app/v1beta1, so this does too where the profile serves them;
elsewhere /api/dashboards/db and the provisioning API without provenance, which store the same
objects."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

from fake_grafana import NOTIFICATIONS_GROUP, FakeGrafana

DATASOURCE_NAME = "prometheus"
PROMETHEUS_URL = "http://prometheus:9090"
DASHBOARD_TITLE = "Data Drift"
PANEL_TITLE = "Bike Covariate Shift"
QUERY = 'drift{metric="p_value"}'
CONTACT_POINT = "Telegram"
BOT_TOKEN = "7000000000:course-bot-token"  # a made-up token: the fake sends nothing
CHAT_ID = "-4154125001"  # dash_4's example chat id
FOLDER_TITLE = "Drift"
GROUP = "Drift"
RULE_TITLE = "Bike Drift Alert(Below Threshold)"
LABEL, LABEL_VALUE = "drift_threshold_detected", "true"
# As the screenshots show them (see above).
SECOND_DATASOURCE_NAME = "prometheus-1"
DEFAULT_PANEL_TITLE = "Panel Title"
MISSPELT_LABEL = "drift_treshold_detected"
NO_PROVENANCE = {"X-Disable-Provenance": "true"}
PROVISIONING = "/api/v1/provisioning"
DASHBOARDS_V1 = "/apis/dashboard.grafana.app/v1/namespaces/default/dashboards"
NOTIFICATIONS = f"/apis/{NOTIFICATIONS_GROUP}/v1beta1/namespaces/default"


@dataclass(frozen=True)
class CourseState:
    """The uids Grafana gave the hand-made objects."""

    datasource_uid: str
    dashboard_uid: str
    folder_uid: str
    rule_uid: str
    second_datasource_uid: str = ""  # as_screenshots: "prometheus-1", which the dashboard queries


class _Browser:
    """The person's session: the admin signed in, every answer checked."""

    def __init__(self, fake: FakeGrafana) -> None:
        self.url = fake.url
        self.session = requests.Session()
        self.session.auth = (fake.user, fake.password)

    def __call__(self, method: str, path: str, body: Any = None, **headers: str) -> Any:
        reply = self.session.request(
            method, self.url + path, json=body, headers=headers, timeout=10
        )
        if reply.status_code >= 300:
            raise AssertionError(f"{method} {path}: {reply.status_code} {reply.text}")
        return reply.json() if reply.content else None


def seed_course_state(fake: FakeGrafana, *, as_screenshots: bool = False) -> CourseState:
    """The course's hand-made objects in org 1 of ``fake``, as a person made them following
    the text (``as_screenshots``: as the person's screenshots show them)."""
    ui = _Browser(fake)
    datasource_uid = _datasource(ui, DATASOURCE_NAME)
    second = _datasource(ui, SECOND_DATASOURCE_NAME) if as_screenshots else ""
    panel = DEFAULT_PANEL_TITLE if as_screenshots else PANEL_TITLE
    dashboard_uid = _dashboard(ui, fake, second or datasource_uid, panel)
    _contact_point(ui, fake)
    folder_uid = ui("POST", "/api/folders", {"title": FOLDER_TITLE})["uid"]
    label = MISSPELT_LABEL if as_screenshots else LABEL
    rule_uid = _rule(ui, folder_uid, datasource_uid, label)
    _policy(ui, fake)
    return CourseState(datasource_uid, dashboard_uid, folder_uid, rule_uid, second)


def serves_notifications_app(fake: FakeGrafana) -> bool:
    return fake.profile.serves(NOTIFICATIONS_GROUP, "v1beta1")


def _datasource(ui: _Browser, name: str) -> str:
    """Step 2: "Add new data source" saves the type's defaults, "Save & test" the URL."""
    defaults = {"name": name, "type": "prometheus", "access": "proxy"}
    uid = ui("POST", "/api/datasources", defaults)["datasource"]["uid"]
    body = defaults | {"url": PROMETHEUS_URL, "jsonData": {"httpMethod": "POST"}}
    ui("PUT", f"/api/datasources/uid/{uid}", body)
    return uid


def _panel(datasource_uid: str, title: str = PANEL_TITLE) -> dict[str, Any]:
    source = {"type": "prometheus", "uid": datasource_uid}
    return {
        "id": 1,
        "type": "timeseries",
        "title": title,
        "datasource": source,
        "gridPos": {"h": 8, "w": 12, "x": 0, "y": 0},
        "targets": [{"refId": "A", "datasource": source, "expr": QUERY, "range": True}],
    }


def _dashboard(ui: _Browser, fake: FakeGrafana, datasource_uid: str, panel: str) -> str:
    spec = {"title": DASHBOARD_TITLE, "panels": [_panel(datasource_uid, panel)], "tags": []}
    if fake.profile.serves("dashboard.grafana.app", "v1"):
        body = {
            "apiVersion": "dashboard.grafana.app/v1",
            "kind": "Dashboard",
            "metadata": {"generateName": "ad"},  # no folder annotation: General
            "spec": {**spec, "schemaVersion": 42},
        }
        return ui("POST", DASHBOARDS_V1, body)["metadata"]["name"]
    body = {"dashboard": {**spec, "schemaVersion": 39}, "folderUid": "", "overwrite": False}
    return ui("POST", "/api/dashboards/db", body)["uid"]


def _contact_point(ui: _Browser, fake: FakeGrafana) -> None:
    settings = {"bottoken": BOT_TOKEN, "chatid": CHAT_ID}
    if serves_notifications_app(fake):
        integration = {"type": "telegram", "version": "v1", "settings": settings}
        body = {
            "apiVersion": f"{NOTIFICATIONS_GROUP}/v1beta1",
            "kind": "Receiver",
            "metadata": {},
            "spec": {"title": CONTACT_POINT, "integrations": [integration]},
        }
        ui("POST", f"{NOTIFICATIONS}/receivers", body)
        return
    body = {"name": CONTACT_POINT, "type": "telegram", "settings": settings}
    ui("POST", f"{PROVISIONING}/contact-points", body, **NO_PROVENANCE)


def _rule(ui: _Browser, folder_uid: str, datasource_uid: str, label: str) -> str:
    query = {
        "refId": "A",
        "datasourceUid": datasource_uid,
        "relativeTimeRange": {"from": 600, "to": 0},
        "model": {"refId": "A", "expr": QUERY, "instant": True, "range": False},
    }
    last = {"refId": "B", "type": "reduce", "expression": "A", "reducer": "last"}
    below = {
        "refId": "C",
        "type": "threshold",
        "expression": "B",
        "conditions": [{"evaluator": {"type": "lt", "params": [0.05]}}],
    }
    steps = [query] + [
        {"refId": m["refId"], "datasourceUid": "__expr__", "model": m} for m in (last, below)
    ]
    rule = {
        "orgID": 1,
        "folderUID": folder_uid,
        "ruleGroup": GROUP,
        "title": RULE_TITLE,
        "condition": "C",
        "data": steps,
        "for": "10s",
        "labels": {label: LABEL_VALUE},
        "noDataState": "NoData",
        "execErrState": "Error",
    }
    group = {"title": GROUP, "interval": 10, "rules": [rule]}
    path = f"{PROVISIONING}/folder/{folder_uid}/rule-groups/{GROUP}"
    ui("PUT", path, group, **NO_PROVENANCE)
    [stored] = ui("GET", path)["rules"]
    return stored["uid"]


def _policy(ui: _Browser, fake: FakeGrafana) -> None:
    """Step 6: "New nested policy" under the default policy."""
    if serves_notifications_app(fake):
        tree = ui("GET", f"{NOTIFICATIONS}/routingtrees/user-defined")
        matcher = {"label": LABEL, "type": "=", "value": LABEL_VALUE}
        route = {"receiver": CONTACT_POINT, "matchers": [matcher], "continue": False}
        tree["spec"]["routes"] = [*(tree["spec"].get("routes") or []), route]
        ui("PUT", f"{NOTIFICATIONS}/routingtrees/user-defined", tree)
        return
    tree = ui("GET", f"{PROVISIONING}/policies")
    tree.pop("provenance", None)
    route = {"receiver": CONTACT_POINT, "object_matchers": [[LABEL, "=", LABEL_VALUE]]}
    tree["routes"] = [*(tree.get("routes") or []), route]
    ui("PUT", f"{PROVISIONING}/policies", tree, **NO_PROVENANCE)


def add_integration(fake: FakeGrafana, type: str, settings: dict[str, Any]) -> None:
    """One more integration in the contact point "Telegram", as the UI's "Add contact point
    integration" saves it: into the receiver on Grafana 13, else a contact point of the
    same name (the provisioning API's one per integration)."""
    ui = _Browser(fake)
    if serves_notifications_app(fake):
        receivers = ui("GET", f"{NOTIFICATIONS}/receivers")["items"]
        [receiver] = [r for r in receivers if r["spec"]["title"] == CONTACT_POINT]
        integration = {"type": type, "version": "v1", "settings": settings}
        receiver["spec"]["integrations"].append(integration)
        ui("PUT", f"{NOTIFICATIONS}/receivers/{receiver['metadata']['name']}", receiver)
        return
    body = {"name": CONTACT_POINT, "type": type, "settings": settings}
    ui("POST", f"{PROVISIONING}/contact-points", body, **NO_PROVENANCE)
