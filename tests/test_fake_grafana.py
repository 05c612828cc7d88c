"""The fake Grafana itself: each documented semantic (API-NOTES.md sections in the test names'
docstrings), the OpenAPI validation of request bodies, and the test instrumentation. Plain
``requests`` against a real server on 127.0.0.1."""

from __future__ import annotations

import base64
import copy
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from fake_grafana import (
    DEFAULT_RECEIVER,
    DEFAULT_TOKEN,
    PERM_PROVISIONING_WRITE,
    PROVISIONING_WITHOUT_SECRETS,
    REDACTED,
    FakeGrafana,
    FakeToken,
    Reply,
    format_prom_duration,
    go_duration,
    normalise_matcher,
    normalise_prom_duration,
    start_fake_grafana,
)

PROV = "/api/v1/provisioning"
TOKEN = "123456:ABC-real-bot-token"

# The notes' example bodies (API-NOTES.md §2, §5.1, §5.2, §5.3, §5.4).
PROMETHEUS: dict[str, Any] = {
    "uid": "prom",
    "name": "Prometheus",
    "type": "prometheus",
    "access": "proxy",
    "url": "http://prometheus:9090",
    "isDefault": True,
    "jsonData": {"httpMethod": "POST", "timeInterval": "15s"},
}
TELEGRAM: dict[str, Any] = {
    "uid": "tg-drift",
    "name": "telegram-drift",
    "type": "telegram",
    "disableResolveMessage": False,
    "settings": {
        "bottoken": TOKEN,
        "chatid": "-1001234567890",
        "message_thread_id": "42",
        "parse_mode": "HTML",
        "disable_web_page_preview": True,
        "protect_content": False,
        "disable_notifications": False,
        "message": '{{ template "drift.telegram" . }}',
    },
}
POLICY: dict[str, Any] = {
    "receiver": "grafana-default-email",
    "group_by": ["grafana_folder", "alertname"],
    "routes": [
        {
            "receiver": "telegram-drift",
            "object_matchers": [["drift_threshold_detected", "=", "true"]],
            "group_by": ["grafana_folder", "alertname"],
            "group_wait": "10s",
            "group_interval": "1m",
            "repeat_interval": "4h",
            "continue": False,
        }
    ],
}
RULE: dict[str, Any] = {
    "uid": "drift-pvalue",
    "title": "Data drift detected (p-value < 0.05)",
    "ruleGroup": "data-drift",
    "folderUID": "drift",
    "orgID": 1,
    "condition": "C",
    "for": "10s",
    "noDataState": "NoData",
    "execErrState": "Error",
    "isPaused": False,
    "labels": {"drift_threshold_detected": "true"},
    "annotations": {"summary": "p-value {{ $values.B.Value }} < 0.05"},
    "data": [
        {
            "refId": "A",
            "queryType": "",
            "relativeTimeRange": {"from": 600, "to": 0},
            "datasourceUid": "prom",
            "model": {
                "refId": "A",
                "expr": "drift_p_value",
                "instant": True,
                "range": False,
                "datasource": {"type": "prometheus", "uid": "prom"},
                "intervalMs": 1000,
                "maxDataPoints": 43200,
            },
        },
        {
            "refId": "B",
            "queryType": "",
            "relativeTimeRange": {"from": 0, "to": 0},
            "datasourceUid": "__expr__",
            "model": {
                "refId": "B",
                "type": "reduce",
                "expression": "A",
                "reducer": "last",
                "settings": {"mode": "dropNN"},
                "datasource": {"type": "__expr__", "uid": "__expr__"},
            },
        },
        {
            "refId": "C",
            "queryType": "",
            "relativeTimeRange": {"from": 0, "to": 0},
            "datasourceUid": "__expr__",
            "model": {
                "refId": "C",
                "type": "threshold",
                "expression": "B",
                "conditions": [{"evaluator": {"type": "lt", "params": [0.05]}}],
                "datasource": {"type": "__expr__", "uid": "__expr__"},
            },
        },
    ],
}
GROUP_PATH = f"{PROV}/folder/drift/rule-groups/data-drift"


def group(*rules: dict[str, Any], interval: int = 10) -> dict[str, Any]:
    return {"title": "data-drift", "folderUid": "drift", "interval": interval, "rules": list(rules)}


def rule(**changes: Any) -> dict[str, Any]:
    """The §5.3 rule with some keys replaced."""
    return {**copy.deepcopy(RULE), **changes}


class Client:
    """requests against the fake, with basic auth unless told otherwise."""

    def __init__(self, fake: FakeGrafana) -> None:
        self.fake = fake
        self.session = requests.Session()

    def __call__(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        if "Authorization" not in (kwargs.get("headers") or {}):
            kwargs.setdefault("auth", ("admin", "admin"))
        return self.session.request(method, self.fake.url + path, timeout=10, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        return self("POST", path, json=body, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        return self("PUT", path, json=body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self("DELETE", path, **kwargs)


@pytest.fixture
def fake(request: pytest.FixtureRequest) -> Iterator[FakeGrafana]:
    """The fake of the test's profile (conftest runs each test on every profile)."""
    with FakeGrafana(version=request.param) as server:
        yield server
    assert server.internal_errors == []  # no exception inside the fake itself


@pytest.fixture
def api(fake: FakeGrafana) -> Iterator[Client]:
    client = Client(fake)
    yield client
    client.session.close()


@pytest.fixture
def drift(api: Client) -> Client:
    """The Prometheus data source, the "drift" folder and the Telegram contact point exist."""
    assert api.post("/api/datasources", PROMETHEUS).status_code == 200
    assert (
        api.post("/api/folders", {"uid": "drift", "title": "Drift monitoring"}).status_code == 200
    )
    assert api.post(f"{PROV}/contact-points", TELEGRAM).status_code == 202
    return api


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# -- value helpers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("60s", "1m"),
        ("90s", "1m30s"),
        ("4h", "4h"),
        ("240m", "4h"),
        ("0", "0s"),
        ("0s", "0s"),
        ("10s", "10s"),
        ("24h", "1d"),
        ("168h", "1w"),
        ("90d", "90d"),
        ("1500ms", "1s500ms"),
    ],
)
def test_durations_are_normalised_like_prometheus(given: str, expected: str) -> None:
    assert normalise_prom_duration(given) == expected


def test_invalid_prometheus_durations_raise() -> None:
    for bad in ("", "10", "1x", "m", "-5s", "1.5s"):
        with pytest.raises(ValueError):
            normalise_prom_duration(bad)
    assert format_prom_duration(0) == "0s"


def test_go_durations_format_like_time_duration() -> None:
    assert [go_duration(s) for s in (0, 5, 15, 90, 600, 3600)] == [
        "0s",
        "5s",
        "15s",
        "1m30s",
        "10m0s",
        "1h0m0s",
    ]


def test_matchers_render_like_alertmanager() -> None:
    assert normalise_matcher("severity=critical") == 'severity="critical"'
    assert normalise_matcher('a =~ "x|y"') == 'a=~"x|y"'
    with pytest.raises(ValueError):
        normalise_matcher("not a matcher")


# -- health, auth, orgs (§1) ---------------------------------------------------------------


# Real patch releases of each profile's minor (see fake_grafana.PROFILES for the evidence).
RELEASES = {"11.6": "11.6.13", "12.4": "12.4.3", "13.2": "13.2.1"}


def test_health_needs_no_auth(fake: FakeGrafana) -> None:
    response = requests.get(f"{fake.url}/api/health", timeout=10)
    assert response.status_code == 200
    expected = {"commit": "fake", "database": "ok", "version": RELEASES[fake.version]}
    assert response.json() == expected


def test_health_is_503_when_the_database_fails(fake: FakeGrafana) -> None:
    fake.database_ok = False
    response = requests.get(f"{fake.url}/api/health", timeout=10)
    assert response.status_code == 503
    assert response.json()["database"] == "failing"


def test_missing_or_wrong_credentials_are_401(fake: FakeGrafana) -> None:
    missing = requests.get(f"{fake.url}/api/datasources", timeout=10)
    assert missing.status_code == 401
    assert missing.json()["message"] == "Unauthorized"
    wrong = requests.get(f"{fake.url}/api/datasources", auth=("admin", "nope"), timeout=10)
    assert wrong.status_code == 401
    assert wrong.json()["message"] == "Invalid username or password"
    token = requests.get(f"{fake.url}/api/datasources", headers=bearer("glsa_bad"), timeout=10)
    assert token.status_code == 401


def test_configured_basic_auth_and_bearer_tokens_authenticate() -> None:
    with FakeGrafana(user="grafana", password="s3cret") as fake:
        basic = requests.get(f"{fake.url}/api/folders", auth=("grafana", "s3cret"), timeout=10)
        token = requests.get(f"{fake.url}/api/folders", headers=bearer(DEFAULT_TOKEN), timeout=10)
        default = requests.get(f"{fake.url}/api/folders", auth=("admin", "admin"), timeout=10)
    assert (basic.status_code, token.status_code, default.status_code) == (200, 200, 401)


def test_a_token_without_a_permission_gets_403_naming_it() -> None:
    readonly = {"glsa_reader": {"alert.provisioning:read", "folders:read"}}
    with FakeGrafana(tokens=readonly) as fake:
        url = f"{fake.url}{PROV}/policies"
        assert requests.get(url, headers=bearer("glsa_reader"), timeout=10).status_code == 200
        refused = requests.put(url, json=POLICY, headers=bearer("glsa_reader"), timeout=10)
    assert refused.status_code == 403
    assert PERM_PROVISIONING_WRITE in refused.json()["message"]


def test_decrypted_export_needs_the_secrets_permission(fake: FakeGrafana, drift: Client) -> None:
    fake.tokens["glsa_writer"] = FakeToken(PROVISIONING_WITHOUT_SECRETS)
    url = f"{PROV}/contact-points/export?decrypt=true&format=json"
    refused = drift.get(url, headers=bearer("glsa_writer"))
    assert refused.status_code == 403
    assert "alert.provisioning.secrets:read" in refused.json()["message"]
    redacted = drift.get(f"{PROV}/contact-points/export?format=json", headers=bearer("glsa_writer"))
    assert redacted.status_code == 200
    allowed = drift.get(url)
    receivers = {r["uid"]: r for cp in allowed.json()["contactPoints"] for r in cp["receivers"]}
    assert receivers["tg-drift"]["settings"]["bottoken"] == TOKEN
    redacted_receivers = {
        r["uid"]: r for cp in redacted.json()["contactPoints"] for r in cp["receivers"]
    }
    assert redacted_receivers["tg-drift"]["settings"]["bottoken"] == REDACTED


def test_org_header_selects_a_separate_state() -> None:
    with FakeGrafana(orgs=(1, 2)) as fake, requests.Session() as session:
        session.auth = ("admin", "admin")
        body = {"uid": "f2", "title": "Org two"}
        created = session.post(
            f"{fake.url}/api/folders", json=body, headers={"X-Grafana-Org-Id": "2"}, timeout=10
        )
        assert created.status_code == 200
        assert session.get(f"{fake.url}/api/folders", timeout=10).json() == []
        two = {"X-Grafana-Org-Id": "2"}
        in_two = session.get(f"{fake.url}/api/folders", headers=two, timeout=10)
        assert [f["uid"] for f in in_two.json()] == ["f2"]
        assert "f2" in fake.org_state(2).folders
        nine = {"X-Grafana-Org-Id": "9"}
        unknown = session.get(f"{fake.url}/api/folders", headers=nine, timeout=10)
        assert unknown.status_code == 401


# -- OpenAPI validation of request bodies ----------------------------------------------------


def test_the_notes_example_bodies_pass_the_spec(fake: FakeGrafana, api: Client) -> None:
    assert api.post("/api/datasources", PROMETHEUS).status_code == 200
    assert (
        api.post("/api/folders", {"uid": "drift", "title": "Drift monitoring"}).status_code == 200
    )
    assert api.post(f"{PROV}/contact-points", TELEGRAM).status_code == 202
    assert api.put(f"{PROV}/policies", POLICY).status_code == 202
    assert api.put(GROUP_PATH, group(RULE)).status_code == 200
    dashboard = {"dashboard": {"uid": "drift-overview", "id": None, "title": "Drift"}}
    saved = api.post("/api/dashboards/db", {**dashboard, "folderUid": "drift", "overwrite": True})
    assert saved.status_code == 200
    template = {"template": '{{ define "drift.telegram" }}x{{ end }}', "version": ""}
    assert api.put(f"{PROV}/templates/drift", template).status_code == 202
    assert fake.spec_violations == []


def test_a_rule_without_condition_is_rejected_and_recorded(
    fake: FakeGrafana, drift: Client
) -> None:
    bad = rule()
    del bad["condition"]
    response = drift.put(GROUP_PATH, group(bad))
    assert response.status_code == 400
    assert response.json()["message"] == (
        "fake grafana: request body does not match the OpenAPI spec: "
        "$.rules[0]: 'condition' is a required property"
    )
    [violation] = fake.spec_violations
    assert violation["operation"] == "RoutePutAlertRuleGroup"
    assert violation["method"] == "PUT"
    assert violation["path"] == GROUP_PATH
    assert fake.state.rule_groups == {}


def test_a_contact_point_without_settings_is_rejected(fake: FakeGrafana, api: Client) -> None:
    response = api.post(f"{PROV}/contact-points", {"name": "x", "type": "telegram"})
    assert response.status_code == 400
    assert "'settings' is a required property" in response.json()["message"]
    assert fake.spec_violations[0]["operation"] == "RoutePostContactpoints"


def test_a_datasource_body_with_a_wrong_type_is_rejected(fake: FakeGrafana, api: Client) -> None:
    response = api.post("/api/datasources", {**PROMETHEUS, "isDefault": "yes"})
    assert response.status_code == 400
    assert "$.isDefault: 'yes' is not of type 'boolean'" in response.json()["message"]
    assert len(fake.spec_violations) == 1
    assert fake.state.datasources == {}


def test_malformed_json_is_bad_request_data_and_recorded(fake: FakeGrafana, api: Client) -> None:
    response = api("POST", "/api/folders", data="{not json", headers={"Content-Type": "x"})
    assert response.status_code == 400
    assert response.json() == {"message": "bad request data"}
    assert fake.spec_violations[0]["operation"] == "createFolder"


def test_the_spec_patches_accept_what_grafana_accepts(fake: FakeGrafana, drift: Client) -> None:
    """README.md: type without the enum's leading space, KeepLast, string matchers."""
    keep_last = rule(noDataState="KeepLast", execErrState="KeepLast")
    assert drift.put(GROUP_PATH, group(keep_last)).status_code == 200
    tree = {**POLICY, "routes": [{"receiver": "telegram-drift", "matchers": ["team=drift"]}]}
    assert drift.put(f"{PROV}/policies", tree).status_code == 202
    assert fake.spec_violations == []
    assert drift.get(f"{PROV}/policies").json()["routes"][0]["matchers"] == ['team="drift"']


def test_values_outside_the_spec_enums_are_rejected(fake: FakeGrafana, drift: Client) -> None:
    response = drift.put(GROUP_PATH, group(rule(execErrState="Bogus")))
    assert response.status_code == 400
    assert "$.rules[0].execErrState" in response.json()["message"]
    labels = drift.put(GROUP_PATH, group(rule(labels={"n": 1})))
    assert "is not of type 'string'" in labels.json()["message"]
    assert len(fake.spec_violations) == 2


def test_every_route_with_a_body_maps_to_a_spec_operation(fake: FakeGrafana) -> None:
    for route in fake.api.routes:
        # /apis bodies are checked by the app modules; a removed endpoint reads no body.
        legacy = not route.template.startswith("/apis/") and route.checks_body
        if route.method not in ("POST", "PUT", "PATCH") or not legacy:
            continue
        concrete = route.template.replace("{", "").replace("}", "")
        operation = fake.spec.find(route.method, concrete)
        assert operation is not None, route.template
        assert operation.body_schema is not None, route.template


def test_unknown_endpoints_are_404_and_recorded(fake: FakeGrafana, api: Client) -> None:
    response = api.get("/api/org/preferences")
    assert response.status_code == 404
    assert api.post("/api/v1/provisioning/nope", {}).status_code == 404
    assert fake.unknown_requests == [
        ("GET", "/api/org/preferences"),
        ("POST", "/api/v1/provisioning/nope"),
    ]


def test_nulls_on_typed_fields_are_ignored_like_go(fake: FakeGrafana, api: Client) -> None:
    body = {
        "dashboard": {"uid": "d", "id": None, "title": "D"},
        "folderUid": None,
        "message": None,
        "overwrite": True,
    }
    saved = api.post("/api/dashboards/db", body)
    assert (saved.status_code, saved.json()["folderUid"]) == (200, "")
    assert fake.spec_violations == []
    no_settings = api.post(
        f"{PROV}/contact-points", {"name": "x", "type": "email", "settings": None}
    )
    assert no_settings.status_code == 400
    assert len(fake.spec_violations) == 1


# -- §2 data sources -----------------------------------------------------------------------


def test_datasource_create_get_and_name_or_uid_conflicts(api: Client) -> None:
    created = api.post("/api/datasources", PROMETHEUS)
    assert created.status_code == 200
    assert created.json()["message"] == "Datasource added"
    got = api.get("/api/datasources/uid/prom").json()
    assert (got["name"], got["version"], got["readOnly"]) == ("Prometheus", 1, False)
    assert api.get("/api/datasources/name/Prometheus").json()["uid"] == "prom"
    same_name = api.post("/api/datasources", {**PROMETHEUS, "uid": "other"})
    assert same_name.status_code == 409
    assert same_name.json() == {"message": "data source with the same name already exists"}
    same_uid = api.post("/api/datasources", {**PROMETHEUS, "name": "Other"})
    assert same_uid.json() == {"message": "data source with the same uid already exists"}
    assert [d["uid"] for d in api.get("/api/datasources").json()] == ["prom"]


def test_datasource_put_bumps_the_version_and_refuses_a_stale_one(api: Client) -> None:
    api.post("/api/datasources", PROMETHEUS)
    updated = api.put("/api/datasources/uid/prom", {**PROMETHEUS, "version": 1})
    assert updated.status_code == 200
    assert updated.json()["message"] == "Datasource updated"
    assert updated.json()["datasource"]["version"] == 2
    stale = api.put("/api/datasources/uid/prom", {**PROMETHEUS, "version": 1})
    assert stale.status_code == 409
    assert stale.json() == {"message": "trying to update old version of datasource"}


def test_datasource_put_replaces_json_data_but_keeps_secrets(
    fake: FakeGrafana, api: Client
) -> None:
    api.post("/api/datasources", {**PROMETHEUS, "secureJsonData": {"basicAuthPassword": "pw"}})
    body = {**PROMETHEUS, "jsonData": {"httpMethod": "GET"}}
    assert api.put("/api/datasources/uid/prom", body).status_code == 200
    got = api.get("/api/datasources/uid/prom").json()
    assert got["jsonData"] == {"httpMethod": "GET"}
    assert got["secureJsonFields"] == {"basicAuthPassword": True}
    assert "secureJsonData" not in got
    assert fake.state.datasources["prom"]["secureJsonData"] == {"basicAuthPassword": "pw"}


def test_datasource_put_with_another_uid_moves_it_keeping_id_and_secrets(
    fake: FakeGrafana, api: Client
) -> None:
    """store.go UpdateDataSource writes the body's uid to the row it updates by id."""
    api.post("/api/datasources", {**PROMETHEUS, "secureJsonData": {"basicAuthPassword": "pw"}})
    before = api.get("/api/datasources/uid/prom").json()
    assert api.put("/api/datasources/uid/prom", {**PROMETHEUS, "uid": "moved"}).status_code == 200
    assert api.get("/api/datasources/uid/prom").status_code == 404
    after = api.get("/api/datasources/uid/moved").json()
    assert (after["id"], after["version"]) == (before["id"], 2)
    assert fake.state.datasources["moved"]["secureJsonData"] == {"basicAuthPassword": "pw"}
    api.post("/api/datasources", {**PROMETHEUS, "uid": "other", "name": "Other"})
    taken = api.put("/api/datasources/uid/other", {**PROMETHEUS, "name": "Other", "uid": "moved"})
    assert taken.status_code == 500  # the unique index refuses it
    assert sorted(fake.state.datasources) == ["moved", "other"]


def test_json_data_keys_unknown_to_grafana_come_back_verbatim(api: Client) -> None:
    """jsonData is a JSON blob (simplejson) in the data_source table: every read path returns it
    as stored, GET by uid and by name and the list (DataSourceListItemDTO.JsonData)."""
    json_data = {
        "httpMethod": "POST",
        "driftMonitor": {"owner": "drift", "checks": [1, 2.5, None, {"deep": True}]},
        "x-odd key": "",
    }
    assert api.post("/api/datasources", {**PROMETHEUS, "jsonData": json_data}).ok
    assert api.get("/api/datasources/uid/prom").json()["jsonData"] == json_data
    assert api.get("/api/datasources/name/Prometheus").json()["jsonData"] == json_data
    [listed] = api.get("/api/datasources").json()
    assert listed["jsonData"] == json_data
    changed = {**json_data, "driftMonitor": {"owner": "ml"}}
    api.put("/api/datasources/uid/prom", {**PROMETHEUS, "jsonData": changed})
    assert api.get("/api/datasources").json()[0]["jsonData"] == changed


def test_file_provisioned_datasources_are_read_only(fake: FakeGrafana, api: Client) -> None:
    fake.seed_datasource("prom", "Prometheus", read_only=True)
    update = api.put("/api/datasources/uid/prom", PROMETHEUS)
    assert update.status_code == 403
    assert update.json() == {"message": "Cannot update read-only data source"}
    assert api.delete("/api/datasources/uid/prom").status_code == 403


def test_datasource_delete_then_404(api: Client) -> None:
    api.post("/api/datasources", PROMETHEUS)
    deleted = api.delete("/api/datasources/uid/prom")
    assert deleted.json()["message"] == "Data source deleted"
    assert api.get("/api/datasources/uid/prom").status_code == 404
    assert api.delete("/api/datasources/uid/prom").status_code == 404


def test_the_data_source_body_needs_type_and_access(api: Client) -> None:
    body = {k: v for k, v in PROMETHEUS.items() if k != "access"}
    assert api.post("/api/datasources", body).status_code == 400


# -- §3 folders ----------------------------------------------------------------------------


def test_folder_create_get_list_and_uid_conflict(api: Client) -> None:
    created = api.post("/api/folders", {"uid": "drift", "title": "Drift monitoring"}).json()
    assert (created["uid"], created["version"]) == ("drift", 1)
    assert api.get("/api/folders/drift").json()["title"] == "Drift monitoring"
    assert api.get("/api/folders").json() == [
        {"id": created["id"], "uid": "drift", "title": "Drift monitoring"}
    ]
    again = api.post("/api/folders", {"uid": "drift", "title": "Another"})
    assert again.status_code == 409
    assert api.get("/api/folders/nope").status_code == 404


def test_nested_folders_list_by_parent_and_go_with_it(fake: FakeGrafana, api: Client) -> None:
    api.post("/api/folders", {"uid": "parent", "title": "Parent"})
    child = api.post("/api/folders", {"uid": "child", "title": "Child", "parentUid": "parent"})
    assert child.json()["parents"] == [{"uid": "parent", "title": "Parent"}]
    assert [f["uid"] for f in api.get("/api/folders").json()] == ["parent"]
    assert [f["uid"] for f in api.get("/api/folders?parentUid=parent").json()] == ["child"]
    orphan = api.post("/api/folders", {"uid": "o", "title": "O", "parentUid": "missing"})
    assert orphan.status_code == 404
    assert api.delete("/api/folders/parent").status_code == 200
    assert fake.state.folders == {}


@pytest.mark.parametrize(
    ("uid", "message"),
    [
        ("x" * 41, "uid too long, max 40 characters"),
        ("bad uid!", "uid contains illegal characters"),
    ],
)
def test_folder_and_dashboard_uids_follow_grafana_rules(
    api: Client, uid: str, message: str
) -> None:
    folder = api.post("/api/folders", {"uid": uid, "title": "T"})
    assert (folder.status_code, folder.json()["message"]) == (400, message)
    dashboard = api.post("/api/dashboards/db", {"dashboard": {"uid": uid, "title": "T"}})
    assert (dashboard.status_code, dashboard.json()["message"]) == (400, message)


@pytest.mark.parametrize("title", ["General", " gENERAL "])
def test_no_folder_takes_the_root_folders_title(api: Client, title: str) -> None:
    """dashboards.RootFolderName, trimmed and compared with strings.EqualFold, on create and
    on update: ErrDashboardFolderNameExists, a DashboardErr rendered as 400 {"message"}."""
    refused = (400, {"message": "A folder with that name already exists"})
    created = api.post("/api/folders", {"uid": "g", "title": title})
    assert (created.status_code, created.json()) == refused
    api.post("/api/folders", {"uid": "drift", "title": "Drift"})
    renamed = api.put("/api/folders/drift", {"title": title, "version": 1})
    assert (renamed.status_code, renamed.json()) == refused
    assert api.get("/api/folders/drift").json()["title"] == "Drift"


def test_folder_put_needs_the_current_version_unless_overwrite(api: Client) -> None:
    api.post("/api/folders", {"uid": "drift", "title": "Drift"})
    stale = api.put("/api/folders/drift", {"title": "Renamed", "version": 7})
    assert stale.status_code == 412
    assert stale.json()["status"] == "version-mismatch"
    ok = api.put("/api/folders/drift", {"title": "Renamed", "version": 1})
    assert (ok.status_code, ok.json()["version"]) == (200, 2)
    forced = api.put("/api/folders/drift", {"title": "Again", "overwrite": True})
    assert (forced.status_code, forced.json()["version"]) == (200, 3)


def test_deleting_a_folder_deletes_its_dashboards_and_alert_rules(
    fake: FakeGrafana, drift: Client
) -> None:
    drift.post(
        "/api/dashboards/db", {"dashboard": {"uid": "d1", "title": "D"}, "folderUid": "drift"}
    )
    drift.put(GROUP_PATH, group(RULE))
    refused = drift.delete("/api/folders/drift")
    assert refused.status_code == 400
    assert refused.json()["messageId"] == "folder.not-empty"
    deleted = drift.delete("/api/folders/drift?forceDeleteRules=true")
    assert deleted.json()["message"] == "Folder deleted"
    assert fake.state.dashboards == {}
    assert fake.state.rule_groups == {}
    assert drift.get("/api/dashboards/uid/d1").status_code == 404
    assert drift.get(f"{PROV}/alert-rules/drift-pvalue").status_code == 404


# -- §4 dashboards and search ----------------------------------------------------------------


def test_dashboard_versions_increment_on_each_save(api: Client) -> None:
    body = {"dashboard": {"uid": "drift-overview", "id": None, "title": "Drift"}, "overwrite": True}
    first = api.post("/api/dashboards/db", body).json()
    assert first["status"] == "success"
    assert (first["uid"], first["version"], first["url"]) == (
        "drift-overview",
        1,
        "/d/drift-overview/drift",
    )
    assert api.post("/api/dashboards/db", body).json()["version"] == 2
    got = api.get("/api/dashboards/uid/drift-overview").json()
    assert got["dashboard"]["version"] == 2
    assert got["meta"]["version"] == 2
    assert got["meta"]["provisioned"] is False
    versions = api.get("/api/dashboards/uid/drift-overview/versions").json()
    assert [v["version"] for v in versions] == [2, 1]


def test_dashboard_versions_can_be_read_and_restored(api: Client) -> None:
    for title in ("First", "Second"):
        body = {"dashboard": {"uid": "d", "title": title}, "overwrite": True}
        assert api.post("/api/dashboards/db", body).status_code == 200
    assert api.get("/api/dashboards/uid/d/versions/1").json()["data"]["title"] == "First"
    assert api.get("/api/dashboards/uid/d/versions/9").status_code == 404
    restored = api.post("/api/dashboards/uid/d/restore", {"version": 1})
    assert (restored.status_code, restored.json()["version"]) == (200, 3)
    assert api.get("/api/dashboards/uid/d").json()["dashboard"]["title"] == "First"


def test_a_stale_dashboard_version_without_overwrite_is_412(api: Client) -> None:
    body = {"dashboard": {"uid": "d", "title": "Drift"}}
    assert api.post("/api/dashboards/db", body).status_code == 200
    stale = api.post("/api/dashboards/db", body)  # no version: 0 != 1
    assert stale.status_code == 412
    assert stale.json() == {
        "status": "version-mismatch",
        "message": "The dashboard has been changed by someone else",
    }
    current = {"dashboard": {"uid": "d", "title": "Drift", "version": 1}}
    assert api.post("/api/dashboards/db", current).json()["version"] == 2


def test_a_dashboard_in_an_unknown_folder_is_404(api: Client) -> None:
    response = api.post("/api/dashboards/db", {"dashboard": {"title": "T"}, "folderUid": "nope"})
    assert response.status_code == 404


def test_a_dashboard_needs_a_title(api: Client) -> None:
    response = api.post("/api/dashboards/db", {"dashboard": {"uid": "d"}})
    assert response.json() == {"message": "Dashboard title cannot be empty", "status": "empty-name"}


def test_dashboard_meta_names_its_folder(drift: Client) -> None:
    body = {"dashboard": {"uid": "d", "title": "Drift"}, "folderUid": "drift"}
    assert drift.post("/api/dashboards/db", body).json()["folderUid"] == "drift"
    meta = drift.get("/api/dashboards/uid/d").json()["meta"]
    assert (meta["folderUid"], meta["folderTitle"]) == ("drift", "Drift monitoring")
    deleted = drift.delete("/api/dashboards/uid/d").json()
    assert deleted == {"title": "Drift", "message": "Dashboard Drift deleted", "uid": "d"}
    assert drift.delete("/api/dashboards/uid/d").status_code == 404


def test_file_provisioned_dashboards_cannot_be_saved(fake: FakeGrafana, api: Client) -> None:
    fake.seed_dashboard({"uid": "p", "title": "From a file"}, provisioned=True)
    body = {"dashboard": {"uid": "p", "title": "Mine"}, "overwrite": True}
    assert api.post("/api/dashboards/db", body).json() == {
        "message": "Cannot save provisioned dashboard"
    }
    assert api.get("/api/dashboards/uid/p").json()["meta"]["provisioned"] is True


def test_search_filters_by_type_folder_tag_and_query(drift: Client) -> None:
    for uid, title, tags, folder in [
        ("a", "Drift overview", ["drift"], "drift"),
        ("b", "Drift details", ["drift", "detail"], "drift"),
        ("c", "Other", [], ""),
    ]:
        body = {"dashboard": {"uid": uid, "title": title, "tags": tags}, "folderUid": folder}
        assert drift.post("/api/dashboards/db", body).status_code == 200

    def uids(query: str) -> list[str]:
        return [hit["uid"] for hit in drift.get(f"/api/search?{query}").json()]

    assert uids("type=dash-db") == ["b", "a", "c"]
    assert uids("type=dash-db&folderUIDs=drift") == ["b", "a"]
    assert uids("type=dash-db&folderUIDs=") == ["c"]  # the root
    assert uids("type=dash-db&tag=drift&tag=detail") == ["b"]
    assert uids("type=dash-db&query=overview") == ["a"]
    assert uids("type=dash-folder") == ["drift"]
    hit = drift.get("/api/search?type=dash-db&query=overview").json()[0]
    assert (hit["folderUid"], hit["type"]) == ("drift", "dash-db")


def test_search_reads_limit_and_page_as_grafana_does(drift: Client) -> None:
    """api/search.go reads them with c.QueryInt64 (strconv.ParseInt, its error dropped: 0 for
    what is no integer, the nearest int64 past the range) and refuses a limit above 5000 with
    422; the store (FindDashboards) takes a limit below 1 as 1000 and a page below 1 as 1."""
    for uid in ("q-a", "q-b", "q-c"):
        assert drift.post("/api/dashboards/db", {"dashboard": {"uid": uid, "title": uid}}).ok

    def uids(query: str) -> list[str]:
        response = drift.get(f"/api/search?query=q-&{query}")
        assert response.status_code == 200, response.text
        return [hit["uid"] for hit in response.json()]

    every = ["q-a", "q-b", "q-c"]
    for limit in ("x", "0", "-3", "1.5", "%201", "5000"):  # %20: a space, no integer to Go
        assert uids(f"limit={limit}") == every, limit
    assert uids("limit=%2B1") == ["q-a"]  # ParseInt takes a sign
    for page in ("x", "0", "-1"):
        assert uids(f"limit=2&page={page}") == ["q-a", "q-b"], page
    assert uids("limit=2&page=2") == ["q-c"]
    refused = {
        "message": "Limit is above maximum allowed (5000), use page parameter to access hits "
        "beyond limit"
    }
    for limit in ("5001", "99999999999999999999"):
        response = drift.get(f"/api/search?limit={limit}")
        assert (response.status_code, response.json()) == (422, refused), limit


def test_search_by_tags_needs_every_tag(drift: Client) -> None:
    """searchstore.TagsFilter: term IN (tags) GROUP BY dashboard HAVING COUNT >= len(tags)."""
    for uid, tags, folder in [
        ("both", ["drift", "prod"], "drift"),
        ("drift-only", ["drift"], ""),
        ("prod-only", ["prod"], "drift"),
    ]:
        body = {"dashboard": {"uid": uid, "title": uid, "tags": tags}, "folderUid": folder}
        assert drift.post("/api/dashboards/db", body).ok

    def hits(query: str) -> list[dict[str, Any]]:
        return drift.get(f"/api/search?type=dash-db&{query}").json()

    assert sorted(h["uid"] for h in hits("tag=drift")) == ["both", "drift-only"]
    [hit] = hits("tag=drift&tag=prod")
    assert (hit["uid"], hit["title"], hit["folderUid"]) == ("both", "both", "drift")
    assert hit["tags"] == ["drift", "prod"]
    [root] = hits("tag=drift&query=only")
    assert "folderUid" not in root  # a dashboard at the root: omitempty
    assert hits("tag=nope") == []
    assert hits("tag=drift&tag=drift") == []  # the count wants two rows, there is one


# -- §0.1 / §0.2 provenance --------------------------------------------------------------------


def test_provisioning_writes_are_stamped_api(fake: FakeGrafana, drift: Client) -> None:
    assert drift.get(f"{PROV}/contact-points?name=telegram-drift").json()[0]["provenance"] == "api"
    assert fake.state.contact_points["tg-drift"]["provenance"] == "api"


def test_the_disable_provenance_header_counts_by_presence_only(
    fake: FakeGrafana, api: Client
) -> None:
    body = {**TELEGRAM, "uid": "tg2", "name": "tg2"}
    created = api.post(f"{PROV}/contact-points", body, headers={"X-Disable-Provenance": "false"})
    assert "provenance" not in created.json()  # provenance "" is omitted
    assert fake.state.contact_points["tg2"]["provenance"] == ""
    got = api.get(f"{PROV}/contact-points?name=tg2").json()[0]
    assert "provenance" not in got


def test_notification_resources_refuse_api_to_none_with_403(
    fake: FakeGrafana, drift: Client
) -> None:
    none = {"X-Disable-Provenance": "true"}
    contact = drift.put(f"{PROV}/contact-points/tg-drift", TELEGRAM, headers=none)
    assert contact.status_code == 403
    assert contact.json()["messageId"] == "alerting.notifications.invalidProvenance"
    assert "cannot be changed to 'none'" in contact.json()["message"]
    assert drift.put(f"{PROV}/policies", POLICY).status_code == 202
    assert drift.put(f"{PROV}/policies", POLICY, headers=none).status_code == 403
    template = {"template": '{{ define "t" }}x{{ end }}'}
    assert drift.put(f"{PROV}/templates/t", template).status_code == 202
    assert drift.put(f"{PROV}/templates/t", template, headers=none).status_code == 403
    # none -> api is allowed (relaxed validation)
    assert drift.put(f"{PROV}/contact-points/tg-drift", TELEGRAM).status_code == 202


def test_a_single_rule_put_from_api_to_none_is_a_plain_500(drift: Client) -> None:
    assert drift.post(f"{PROV}/alert-rules", RULE).status_code == 201
    response = drift.put(
        f"{PROV}/alert-rules/drift-pvalue", RULE, headers={"X-Disable-Provenance": ""}
    )
    assert response.status_code == 500
    assert response.json() == {"message": "cannot change provenance from 'api' to ''"}


def test_a_rule_group_put_may_go_from_api_to_none(fake: FakeGrafana, drift: Client) -> None:
    assert drift.put(GROUP_PATH, group(RULE)).status_code == 200
    assert drift.get(GROUP_PATH).json()["rules"][0]["provenance"] == "api"
    changed = rule(labels={"drift_threshold_detected": "true", "team": "ml"})
    none = {"X-Disable-Provenance": "1"}
    assert drift.put(GROUP_PATH, group(changed), headers=none).status_code == 200
    assert "provenance" not in drift.get(GROUP_PATH).json()["rules"][0]


def test_file_provisioned_rule_groups_refuse_api_writes_with_409(
    fake: FakeGrafana, drift: Client
) -> None:
    fake.seed_rule_group(
        "drift", "data-drift", [{"uid": "drift-pvalue", "title": "t"}], provenance="file"
    )
    response = drift.put(GROUP_PATH, group(RULE))
    assert response.status_code == 409
    assert response.json()["messageId"] == "alerting.provenanceMismatch"
    assert drift.delete(GROUP_PATH).status_code == 409


# -- §5.1 contact points -------------------------------------------------------------------


def test_contact_point_secrets_are_redacted_on_read(drift: Client) -> None:
    created = drift.post(f"{PROV}/contact-points", {**TELEGRAM, "uid": "tg2"})
    assert created.json()["settings"]["bottoken"] == REDACTED
    listed = {cp["uid"]: cp for cp in drift.get(f"{PROV}/contact-points").json()}
    assert listed["tg-drift"]["settings"]["bottoken"] == REDACTED
    assert listed["tg-drift"]["settings"]["chatid"] == "-1001234567890"


def test_redacted_in_a_put_keeps_the_secret_and_a_new_one_replaces_it(
    fake: FakeGrafana, drift: Client
) -> None:
    body = copy.deepcopy(TELEGRAM)
    body["settings"].update(bottoken=REDACTED, chatid="-100999")
    updated = drift.put(f"{PROV}/contact-points/tg-drift", body)
    assert updated.status_code == 202
    assert updated.json() == {"message": "contactpoint updated"}
    stored = fake.state.contact_points["tg-drift"]["settings"]
    assert (stored["bottoken"], stored["chatid"]) == (TOKEN, "-100999")
    body["settings"]["bottoken"] = "654321:NEW"
    drift.put(f"{PROV}/contact-points/tg-drift", body)
    assert fake.state.contact_points["tg-drift"]["settings"]["bottoken"] == "654321:NEW"


SECURE_CASES = [
    ("telegram", {"bottoken": "123:ABC", "chatid": "-100"}, {"bottoken"}),
    ("slack", {"url": "https://hooks.slack.test/x", "recipient": "#drift"}, {"url"}),
    ("slack", {"token": "xoxb-1", "recipient": "#drift"}, {"token"}),
    ("email", {"addresses": "a@example.com;b@example.com"}, set()),
    (
        "webhook",
        {"url": "https://hook.test", "authorization_credentials": "t0ken", "httpMethod": "POST"},
        {"authorization_credentials"},
    ),
    ("webhook", {"url": "https://hook.test", "username": "u", "password": "p"}, {"password"}),
]


@pytest.mark.parametrize(("kind", "settings", "secure"), SECURE_CASES)
def test_secure_fields_are_redacted_and_only_they(
    fake: FakeGrafana, api: Client, kind: str, settings: dict[str, str], secure: set[str]
) -> None:
    body = {"uid": "cp", "name": "cp", "type": kind, "settings": settings}
    assert api.post(f"{PROV}/contact-points", body).status_code == 202
    [shown] = api.get(f"{PROV}/contact-points?name=cp").json()
    redacted = {k for k, v in shown["settings"].items() if v == REDACTED}
    assert redacted == secure
    assert {k: v for k, v in shown["settings"].items() if k not in secure} == {
        k: v for k, v in settings.items() if k not in secure
    }
    assert fake.state.contact_points["cp"]["settings"] == settings  # stored in clear


def test_a_secure_field_left_out_of_a_put_is_gone(fake: FakeGrafana, api: Client) -> None:
    """UpdateContactPoint restores only "[REDACTED]" values from the stored secrets."""
    settings = {"url": "https://hook.test", "username": "u", "password": "p"}
    hook = {"uid": "hook", "name": "hook", "type": "webhook", "settings": settings}
    api.post(f"{PROV}/contact-points", hook)
    kept = {**hook, "settings": {**settings, "password": REDACTED}}
    assert api.put(f"{PROV}/contact-points/hook", kept).status_code == 202
    assert fake.state.contact_points["hook"]["settings"]["password"] == "p"
    left_out = {**hook, "settings": {"url": "https://hook.test", "username": "u"}}
    assert api.put(f"{PROV}/contact-points/hook", left_out).status_code == 202
    assert "password" not in fake.state.contact_points["hook"]["settings"]
    telegram = copy.deepcopy(TELEGRAM)
    api.post(f"{PROV}/contact-points", telegram)
    del telegram["settings"]["bottoken"]
    response = api.put(f"{PROV}/contact-points/tg-drift", telegram)
    assert (response.status_code, response.json()) == (
        400,
        {"message": "invalid object specification: could not find Bot Token in settings"},
    )


@pytest.mark.parametrize(
    ("kind", "settings", "problem"),
    [
        ("slack", {"token": "xoxb-1"}, "recipient must be specified when using the Slack chat API"),
        ("slack", {"recipient": "#d"}, "token must be specified when using the Slack chat API"),
        (
            "slack",
            {"url": "https://h.test", "mentionChannel": "all"},
            'invalid value for mentionChannel: "all"',
        ),
        ("email", {"singleEmail": True}, "could not find addresses in settings"),
        ("webhook", {"httpMethod": "POST"}, "required field 'url' is not specified"),
        (
            "webhook",
            {
                "url": "https://h.test",
                "username": "u",
                "password": "p",
                "authorization_credentials": "t",
            },
            "both HTTP Basic Authentication and Authorization Header are set, only 1 is permitted",
        ),
        ("pigeon", {"url": "https://h.test"}, "unknown type 'pigeon'"),
    ],
)
def test_contact_point_settings_are_validated_per_type(
    api: Client, kind: str, settings: dict[str, Any], problem: str
) -> None:
    body = {"name": "cp", "type": kind, "settings": settings}
    response = api.post(f"{PROV}/contact-points", body)
    assert (response.status_code, response.json()) == (
        400,
        {"message": f"invalid object specification: {problem}"},
    )


def test_a_slack_webhook_url_or_custom_endpoint_needs_no_token(api: Client) -> None:
    for settings in ({"url": "https://hooks.slack.test/x"}, {"endpointUrl": "https://s.test"}):
        body = {"name": "slack", "type": "slack", "settings": settings}
        assert api.post(f"{PROV}/contact-points", body).status_code == 202


def test_contact_points_are_sorted_and_filtered_by_name(fake: FakeGrafana, drift: Client) -> None:
    fake.seed_contact_point("another-team", uid="other")
    names = [cp["name"] for cp in drift.get(f"{PROV}/contact-points").json()]
    assert names == sorted(names) == ["another-team", DEFAULT_RECEIVER, "telegram-drift"]
    only = drift.get(f"{PROV}/contact-points?name=telegram-drift").json()
    assert [cp["uid"] for cp in only] == ["tg-drift"]


def test_a_second_post_with_the_same_name_adds_an_integration(drift: Client) -> None:
    second = {**TELEGRAM, "uid": "tg-drift-2"}
    assert drift.post(f"{PROV}/contact-points", second).status_code == 202
    only = drift.get(f"{PROV}/contact-points?name=telegram-drift").json()
    assert [cp["uid"] for cp in only] == ["tg-drift", "tg-drift-2"]
    reused = drift.post(f"{PROV}/contact-points", {**TELEGRAM, "name": "x"})
    assert reused.status_code == 500
    assert "uidInUse" in reused.json()["message"]


def test_telegram_settings_are_validated(api: Client) -> None:
    body = copy.deepcopy(TELEGRAM)
    del body["settings"]["chatid"]
    response = api.post(f"{PROV}/contact-points", body)
    assert response.status_code == 400
    assert response.json() == {
        "message": "invalid object specification: could not find Chat Id in settings"
    }
    unknown = api.post(f"{PROV}/contact-points", {**TELEGRAM, "type": "pigeon"})
    assert unknown.status_code == 400


def test_contact_point_delete_answers_202_and_refuses_referenced_ones(
    fake: FakeGrafana, drift: Client
) -> None:
    drift.put(f"{PROV}/policies", POLICY)
    referenced = drift.delete(f"{PROV}/contact-points/tg-drift")
    assert referenced.status_code == 409
    assert referenced.json() == {
        "message": "Contact point is currently referenced by a notification policy.",
        "messageId": "alerting.notifications.contact-points.referenced",
        "statusCode": 409,
    }
    drift.delete(f"{PROV}/policies")
    deleted = drift.delete(f"{PROV}/contact-points/tg-drift")
    assert (deleted.status_code, deleted.json()) == (202, {"message": "contactpoint deleted"})
    assert "tg-drift" not in fake.state.contact_points
    assert drift.delete(f"{PROV}/contact-points/tg-drift").status_code == 202


def test_renaming_a_contact_point_renames_it_in_the_policy_tree(
    fake: FakeGrafana, drift: Client
) -> None:
    drift.put(f"{PROV}/policies", POLICY)
    drift.put(f"{PROV}/contact-points/tg-drift", {**TELEGRAM, "name": "telegram-ml"})
    assert fake.state.policy_tree["routes"][0]["receiver"] == "telegram-ml"


def test_exports_default_to_yaml_and_speak_json_on_request(drift: Client) -> None:
    as_yaml = drift.get(f"{PROV}/contact-points/export")
    assert as_yaml.headers["Content-Type"] == "text/yaml"
    assert yaml.safe_load(as_yaml.text)["apiVersion"] == 1
    as_json = drift.get(f"{PROV}/contact-points/export", headers={"Accept": "application/json"})
    assert as_json.json()["contactPoints"]


# -- §5.2 policy tree ----------------------------------------------------------------------


def test_the_policy_put_replaces_the_whole_tree(fake: FakeGrafana, drift: Client) -> None:
    fake.seed_contact_point("another-team", uid="other")
    fake.seed_route({"receiver": "another-team", "object_matchers": [["team", "=", "b"]]})
    answer = drift.put(f"{PROV}/policies", POLICY)
    assert (answer.status_code, answer.json()) == (202, {"message": "policies updated"})
    tree = drift.get(f"{PROV}/policies").json()
    assert [r["receiver"] for r in tree["routes"]] == ["telegram-drift"]
    assert tree["provenance"] == "api"


def test_the_policy_tree_comes_back_normalised(drift: Client) -> None:
    tree = copy.deepcopy(POLICY)
    tree["routes"][0].update(group_wait="60s", group_interval="300s", repeat_interval="240m")
    drift.put(f"{PROV}/policies", tree)
    route = drift.get(f"{PROV}/policies").json()["routes"][0]
    assert (route["group_wait"], route["group_interval"], route["repeat_interval"]) == (
        "1m",
        "5m",
        "4h",
    )
    assert "continue" not in route  # omitempty: false vanishes
    assert route["object_matchers"] == [["drift_threshold_detected", "=", "true"]]


def test_a_policy_with_an_unknown_receiver_is_400(drift: Client) -> None:
    tree = copy.deepcopy(POLICY)
    tree["routes"][0]["receiver"] = "nobody"
    response = drift.put(f"{PROV}/policies", tree)
    assert response.status_code == 400
    assert response.json() == {
        "message": "invalid object specification: receiver 'nobody' does not exist"
    }


@pytest.mark.parametrize(
    ("root", "problem"),
    [
        ({"group_by": ["alertname"]}, "root route must specify a default receiver"),
        (
            {"receiver": DEFAULT_RECEIVER, "object_matchers": [["a", "=", "b"]]},
            "root route must not have any matchers",
        ),
        (
            {"receiver": DEFAULT_RECEIVER, "routes": [{"group_by": ["...", "a"]}]},
            "cannot have wildcard group_by (`...`) and other other labels at the same time",
        ),
        (
            {"receiver": DEFAULT_RECEIVER, "routes": [{"mute_time_intervals": ["night"]}]},
            "mute time interval 'night' does not exist",
        ),
    ],
)
def test_the_policy_root_and_children_are_validated(
    api: Client, root: dict[str, Any], problem: str
) -> None:
    response = api.put(f"{PROV}/policies", root)
    assert response.status_code == 400
    assert response.json()["message"] == f"invalid object specification: {problem}"


def test_nested_policies_round_trip_as_grafana_encodes_them(drift: Client) -> None:
    drift.post(f"{PROV}/mute-timings", {"name": "drift:night", "time_intervals": []})
    drift.post(f"{PROV}/mute-timings", {"name": "office", "time_intervals": []})
    tree = {
        "receiver": DEFAULT_RECEIVER,
        "group_by": ["grafana_folder", "alertname"],
        "group_wait": "30s",
        "routes": [
            {
                "receiver": "telegram-drift",
                "object_matchers": [["team", "=", "drift"], ["env", "!=", "dev"]],
                "continue": True,
                "group_by": [],
                "mute_time_intervals": ["drift:night"],
                "active_time_intervals": ["office"],
                "routes": [
                    {
                        "matchers": ['severity=~"page|critical"', "dataset=a"],
                        "group_by": ["..."],
                        "repeat_interval": "1440m",
                        "continue": False,
                        "routes": [],
                    }
                ],
            }
        ],
    }
    assert drift.put(f"{PROV}/policies", tree).status_code == 202
    got = drift.get(f"{PROV}/policies").json()
    assert got == {
        "receiver": DEFAULT_RECEIVER,
        "group_by": ["grafana_folder", "alertname"],
        "group_wait": "30s",
        "routes": [
            {
                "receiver": "telegram-drift",
                "object_matchers": [["env", "!=", "dev"], ["team", "=", "drift"]],  # sorted
                "continue": True,
                "mute_time_intervals": ["drift:night"],
                "active_time_intervals": ["office"],
                "routes": [
                    {
                        "matchers": ['dataset="a"', 'severity=~"page|critical"'],
                        "group_by": ["..."],
                        "repeat_interval": "1d",
                    }
                ],
            }
        ],
        "provenance": "api",
    }


def test_a_route_naming_an_unknown_active_time_interval_is_a_500(drift: Client) -> None:
    """11.4 checks mute_time_intervals (400), not active ones: those fail when the saved
    configuration is decoded again, a plain error answered 500."""
    tree = {
        "receiver": DEFAULT_RECEIVER,
        "routes": [{"receiver": "telegram-drift", "active_time_intervals": ["office"]}],
    }
    response = drift.put(f"{PROV}/policies", tree)
    assert (response.status_code, response.json()) == (500, {"message": "Internal Server Error"})
    assert "routes" not in drift.get(f"{PROV}/policies").json()


def test_an_invalid_duration_or_matcher_is_bad_request_data(fake: FakeGrafana, api: Client) -> None:
    bad_duration = {"receiver": DEFAULT_RECEIVER, "group_wait": "10 seconds"}
    assert api.put(f"{PROV}/policies", bad_duration).json() == {"message": "bad request data"}
    bad_matcher = {"receiver": DEFAULT_RECEIVER, "routes": [{"object_matchers": [["a", "=="]]}]}
    assert api.put(f"{PROV}/policies", bad_matcher).status_code == 400
    assert [v["operation"] for v in fake.spec_violations] == ["decode", "decode"]


def test_policy_delete_resets_the_default_tree_and_provenance(
    fake: FakeGrafana, drift: Client
) -> None:
    drift.put(f"{PROV}/policies", POLICY)
    reset = drift.delete(f"{PROV}/policies")
    assert reset.status_code == 202
    assert reset.json() == {
        "receiver": DEFAULT_RECEIVER,
        "group_by": ["grafana_folder", "alertname"],
    }
    assert fake.state.policy_provenance == ""
    # and now a UI-editable (none) tree may be written
    none = {"X-Disable-Provenance": "true"}
    assert drift.put(f"{PROV}/policies", POLICY, headers=none).status_code == 202


# -- §5.5 templates and mute timings --------------------------------------------------------


def test_the_template_list_is_null_when_there_are_none(api: Client) -> None:
    response = api.get(f"{PROV}/templates")
    assert response.status_code == 200
    assert response.text == "null"
    assert response.json() is None


def test_template_versions_guard_against_concurrent_edits(api: Client) -> None:
    first = api.put(f"{PROV}/templates/drift", {"template": '{{ define "a" }}1{{ end }}'})
    assert first.status_code == 202
    version = first.json()["version"]
    stale = api.put(f"{PROV}/templates/drift", {"template": "x", "version": "0123456789abcdef"})
    assert stale.status_code == 409
    assert stale.json()["messageId"] == "alerting.notifications.conflict"
    ok = api.put(
        f"{PROV}/templates/drift", {"template": '{{ define "a" }}2{{ end }}', "version": version}
    )
    assert ok.status_code == 202
    assert ok.json()["version"] != version
    skip = api.put(
        f"{PROV}/templates/drift", {"template": '{{ define "a" }}3{{ end }}', "version": ""}
    )
    assert skip.status_code == 202
    assert [t["name"] for t in api.get(f"{PROV}/templates").json()] == ["drift"]


def test_a_template_without_define_is_wrapped_in_one(api: Client) -> None:
    stored = api.put(f"{PROV}/templates/plain", {"template": "Hello {{ .Status }}"}).json()
    assert stored["template"] == '{{ define "plain" }}\n  Hello {{ .Status }}\n{{ end }}'
    broken = api.put(f"{PROV}/templates/broken", {"template": "{{ if .X }}no end"})
    assert broken.status_code == 400
    trimmed = api.put(f"{PROV}/templates/t", {"template": '\n{{ define "t" }}x{{ end }}\n'})
    assert trimmed.json()["template"] == '{{ define "t" }}x{{ end }}'  # TrimSpace, like Grafana


def test_the_template_list_returns_each_full_text_comments_included(api: Client) -> None:
    text = (
        "{{/* Drift messages.\n     Two lines of comment. */}}\n"
        '{{ define "drift.title" }}{{ .CommonLabels.alertname }}{{ end }}\n'
        "{{- /* trimmed comment */ -}}\n"
        '{{ define "drift.body" }}{{ range .Alerts }}{{ .Labels.dataset }}{{ end }}{{ end }}'
    )
    assert api.put(f"{PROV}/templates/drift", {"template": f"\n\n{text}\n  "}).ok
    api.put(f"{PROV}/templates/other", {"template": '{{ define "o" }}o{{ end }}'})
    listed = {t["name"]: t["template"] for t in api.get(f"{PROV}/templates").json()}
    assert listed == {"drift": text, "other": '{{ define "o" }}o{{ end }}'}  # only TrimSpace


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ('{{ define "a" }}{{ if .X }}no end{{ end }}', "unexpected EOF"),
        ('{{ define "a" }}{{ .X }}{{ end }}{{ end }}', "unexpected {{end}}"),
        ('{{ define "a" }}{{ toupper .X }}{{ end }}', 'function "toupper" not defined'),
        ('{{ define "a" }}{{ $x }}{{ end }}', 'undefined variable "$x"'),
        ('{{ define "a" }}{{ .X {{ end }}', 'unexpected "{" in operand'),
        ('{{ define "a" }}{{/* open comment }}{{ end }}', "unclosed comment"),
        ('{{ define "a" }}{{ break }}{{ end }}', "{{break}} outside {{range}}"),
        ('{{ define "a" }}a{{ end }}{{ define "a" }}b{{ end }}', "multiple definition"),
    ],
)
def test_a_template_that_go_cannot_parse_is_400(api: Client, template: str, reason: str) -> None:
    response = api.put(f"{PROV}/templates/t", {"template": template})
    assert response.status_code == 400
    body = response.json()
    assert body["messageId"] == "alerting.notifications.templates.invalidFormat"
    assert body["extra"]["Error"].startswith("invalid template: template: t:1: ")
    assert reason in body["extra"]["Error"]
    assert api.get(f"{PROV}/templates/t").status_code == 404


# What Go's parser accepts or refuses, independent of any function set (amtool is built with
# Alertmanager's own, older, function list), checked against amtool below.
GO_TEMPLATE_SYNTAX = [
    '{{ define "a" }}{{ if .A }}a{{ else if .B }}b{{ else }}c{{ end }}{{ end }}',
    '{{ define "a" }}{{ range $i, $e := .A }}{{ $i }}{{ $e.Name }}{{ end }}{{ end }}',
    '{{ define "a" }}{{ with index .Alerts 0 }}{{ .Labels.x }}{{ end }}{{ end }}',
    '{{ define "a" }}{{ $x := 1 }}{{ $x = 2 }}{{ printf "%d" $x }}{{ end }}',
    '{{ define "a" }}{{ (len .A).X }}{{ .A.B.C | len }}{{ end }}',
    '{{ define "a" -}} {{- /* c */ -}} {{ template "b" . }}{{- end }}',
    '{{ define "a" }}{{ block "b" . }}x{{ end }}{{ end }}',
    '{{ define "a" }}{{ "s" | printf "%s" }}{{ 1.5e3 }}{{ -3 }}{{ \'c\' }}{{ end }}',
    '{{ define "a" }}{{ if .A }}{{ $z := 1 }}{{ end }}{{ $z }}{{ end }}',
    '{{ define "a" }}{{ .A | "x" }}{{ end }}',
    '{{ define "a" }}{{ }}{{ end }}',
    '{{ define "a" }}{{ /* not a comment */ }}{{ end }}',
    '{{ define "a" }}{{/* c */ x}}{{ end }}',
    '{{ define "a" }}{{ "s".X }}{{ end }}',
    '{{ define "a" }}{{ .A. }}{{ end }}',
    '{{ define "a" }}{{ (len .A }}{{ end }}',
    '{{ define "a" }}{{ len .A) }}{{ end }}',
    '{{ define "a" }}{{ 3x }}{{ end }}',
    '{{ define "a" }}{{ "open }}{{ end }}',
    '{{ define "a" }}{{ range $i, $e, $f := .A }}{{ end }}{{ end }}',
    '{{ define "a" }}{{ else }}{{ end }}',
    'text {{ define "t" }}x{{ end }}',
]


@pytest.mark.skipif(shutil.which("amtool") is None, reason="amtool (Alertmanager) not installed")
@pytest.mark.parametrize("template", GO_TEMPLATE_SYNTAX)
def test_template_parsing_agrees_with_go_as_amtool_runs_it(
    api: Client, tmp_path: Path, template: str
) -> None:
    (tmp_path / "t").write_text(template)
    amtool = subprocess.run(
        ["amtool", "template", "render", f"--template.glob={tmp_path / 't'}", "--template.text=x"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    response = api.put(f"{PROV}/templates/t", {"template": template})
    assert response.ok == (amtool.returncode == 0), amtool.stderr


def test_template_get_404_and_delete_204(api: Client) -> None:
    missing = api.get(f"{PROV}/templates/nope")
    assert missing.status_code == 404
    assert missing.json()["messageId"] == "alerting.notifications.templates.notFound"
    api.put(f"{PROV}/templates/t", {"template": '{{ define "t" }}x{{ end }}'})
    assert api.delete(f"{PROV}/templates/t").status_code == 204
    assert api.get(f"{PROV}/templates/t").status_code == 404


def test_mute_timings_round_trip_and_are_protected_when_used(api: Client) -> None:
    timing = {
        "name": "night",
        "time_intervals": [{"times": [{"start_time": "22:00", "end_time": "23:59"}]}],
    }
    assert api.post(f"{PROV}/mute-timings", timing).status_code == 201
    assert (
        api.get(f"{PROV}/mute-timings/night").json()["time_intervals"] == timing["time_intervals"]
    )
    tree = {"receiver": DEFAULT_RECEIVER, "routes": [{"mute_time_intervals": ["night"]}]}
    assert api.put(f"{PROV}/policies", tree).status_code == 202
    assert api.delete(f"{PROV}/mute-timings/night").status_code == 409


def test_mute_timing_names_with_a_colon_are_addressable(api: Client) -> None:
    night = {"name": "drift:night", "time_intervals": [{"weekdays": ["saturday"]}]}
    assert api.post(f"{PROV}/mute-timings", night).status_code == 201
    for path in ("drift%3Anight", "drift:night"):
        assert api.get(f"{PROV}/mute-timings/{path}").json()["name"] == "drift:night"
    weekend = {**night, "time_intervals": [{"weekdays": ["saturday", "sunday"]}]}
    assert api.put(f"{PROV}/mute-timings/drift%3Anight", weekend).status_code == 202
    got = api.get(f"{PROV}/mute-timings/drift%3Anight").json()
    assert got["time_intervals"] == weekend["time_intervals"]
    assert [t["name"] for t in api.get(f"{PROV}/mute-timings").json()] == ["drift:night"]
    assert api.delete(f"{PROV}/mute-timings/drift%3Anight").status_code == 204
    assert api.get(f"{PROV}/mute-timings/drift%3Anight").status_code == 404


def test_time_intervals_come_back_as_alertmanager_encodes_them(api: Client) -> None:
    sent = {
        "times": [{"start_time": "09:00", "end_time": "24:00"}],
        "weekdays": ["Monday:FRIDAY", "sunday"],
        "days_of_month": ["1:7", "-1"],
        "months": ["january:march", "May", "12"],
        "years": ["2024:2026"],
        "location": "Europe/Paris",
    }
    timing = {"name": "office", "time_intervals": [sent, {"weekdays": [], "months": []}]}
    assert api.post(f"{PROV}/mute-timings", timing).status_code == 201
    got = api.get(f"{PROV}/mute-timings/office").json()["time_intervals"]
    assert got == [
        {
            "times": [{"start_time": "09:00", "end_time": "24:00"}],
            "weekdays": ["monday:friday", "sunday"],
            "days_of_month": ["1:7", "-1"],
            "months": ["1:3", "5", "12"],
            "years": ["2024:2026"],
            "location": "Europe/Paris",
        },
        {},
    ]


@pytest.mark.parametrize(
    "interval",
    [
        {"times": [{"start_time": "9:00", "end_time": "17:00"}]},
        {"times": [{"start_time": "17:00", "end_time": "09:00"}]},
        {"times": [{"start_time": "09:00"}]},
        {"times": [{"start_time": "09:00", "end_time": "24:01"}]},
        {"weekdays": ["funday"]},
        {"weekdays": ["friday:monday"]},
        {"weekdays": ["monday:tuesday:friday"]},
        {"days_of_month": ["0"]},
        {"days_of_month": ["-1:5"]},
        {"days_of_month": ["32"]},
        {"months": ["smarch"]},
        {"months": ["december:january"]},
        {"years": ["2026:2024"]},
        {"location": "Mars/Olympus_Mons"},
    ],
)
def test_an_invalid_time_interval_is_bad_request_data(
    fake: FakeGrafana, api: Client, interval: dict[str, Any]
) -> None:
    """Alertmanager's timeinterval decoders refuse it while Grafana binds the body."""
    response = api.post(f"{PROV}/mute-timings", {"name": "bad", "time_intervals": [interval]})
    assert (response.status_code, response.json()) == (400, {"message": "bad request data"})
    assert [v["operation"] for v in fake.spec_violations] == ["decode"]
    assert api.get(f"{PROV}/mute-timings/bad").status_code == 404


def test_a_mute_timing_needs_a_name(api: Client) -> None:
    response = api.post(f"{PROV}/mute-timings", {"time_intervals": []})
    assert response.status_code == 400
    assert response.json()["messageId"] == "alerting.notifications.time-intervals.invalidFormat"
    assert response.json()["extra"] == {"Error": "missing name in mute time interval"}


def test_a_mute_timing_in_use_cannot_be_deleted(drift: Client) -> None:
    """MakeErrTimeIntervalInUse (11.4): 409, no public message (errutil's status text),
    what uses it in extra; routes count by mute_time_intervals only."""
    drift.post(f"{PROV}/mute-timings", {"name": "drift:night", "time_intervals": []})
    tree = {
        "receiver": DEFAULT_RECEIVER,
        "routes": [{"receiver": "telegram-drift", "mute_time_intervals": ["drift:night"]}],
    }
    assert drift.put(f"{PROV}/policies", tree).ok
    by_route = drift.delete(f"{PROV}/mute-timings/drift%3Anight")
    assert by_route.status_code == 409
    assert by_route.json() == {
        "message": "Conflict",
        "messageId": "alerting.notifications.time-intervals.used",
        "statusCode": 409,
        "extra": {"UsedByRoutes": True},
    }
    settings = {"receiver": "telegram-drift", "mute_time_intervals": ["drift:night"]}
    assert drift.put(GROUP_PATH, group(rule(notification_settings=settings))).ok
    drift.delete(f"{PROV}/policies")
    by_rule = drift.delete(f"{PROV}/mute-timings/drift%3Anight")
    assert by_rule.status_code == 409
    assert by_rule.json()["extra"] == {"UsedByRules": ["drift-pvalue"]}
    assert drift.put(GROUP_PATH, group(RULE)).ok
    assert drift.delete(f"{PROV}/mute-timings/drift%3Anight").status_code == 204


def test_mute_timing_updates_check_version_and_provenance(api: Client) -> None:
    created = api.post(f"{PROV}/mute-timings", {"name": "night", "time_intervals": []}).json()
    assert created["provenance"] == "api"
    change = {"name": "night", "time_intervals": [{"weekdays": ["saturday"]}]}
    stale = api.put(f"{PROV}/mute-timings/night", {**change, "version": "stale"})
    assert stale.status_code == 409
    current = {**change, "version": created["version"]}
    assert api.put(f"{PROV}/mute-timings/night", current).status_code == 202
    none = {"X-Disable-Provenance": "true"}
    assert api.put(f"{PROV}/mute-timings/night", change, headers=none).status_code == 403
    assert api.delete(f"{PROV}/mute-timings/night").status_code == 204
    assert api.get(f"{PROV}/mute-timings/night").status_code == 404


# -- §5.3 / §5.4 alert rules and rule groups --------------------------------------------------


def test_the_rule_group_put_echoes_the_body_and_stores_the_rule(drift: Client) -> None:
    response = drift.put(GROUP_PATH, group(RULE))
    assert response.status_code == 200
    echo = response.json()
    assert (echo["title"], echo["folderUid"], echo["interval"]) == ("data-drift", "drift", 10)
    assert echo["rules"][0]["updated"] == "0001-01-01T00:00:00Z"
    got = drift.get(GROUP_PATH).json()
    assert got["interval"] == 10
    stored = got["rules"][0]
    assert (stored["uid"], stored["for"], stored["provenance"]) == ("drift-pvalue", "10s", "api")
    assert stored["labels"] == {"drift_threshold_detected": "true"}


def test_the_path_overrides_title_and_folder_of_the_body(fake: FakeGrafana, drift: Client) -> None:
    body = {**group(RULE), "title": "ignored", "folderUid": "ignored"}
    assert drift.put(GROUP_PATH, body).status_code == 200
    assert list(fake.state.rule_groups) == [("drift", "data-drift")]


def test_the_rule_group_put_replaces_the_group(fake: FakeGrafana, drift: Client) -> None:
    other = rule(uid="drift-other", title="Other drift rule")
    drift.put(GROUP_PATH, group(RULE, other))
    first_id = drift.get(f"{PROV}/alert-rules/drift-pvalue").json()["id"]
    new = rule(uid="", title="A brand new rule")
    changed = rule(annotations={"summary": "changed"})
    assert drift.put(GROUP_PATH, group(changed, new)).status_code == 200
    rules = drift.get(GROUP_PATH).json()["rules"]
    assert [r["title"] for r in rules] == [RULE["title"], "A brand new rule"]
    assert rules[0]["id"] == first_id
    assert rules[0]["annotations"] == {"summary": "changed"}
    assert rules[1]["uid"]  # generated
    assert drift.get(f"{PROV}/alert-rules/drift-other").status_code == 404


def test_an_identical_rule_group_put_is_a_no_op(fake: FakeGrafana, drift: Client) -> None:
    drift.put(GROUP_PATH, group(RULE))
    before = copy.deepcopy(fake.state.rule_groups)
    fake.state.rule_groups[("drift", "data-drift")]["rules"][0]["updated"] = "2000-01-01T00:00:00Z"
    assert drift.put(GROUP_PATH, group(RULE)).status_code == 200
    after = fake.state.rule_groups[("drift", "data-drift")]["rules"][0]
    assert after["updated"] == "2000-01-01T00:00:00Z"
    assert after["id"] == before[("drift", "data-drift")]["rules"][0]["id"]


def test_an_interval_change_alone_is_an_update(drift: Client) -> None:
    drift.put(GROUP_PATH, group(RULE))
    assert drift.put(GROUP_PATH, {"interval": 60}).status_code == 200  # rules omitted
    got = drift.get(GROUP_PATH).json()
    assert (got["interval"], len(got["rules"])) == (60, 1)


@pytest.mark.parametrize(("interval", "shown"), [(5, "5s"), (0, "0s"), (15, "15s"), (-10, "-10s")])
def test_the_group_interval_is_a_positive_multiple_of_10_seconds(
    drift: Client, interval: int, shown: str
) -> None:
    response = drift.put(GROUP_PATH, group(RULE, interval=interval))
    assert response.status_code == 400
    assert response.json() == {
        "message": f"invalid alert rule: interval ({shown}) should be non-zero and divided "
        "exactly by scheduler interval: 10"
    }


def test_a_rule_group_in_an_unknown_folder_is_404(api: Client) -> None:
    api.post("/api/datasources", PROMETHEUS)
    response = api.put(GROUP_PATH, group(RULE))
    assert response.status_code == 404
    assert response.json()["messageId"] == "folder.notFound"


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (
            {"refId": "B", "settings": {"mode": "strict"}},
            "reducer mode 'strict' is not supported. Supported only: [dropNN,replaceNN]",
        ),
        ({"refId": "B", "reducer": "avg"}, "reducer 'avg' is not supported"),
        (
            {"refId": "C", "conditions": [{"evaluator": {"type": "lt", "params": [0.05]}}] * 2},
            "threshold expression requires exactly one condition",
        ),
        (
            {"refId": "C", "conditions": [{"evaluator": {"type": "below", "params": [1]}}]},
            "expected threshold function to be one of",
        ),
        (
            {"refId": "C", "conditions": [{"evaluator": {"type": "within_range", "params": [1]}}]},
            "incorrect number of arguments: got 1 but need 2",
        ),
        ({"refId": "B", "expression": "Z"}, "unable to find dependent node 'Z'"),
        ({"refId": "B", "type": "magic"}, "expression command type 'magic'"),
    ],
)
def test_expressions_are_validated_like_grafana(
    drift: Client, change: dict[str, Any], fragment: str
) -> None:
    body = rule()
    query = next(q for q in body["data"] if q["refId"] == change["refId"])
    query["model"].update({k: v for k, v in change.items() if k != "refId"})
    response = drift.put(GROUP_PATH, group(body))
    assert response.status_code == 400
    assert fragment in response.json()["message"]


def test_the_condition_must_be_a_ref_id(drift: Client) -> None:
    response = drift.put(GROUP_PATH, group(rule(condition="D")))
    assert response.status_code == 400
    assert "Condition D does not exist, must be one of [A B C]" in response.json()["message"]


def test_queries_need_an_existing_data_source(drift: Client) -> None:
    body = rule()
    body["data"][0]["datasourceUid"] = "missing"
    response = drift.put(GROUP_PATH, group(body))
    assert response.json() == {
        "message": "invalid alert rule: invalid query A: data source not found: missing"
    }


def test_a_data_source_query_needs_a_relative_time_range_in_the_past(drift: Client) -> None:
    body = rule()
    body["data"][0]["relativeTimeRange"] = {"from": 0, "to": 0}
    response = drift.put(GROUP_PATH, group(body))
    assert response.status_code == 400
    assert "invalid relative time range [From: 0s, To: 0s]" in response.json()["message"]
    strings = rule()
    strings["data"][0]["relativeTimeRange"] = {"from": "10m", "to": "0s"}
    assert "is not of type 'integer'" in drift.put(GROUP_PATH, group(strings)).json()["message"]


def test_titles_are_unique_per_folder(fake: FakeGrafana, drift: Client) -> None:
    fake.seed_rule_group("drift", "someone-elses", [{"uid": "x1", "title": RULE["title"]}])
    response = drift.put(GROUP_PATH, group(RULE))
    assert response.status_code == 400
    assert (
        "rule title under the same organisation and folder should be unique"
        in (response.json()["message"])
    )
    fake.seed_folder("elsewhere", "Elsewhere")
    path = f"{PROV}/folder/elsewhere/rule-groups/data-drift"
    assert drift.put(path, {**group(RULE), "folderUid": "elsewhere"}).status_code == 200


def test_stored_rules_are_normalised_like_grafana(drift: Client) -> None:
    body = rule(**{"for": "60s"})
    drift.put(GROUP_PATH, group(body))
    stored = drift.get(f"{PROV}/alert-rules/drift-pvalue").json()
    assert stored["for"] == "1m"
    reduce_model = stored["data"][1]["model"]
    assert (reduce_model["intervalMs"], reduce_model["maxDataPoints"]) == (1000, 43200)
    assert stored["data"][0]["relativeTimeRange"] == {"from": 600, "to": 0}


def test_an_invalid_for_is_bad_request_data(fake: FakeGrafana, drift: Client) -> None:
    response = drift.put(GROUP_PATH, group(rule(**{"for": "ten seconds"})))
    assert response.json() == {"message": "bad request data"}
    assert fake.spec_violations[0]["operation"] == "decode"


def test_a_rule_comes_back_with_the_defaults_of_what_it_left_out(
    fake: FakeGrafana, drift: Client
) -> None:
    """11.4's ProvisionedAlertRule: isPaused false, the pointers notification_settings and
    record null (the docs' example response); keep_firing_for only from Grafana 12 on, as a
    model.Duration that is always encoded ("0s")."""
    bare = {k: v for k, v in RULE.items() if k not in ("isPaused", "labels", "annotations")}
    echo = drift.put(GROUP_PATH, group(bare)).json()["rules"][0]
    answers = [
        echo,
        drift.get(GROUP_PATH).json()["rules"][0],
        drift.get(f"{PROV}/alert-rules/drift-pvalue").json(),
        drift.get(f"{PROV}/alert-rules").json()[0],
    ]
    for answer in answers:
        assert answer["isPaused"] is False
        assert answer["notification_settings"] is None
        assert answer["record"] is None
        if fake.version == "11.6":
            assert "keep_firing_for" not in answer
        else:
            assert answer["keep_firing_for"] == "0s"
        assert "missingSeriesEvalsToResolve" not in answer
        assert "labels" not in answer and "annotations" not in answer  # omitempty


def test_grafana_12_rule_fields_are_dropped(fake: FakeGrafana, drift: Client) -> None:
    """Go drops what 11.4's structs lack (keep_firing_for, missingSeriesEvalsToResolve,
    notification_settings.active_time_intervals all came in Grafana 12); the 12.x and 13.x
    profiles keep keep_firing_for and missingSeriesEvalsToResolve (a ``*int``, camelCase in
    the API: definitions/provisioning_alert_rules.go; snake_case only in files)."""
    newer = rule(
        keep_firing_for="5m",
        missingSeriesEvalsToResolve=3,
        missing_series_evals_to_resolve=4,
        notification_settings={"receiver": "telegram-drift", "active_time_intervals": ["x"]},
    )
    echo = drift.put(GROUP_PATH, group(newer))
    assert echo.status_code == 200
    stored = drift.get(f"{PROV}/alert-rules/drift-pvalue").json()
    listed = drift.get(f"{PROV}/alert-rules").json()[0]
    grafana_12 = fake.version != "11.6"
    assert stored.get("keep_firing_for") == ("5m" if grafana_12 else None)
    for answer in (echo.json()["rules"][0], stored, listed):
        assert answer.get("missingSeriesEvalsToResolve") == (3 if grafana_12 else None)
        assert "missing_series_evals_to_resolve" not in answer
    assert stored["notification_settings"] == {"receiver": "telegram-drift"}
    exported = drift.get(f"{PROV}/alert-rules/drift-pvalue/export?format=json").json()
    in_file = exported["groups"][0]["rules"][0]
    assert in_file.get("missing_series_evals_to_resolve") == (3 if grafana_12 else None)
    assert "missingSeriesEvalsToResolve" not in in_file
    # a PUT without it resets it to Grafana's default (nil), as grafana/grafana#102150 says
    assert drift.put(GROUP_PATH, group(RULE)).status_code == 200
    assert "missingSeriesEvalsToResolve" not in drift.get(f"{PROV}/alert-rules/drift-pvalue").json()


@pytest.mark.parametrize(
    "label",
    ["__grafana_autogenerated__", "__grafana_receiver__", "__grafana_route_settings_hash__"],
)
def test_a_rule_cannot_define_a_system_reserved_label(drift: Client, label: str) -> None:
    """models/alert_rule.go ValidateAlertRule refuses LabelsUserCannotSpecify, the labels
    simplified routing sets (models.AutogeneratedRoute*Label)."""
    response = drift.put(GROUP_PATH, group(rule(labels={"team": "a", label: "x"})))
    assert response.status_code == 400
    assert response.json() == {
        "message": f"invalid alert rule: system reserved label {label} cannot be defined"
    }
    assert drift.get(GROUP_PATH).status_code == 404  # nothing stored


@pytest.mark.fake_versions("12.4", "13.2")
@pytest.mark.parametrize("value", [0, -1])
def test_missing_series_evals_to_resolve_must_be_positive(drift: Client, value: int) -> None:
    """models/alert_rule.go validateAlertRuleFields: a non-nil value <= 0 is refused."""
    response = drift.put(GROUP_PATH, group(rule(missingSeriesEvalsToResolve=value)))
    assert response.status_code == 400
    assert response.json() == {
        "message": "invalid alert rule: field `missing_series_evals_to_resolve` must be "
        "greater than 0"
    }
    assert drift.get(GROUP_PATH).status_code == 404  # nothing stored


@pytest.mark.fake_versions("12.4", "13.2")
def test_a_rule_stored_before_grafana_12_reads_with_keep_firing_for_0s(
    fake: FakeGrafana, drift: Client
) -> None:
    assert drift.put(GROUP_PATH, group(RULE)).ok
    del fake.state.alert_rules()["drift-pvalue"]["keep_firing_for"]  # as 11.x stored it
    assert drift.get(f"{PROV}/alert-rules/drift-pvalue").json()["keep_firing_for"] == "0s"


def test_notification_settings_round_trip_as_go_encodes_them(drift: Client) -> None:
    drift.post(f"{PROV}/mute-timings", {"name": "night", "time_intervals": []})
    settings = {
        "receiver": "telegram-drift",
        "group_by": ["alertname", "grafana_folder", "dataset"],
        "group_wait": "60s",
        "group_interval": "300s",
        "repeat_interval": "240m",
        "mute_time_intervals": ["night"],
    }
    assert drift.put(GROUP_PATH, group(rule(notification_settings=settings))).ok
    stored = drift.get(f"{PROV}/alert-rules/drift-pvalue").json()["notification_settings"]
    assert stored == {
        **settings,
        "group_wait": "1m",
        "group_interval": "5m",
        "repeat_interval": "4h",
    }
    minimal = {"receiver": "telegram-drift", "group_by": [], "mute_time_intervals": []}
    assert drift.put(GROUP_PATH, group(rule(notification_settings=minimal))).ok
    stored = drift.get(f"{PROV}/alert-rules/drift-pvalue").json()["notification_settings"]
    assert stored == {"receiver": "telegram-drift"}  # omitempty


@pytest.mark.parametrize(
    ("settings", "lines"),
    [
        ({"receiver": "nobody"}, ["receiver does not exist: nobody"]),
        (
            {"receiver": "telegram-drift", "mute_time_intervals": ["nope"]},
            ["time interval does not exist: nope"],
        ),
        (
            {"receiver": "nobody", "mute_time_intervals": ["a", "b"]},
            [
                "receiver does not exist: nobody",
                "time interval does not exist: a",
                "time interval does not exist: b",
            ],
        ),
        (
            {"receiver": "telegram-drift", "group_by": ["dataset"]},
            [
                "group by override must contain two required labels: 'alertname' and "
                "'grafana_folder'"
            ],
        ),
        (
            {"receiver": "telegram-drift", "repeat_interval": "0s"},
            ["repeat interval must be greater than zero"],
        ),
    ],
)
def test_notification_settings_are_validated_on_a_group_put(
    drift: Client, settings: dict[str, Any], lines: list[str]
) -> None:
    """ReplaceRuleGroup: errors.Join(ErrAlertRuleFailedValidation, validator errors)."""
    response = drift.put(GROUP_PATH, group(rule(notification_settings=settings)))
    assert response.status_code == 400
    assert response.json() == {"message": "\n".join(["invalid alert rule", *lines])}
    assert drift.get(GROUP_PATH).status_code == 404  # nothing stored


def test_a_single_rule_with_an_unknown_receiver_is_a_plain_500(drift: Client) -> None:
    """CreateAlertRule / UpdateAlertRule return the validator's error unwrapped."""
    body = rule(notification_settings={"receiver": "nobody"})
    created = drift.post(f"{PROV}/alert-rules", body)
    assert (created.status_code, created.json()) == (500, {"message": "Internal Server Error"})
    assert drift.post(f"{PROV}/alert-rules", RULE).status_code == 201
    updated = drift.put(f"{PROV}/alert-rules/drift-pvalue", body)
    assert updated.status_code == 500
    assert drift.get(f"{PROV}/alert-rules/drift-pvalue").json()["notification_settings"] is None


def test_ui_edit_rule_plays_someone_editing_in_the_ui(fake: FakeGrafana, drift: Client) -> None:
    none = {"X-Disable-Provenance": "true"}
    assert drift.put(GROUP_PATH, group(RULE), headers=none).ok
    before = drift.get(f"{PROV}/alert-rules/drift-pvalue").json()
    shown = fake.ui_edit_rule(
        "drift-pvalue",
        isPaused=True,
        notification_settings={"receiver": "telegram-drift", "group_wait": "60s"},
        **{"for": "120s"},
    )
    after = drift.get(f"{PROV}/alert-rules/drift-pvalue").json()
    assert after == shown
    assert (after["isPaused"], after["for"], after["id"]) == (True, "2m", before["id"])
    assert after["notification_settings"] == {"receiver": "telegram-drift", "group_wait": "1m"}
    assert "provenance" not in after
    # the next PUT of the original body is a change again, not a no-op
    assert drift.put(GROUP_PATH, group(RULE), headers=none).ok
    assert drift.get(f"{PROV}/alert-rules/drift-pvalue").json()["isPaused"] is False


def test_ui_edit_rule_refuses_what_grafana_11_4_refuses(fake: FakeGrafana, drift: Client) -> None:
    drift.put(GROUP_PATH, group(RULE))  # provenance api: locked in the UI
    with pytest.raises(ValueError, match="provisioned"):
        fake.ui_edit_rule("drift-pvalue", isPaused=True)
    assert fake.ui_edit_rule("drift-pvalue", allow_provisioned=True, isPaused=True)["isPaused"]
    if fake.version == "11.6":
        with pytest.raises(ValueError, match="editable"):
            fake.ui_edit_rule("drift-pvalue", allow_provisioned=True, keep_firing_for="5m")
    else:
        edited = fake.ui_edit_rule("drift-pvalue", allow_provisioned=True, keep_firing_for="300s")
        assert edited["keep_firing_for"] == "5m"
        edited = fake.ui_edit_rule(
            "drift-pvalue", allow_provisioned=True, missingSeriesEvalsToResolve=4
        )
        assert edited["missingSeriesEvalsToResolve"] == 4
        with pytest.raises(ValueError, match="greater than 0"):
            fake.ui_edit_rule("drift-pvalue", allow_provisioned=True, missingSeriesEvalsToResolve=0)
    with pytest.raises(ValueError, match="receiver does not exist"):
        fake.ui_edit_rule(
            "drift-pvalue", allow_provisioned=True, notification_settings={"receiver": "x"}
        )
    with pytest.raises(KeyError):
        fake.ui_edit_rule("nope", isPaused=True)


def test_recording_rules_are_refused_by_default(drift: Client) -> None:
    body = rule(record={"metric": "drift_ratio", "from": "C"})
    response = drift.put(GROUP_PATH, group(body))
    assert response.json() == {
        "message": "invalid alert rule: recording rules cannot be created on this instance"
    }


def test_a_rule_uid_from_another_group_is_moved(fake: FakeGrafana, drift: Client) -> None:
    other_path = f"{PROV}/folder/drift/rule-groups/other"
    assert drift.put(other_path, {**group(RULE), "title": "other"}).status_code == 200
    assert drift.put(GROUP_PATH, group(RULE)).status_code == 200
    assert list(fake.state.rule_groups) == [("drift", "data-drift")]
    assert drift.get(other_path).status_code == 404


def test_the_alert_rule_404_has_an_empty_body(api: Client) -> None:
    response = api.get(f"{PROV}/alert-rules/nope")
    assert (response.status_code, response.content) == (404, b"")
    assert api.put(f"{PROV}/alert-rules/nope", RULE).status_code == 404


def test_a_single_rule_post_uses_the_group_interval_or_1m(fake: FakeGrafana, drift: Client) -> None:
    created = drift.post(f"{PROV}/alert-rules", RULE)
    assert created.status_code == 201
    assert created.json()["provenance"] == "api"
    assert drift.get(GROUP_PATH).json()["interval"] == 60
    again = drift.post(f"{PROV}/alert-rules", RULE)
    assert again.status_code == 409


def test_a_single_rule_put_can_move_it_to_another_group(fake: FakeGrafana, drift: Client) -> None:
    drift.put(GROUP_PATH, group(RULE))
    moved = drift.put(f"{PROV}/alert-rules/drift-pvalue", rule(ruleGroup="elsewhere"))
    assert moved.status_code == 200
    assert list(fake.state.rule_groups) == [("drift", "elsewhere")]
    assert fake.state.rule_groups[("drift", "elsewhere")]["interval"] == 60
    assert drift.get(f"{PROV}/alert-rules/drift-pvalue/export?format=json").json()["groups"]


def test_single_rule_put_get_list_and_idempotent_delete(drift: Client) -> None:
    drift.post(f"{PROV}/alert-rules", RULE)
    updated = drift.put(f"{PROV}/alert-rules/drift-pvalue", rule(title="Renamed"))
    assert (updated.status_code, updated.json()["title"]) == (200, "Renamed")
    assert [r["uid"] for r in drift.get(f"{PROV}/alert-rules").json()] == ["drift-pvalue"]
    assert drift.delete(f"{PROV}/alert-rules/drift-pvalue").status_code == 204
    assert drift.delete(f"{PROV}/alert-rules/drift-pvalue").status_code == 204
    assert drift.get(f"{PROV}/alert-rules").json() == []


def test_rule_group_delete_then_404(drift: Client) -> None:
    drift.put(GROUP_PATH, group(RULE))
    assert drift.delete(GROUP_PATH).status_code == 204
    assert drift.get(GROUP_PATH).status_code == 404
    assert drift.delete(GROUP_PATH).status_code == 404


def test_rule_exports_are_in_the_file_format(drift: Client) -> None:
    drift.put(GROUP_PATH, group(RULE))
    exported = drift.get(f"{GROUP_PATH}/export?format=json").json()
    [exported_group] = exported["groups"]
    assert (exported_group["folder"], exported_group["interval"]) == ("Drift monitoring", "10s")
    assert drift.get(f"{PROV}/alert-rules/export?folderUid=nope").status_code == 404


# -- the receiver test endpoint (UI "Test" button) --------------------------------------------

TEST_PATH = "/api/alertmanager/grafana/config/api/v1/receivers/test"
# The endpoint exists until 12.x; 13.0 answers 410 (test_the_receivers_test_endpoint_is_gone_on_13).
BEFORE_13 = pytest.mark.fake_versions("11.6", "12.4")


def ui_test_body(**settings: Any) -> dict[str, Any]:
    """What the UI sends for an existing contact point: its uid, the secret left out."""
    visible = {k: v for k, v in TELEGRAM["settings"].items() if k != "bottoken"}
    return {
        "receivers": [
            {
                "name": "telegram-drift",
                "grafana_managed_receiver_configs": [
                    {
                        "uid": "tg-drift",
                        "name": "telegram-drift",
                        "type": "telegram",
                        "disableResolveMessage": False,
                        "settings": {**visible, **settings},
                        "secureFields": {"bottoken": True},
                    }
                ],
            }
        ]
    }


@BEFORE_13
def test_a_test_notification_goes_out_with_the_stored_token(
    fake: FakeGrafana, drift: Client
) -> None:
    response = drift.post(TEST_PATH, ui_test_body())
    assert response.status_code == 200
    config = response.json()["receivers"][0]["grafana_managed_receiver_configs"][0]
    assert (config["uid"], config["status"]) == ("tg-drift", "ok")
    [sent] = fake.sent_test_notifications
    assert sent["settings"]["bottoken"] == TOKEN
    assert sent["settings"]["chatid"] == "-1001234567890"
    assert sent["alert"]["labels"]["alertname"] == "TestAlert"
    assert fake.spec_violations == []


@BEFORE_13
def test_a_redacted_token_fails_delivery_with_207(fake: FakeGrafana, drift: Client) -> None:
    response = drift.post(TEST_PATH, ui_test_body(bottoken=REDACTED))
    assert response.status_code == 207
    config = response.json()["receivers"][0]["grafana_managed_receiver_configs"][0]
    assert config["status"] == "failed"
    assert fake.sent_test_notifications[0]["status"] == "failed"


def test_the_far_end_can_refuse_unknown_tokens() -> None:
    with FakeGrafana(telegram_valid_tokens={"1:good"}) as fake:
        client = Client(fake)
        client.post(f"{PROV}/contact-points", TELEGRAM)
        assert client.post(TEST_PATH, ui_test_body()).status_code == 207
        assert client.post(TEST_PATH, ui_test_body(bottoken="1:good")).status_code == 200
        client.session.close()


@BEFORE_13
def test_an_unknown_integration_uid_is_400(drift: Client) -> None:
    body = ui_test_body()
    body["receivers"][0]["grafana_managed_receiver_configs"][0]["uid"] = "nope"
    response = drift.post(TEST_PATH, body)
    assert (response.status_code, response.json()) == (400, {"message": "unknown receiver: nope"})


@BEFORE_13
def test_an_invalid_integration_is_400_with_the_reason(fake: FakeGrafana, api: Client) -> None:
    body = ui_test_body()
    config = body["receivers"][0]["grafana_managed_receiver_configs"][0]
    config["uid"] = ""
    response = api.post(TEST_PATH, body)  # a new integration without a token
    assert response.status_code == 400
    result = response.json()["receivers"][0]["grafana_managed_receiver_configs"][0]
    assert "could not find Bot Token in settings" in result["error"]
    assert fake.sent_test_notifications == []
    assert api.post(TEST_PATH, {"receivers": []}).status_code == 400


# -- instrumentation -------------------------------------------------------------------------


def test_requests_are_recorded_without_auth_secrets(fake: FakeGrafana, api: Client) -> None:
    api.post("/api/folders?x=1", {"uid": "f", "title": "F"})
    method, path, query, headers, body = fake.requests[-1]
    assert (method, path, query, body) == (
        "POST",
        "/api/folders",
        {"x": ["1"]},
        {"uid": "f", "title": "F"},
    )
    assert headers["Authorization"] == "Basic <redacted>"
    assert base64.b64encode(b"admin:admin").decode() not in str(fake.requests)
    assert fake.requests[-1].status == 200


def test_writes_reads_and_reset_log(fake: FakeGrafana, api: Client) -> None:
    requests.get(f"{fake.url}/api/health", timeout=10)
    api.get("/api/folders")
    api.post("/api/folders", {"uid": "f", "title": "F"})
    api.put(f"{PROV}/policies", {"receiver": DEFAULT_RECEIVER})
    assert (fake.writes(), fake.reads()) == (2, 1)
    assert fake.writes(PROV) == 1
    assert [r.path for r in fake.write_requests()] == ["/api/folders", f"{PROV}/policies"]
    fake.reset_log()
    assert (fake.writes(), fake.reads(), fake.requests) == (0, 0, [])


def test_fail_next_injects_failures(fake: FakeGrafana, api: Client) -> None:
    fake.fail_next(2, status=500, paths=f"{PROV}/policies")
    assert api.get("/api/folders").status_code == 200  # other paths are untouched
    assert api.get(f"{PROV}/policies").status_code == 500
    assert api.put(f"{PROV}/policies", POLICY).status_code == 500
    assert api.get(f"{PROV}/policies").status_code == 200
    fake.fail_next(1, status=429)
    throttled = api.get("/api/folders")
    assert (throttled.status_code, throttled.headers["Retry-After"]) == (429, "1")
    fake.fail_next(1, status=503, methods="PUT", retry_after=3)
    assert api.get("/api/folders").status_code == 200
    unavailable = api.put("/api/folders/none", {"title": "x"})
    assert (unavailable.status_code, unavailable.headers["Retry-After"]) == (503, "3")
    assert requests.get(f"{fake.url}/api/health", timeout=10).status_code == 200


def test_state_edits_play_someone_in_the_ui(fake: FakeGrafana, drift: Client) -> None:
    drift.put(f"{PROV}/policies", POLICY)
    fake.state.policy_tree["routes"].append({"receiver": DEFAULT_RECEIVER})
    fake.state.contact_points["tg-drift"]["settings"]["chatid"] = "-100777"
    tree = drift.get(f"{PROV}/policies").json()
    assert len(tree["routes"]) == 2
    cp = drift.get(f"{PROV}/contact-points?name=telegram-drift").json()[0]
    assert cp["settings"]["chatid"] == "-100777"
    drift.post("/api/dashboards/db", {"dashboard": {"uid": "d", "title": "D"}})
    fake.ui_save_dashboard("d", {"title": "Edited in the UI"})
    got = drift.get("/api/dashboards/uid/d").json()
    assert (got["dashboard"]["title"], got["meta"]["version"]) == ("Edited in the UI", 2)


def test_foreign_objects_survive_our_writes(fake: FakeGrafana, drift: Client) -> None:
    fake.seed_folder("team-b", "Team B")
    fake.seed_contact_point("team-b-mail", uid="team-b-mail")
    fake.seed_rule_group("team-b", "b-rules", [{"title": "B rule"}])
    fake.seed_template("team-b", '{{ define "b" }}b{{ end }}')
    assert drift.put(GROUP_PATH, group(RULE)).status_code == 200
    assert drift.put(f"{PROV}/templates/drift", {"template": '{{ define "d" }}d{{ end }}'}).ok
    assert ("team-b", "b-rules") in fake.state.rule_groups
    assert "team-b-mail" in fake.state.contact_points
    assert "team-b" in fake.state.templates
    titles = [r["title"] for r in drift.get(f"{PROV}/alert-rules").json()]
    assert sorted(titles) == sorted(["B rule", RULE["title"]])


def test_start_fake_grafana_serves_until_stopped() -> None:
    fake = start_fake_grafana()
    assert requests.get(f"{fake.url}/api/health", timeout=10).ok
    assert fake.url.startswith("http://127.0.0.1:")
    fake.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{fake.url}/api/health", timeout=2)


# -- version profiles, /apis discovery, deprecations, the app-platform hooks ----------------------

# What each release serves, from the evidence next to fake_grafana.PROFILES: group -> versions,
# preferred first.
SERVED = {
    "11.6": {
        "notifications.alerting.grafana.app": ["v0alpha1"],
        "dashboard.grafana.app": ["v1alpha1", "v0alpha1", "v2alpha1"],
        "folder.grafana.app": ["v0alpha1"],
    },
    "12.4": {
        "notifications.alerting.grafana.app": ["v0alpha1"],
        "dashboard.grafana.app": ["v1beta1", "v0alpha1", "v2beta1"],
        "folder.grafana.app": ["v1beta1"],
    },
    "13.2": {
        "notifications.alerting.grafana.app": ["v1beta1", "v0alpha1"],
        "dashboard.grafana.app": ["v1", "v1beta1", "v2beta1", "v0alpha1"],
        "folder.grafana.app": ["v1", "v1beta1"],
        "rules.alerting.grafana.app": ["v0alpha1"],
    },
}
NOTIFICATIONS = "/apis/notifications.alerting.grafana.app"


def is_status(body: dict[str, Any], code: int, reason: str) -> bool:
    """A Kubernetes metav1.Status failure."""
    expected = {"kind": "Status", "apiVersion": "v1", "status": "Failure"}
    return {k: body.get(k) for k in expected} == expected and (body["code"], body["reason"]) == (
        code,
        reason,
    )


def test_the_profile_comes_from_the_argument_the_environment_or_11_6(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FAKE_GRAFANA_VERSION", raising=False)
    made = [FakeGrafana(), FakeGrafana(version="13.2")]
    monkeypatch.setenv("FAKE_GRAFANA_VERSION", "12.4")
    made += [FakeGrafana(), FakeGrafana(version="11.6")]
    assert [f.version for f in made] == ["11.6", "13.2", "12.4", "11.6"]
    for f in made:
        f.stop()
    with pytest.raises(ValueError, match=r"profile '11\.4'"):
        FakeGrafana(version="11.4")


def test_the_fixture_runs_every_profile(fake: FakeGrafana, request: pytest.FixtureRequest) -> None:
    assert request.node.callspec.id == f"fake{fake.version}"


@pytest.mark.fake_versions("13.2")
def test_a_marker_limits_the_profiles(fake: FakeGrafana) -> None:
    assert fake.version == "13.2"


def test_apis_lists_the_served_groups(fake: FakeGrafana, api: Client) -> None:
    body = api.get("/apis").json()
    assert (body["kind"], body["apiVersion"]) == ("APIGroupList", "v1")
    served = {g["name"]: [v["version"] for v in g["versions"]] for g in body["groups"]}
    assert served == SERVED[fake.version]
    for listed in body["groups"]:
        first = listed["versions"][0]
        assert listed["preferredVersion"] == first
        assert first["groupVersion"] == f"{listed['name']}/{first['version']}"


def test_apis_needs_a_signed_in_caller(fake: FakeGrafana) -> None:
    assert requests.get(f"{fake.url}/apis", timeout=10).status_code == 401


def test_one_group_is_an_api_group(fake: FakeGrafana, api: Client) -> None:
    body = api.get("/apis/notifications.alerting.grafana.app").json()
    assert (body["kind"], body["name"]) == ("APIGroup", "notifications.alerting.grafana.app")
    preferred = "v1beta1" if fake.version == "13.2" else "v0alpha1"
    assert body["preferredVersion"]["version"] == preferred


def test_an_unserved_group_or_version_is_the_apiservers_404(fake: FakeGrafana, api: Client) -> None:
    for path in ("/apis/nope.grafana.app", "/apis/folder.grafana.app/v9/"):
        response = api.get(path)
        assert response.status_code == 404
        assert is_status(response.json(), 404, "NotFound")
    fake.unknown_requests.clear()
    response = api.get("/apis/nope.grafana.app/v1/namespaces/default/things")
    assert is_status(response.json(), 404, "NotFound")
    assert fake.unknown_requests == [("GET", "/apis/nope.grafana.app/v1/namespaces/default/things")]


FULL_VERSIONS = {"11.6": "11.6.13", "12.4": "12.4.3", "13.2": "13.2.1"}


def test_frontend_settings_show_the_build_and_the_toggles_on(
    fake: FakeGrafana, api: Client
) -> None:
    """FrontendSettingsDTO: buildInfo.version, featureToggles with the enabled ones only;
    alertingMultiplePolicies is a 13.x toggle (TOGGLES_SINCE)."""
    assert api.get("/api/frontend/settings").json()["featureToggles"] == {}
    fake.features.update({"alertingMultiplePolicies", "kubernetesAlertingRules"})
    body = api.get("/api/frontend/settings").json()
    assert body["buildInfo"]["version"] == FULL_VERSIONS[fake.version]
    expected = {"kubernetesAlertingRules": True}
    if fake.version == "13.2":
        expected["alertingMultiplePolicies"] = True
    assert body["featureToggles"] == expected
    assert api.get("/api/frontend/settings", auth=("admin", "wrong")).status_code == 401


def test_features_come_from_the_environment_unless_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_GRAFANA_FEATURES", "alertingMultiplePolicies,otherToggle")
    with FakeGrafana(version="13.2") as fake:
        assert fake.features == {"alertingMultiplePolicies", "otherToggle"}
        toggles = Client(fake).get("/api/frontend/settings").json()["featureToggles"]
        assert toggles == {"alertingMultiplePolicies": True, "otherToggle": True}
    with FakeGrafana(version="13.2", features=()) as fake:
        assert fake.features == set()


def test_resource_lists_name_kinds_verbs_and_subresources(fake: FakeGrafana, api: Client) -> None:
    version = SERVED[fake.version]["notifications.alerting.grafana.app"][0]
    body = api.get(f"{NOTIFICATIONS}/{version}/").json()
    assert (body["kind"], body["groupVersion"]) == (
        "APIResourceList",
        f"notifications.alerting.grafana.app/{version}",
    )
    resources = {r["name"]: r for r in body["resources"]}
    assert set(resources) == {
        "receivers",
        "receivers/test",
        "routingtrees",
        "templategroups",
        "timeintervals",
    }
    assert resources["receivers"]["kind"] == "Receiver"
    assert resources["receivers"]["namespaced"] is True
    assert {"create", "get", "list", "update", "delete"} <= set(resources["receivers"]["verbs"])
    assert resources["receivers/test"]["verbs"] == ["create"]
    # One fixed routing tree before v1beta1 (#91550); the v1beta1 storage creates named trees.
    assert ("create" in resources["routingtrees"]["verbs"]) == (version == "v1beta1")


@pytest.mark.fake_versions("13.2")
def test_13_lists_the_ga_dashboards_folders_and_the_alpha_rules(api: Client) -> None:
    kinds = {
        "dashboard.grafana.app/v1": {"dashboards": "Dashboard"},
        "folder.grafana.app/v1": {"folders": "Folder"},
        "rules.alerting.grafana.app/v0alpha1": {
            "alertrules": "AlertRule",
            "recordingrules": "RecordingRule",
        },
    }
    for group_version, expected in kinds.items():
        resources = api.get(f"/apis/{group_version}/").json()["resources"]
        assert {r["name"]: r["kind"] for r in resources} == expected


# The deprecated endpoints of #121995 (notifications) and #120606 (rules), with what replaces them.
DEPRECATED = [
    ("GET", f"{PROV}/contact-points", "receivers"),
    ("POST", f"{PROV}/contact-points", "receivers"),
    ("PUT", f"{PROV}/contact-points/tg-drift", "receivers/{name}"),
    ("DELETE", f"{PROV}/contact-points/nope", "receivers/{name}"),
    ("GET", f"{PROV}/templates/nope", "templategroups/{name}"),
    ("PUT", f"{PROV}/templates/drift", "templategroups/{name}"),
    ("GET", f"{PROV}/mute-timings", "timeintervals"),
    ("POST", f"{PROV}/mute-timings", "timeintervals"),
    ("GET", f"{PROV}/policies", "routingtrees"),
    ("PUT", f"{PROV}/policies", "routingtrees"),
    ("GET", f"{PROV}/alert-rules", "alertrules"),
    ("GET", f"{PROV}/folder/drift/rule-groups/drift", "alertrules"),
    ("PUT", f"{PROV}/folder/drift/rule-groups/drift", "alertrules"),
]
BODIES = {
    f"{PROV}/contact-points": TELEGRAM,
    f"{PROV}/contact-points/tg-drift": TELEGRAM,
    f"{PROV}/templates/drift": {"template": '{{ define "d" }}d{{ end }}'},
    f"{PROV}/mute-timings": {"name": "night", "time_intervals": []},
    f"{PROV}/policies": POLICY,
    f"{PROV}/folder/drift/rule-groups/drift": {"title": "drift", "interval": 60, "rules": []},
}
NOT_DEPRECATED = [
    f"{PROV}/contact-points/export",
    f"{PROV}/alert-rules/export",
    f"{PROV}/templates",
    "/api/dashboards/uid/nope",
    "/api/folders",
    "/api/datasources",
]


def test_deprecated_endpoints_say_so_on_13(fake: FakeGrafana, drift: Client) -> None:
    for method, path, replacement in DEPRECATED:
        response = drift(method, path, json=BODIES.get(path))
        headers = {k: v for k, v in response.headers.items() if k.startswith(("Warning", "X-API"))}
        if fake.version != "13.2":
            assert headers == {}, (method, path)
            continue
        assert headers["Warning"].startswith("299 "), (method, path)
        assert headers["X-API-Replacement"].endswith(f"/namespaces/{{namespace}}/{replacement}")
        assert headers["X-API-Deprecation-Date"] == "2026-04-14"
    for path in NOT_DEPRECATED:
        headers = drift.get(path).headers
        assert not any(name.startswith(("Warning", "X-API")) for name in headers), path


@pytest.mark.fake_versions("13.2")
def test_the_receivers_test_endpoint_is_gone_on_13(fake: FakeGrafana, drift: Client) -> None:
    for body in ({"receivers": []}, {"not": "even the schema"}):
        response = drift.post(TEST_PATH, body)
        assert response.status_code == 410
        assert "/receivers/{uid}/test" in response.json()["message"]
    assert fake.sent_test_notifications == []
    assert fake.spec_violations == []  # no body is read


class Probe:
    """An app module as tests/fake_apps_*.py are: register(api, add, group, version)."""

    calls: list[tuple[str, str]]

    def __init__(self) -> None:
        self.calls = []

    def register(self, api: Any, add: Any, group: str, version: str) -> None:
        from fake_grafana import PERM_FOLDERS_WRITE, k8s_not_found

        self.calls.append((group, version))
        base = f"/apis/{group}/{version}/namespaces/{{namespace}}/probes"

        def where(ctx: Any) -> Reply:
            return Reply(200, {"org": ctx.org.org_id, "namespace": ctx.namespace})

        def missing(ctx: Any) -> Reply:
            raise k8s_not_found(group, "probes", ctx.params["name"])

        def echo(ctx: Any) -> Reply:
            return Reply(200, ctx.body)

        add("GET", base, where)
        add("GET", f"{base}/{{name}}", missing)
        add("POST", base, echo, PERM_FOLDERS_WRITE)


@pytest.fixture
def probe(monkeypatch: pytest.MonkeyPatch) -> Probe:
    """Notifications v1beta1 served by a probe module instead of fake_apps_notifications."""
    import sys
    import types

    import fake_grafana

    module, found = types.ModuleType("fake_apps_probe"), Probe()
    module.register = found.register  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fake_apps_probe", module)
    key = ("notifications.alerting.grafana.app", "v1beta1")
    monkeypatch.setitem(fake_grafana.APP_MODULES, key, "fake_apps_probe")
    return found


def test_app_modules_register_the_group_versions_a_profile_serves(probe: Probe) -> None:
    for version in ("11.6", "12.4", "13.2"):
        FakeGrafana(version=version).stop()
    assert probe.calls == [("notifications.alerting.grafana.app", "v1beta1")]  # 13.2 only


def test_a_namespace_is_resolved_to_its_org(probe: Probe) -> None:
    tokens = {DEFAULT_TOKEN: FakeToken(), "org2-token": FakeToken(org_id=2)}
    with FakeGrafana(version="13.2", orgs=(1, 2, 3), tokens=tokens) as fake:
        api = Client(fake)  # the basic-auth admin, a member of every org
        probes = f"{NOTIFICATIONS}/v1beta1/namespaces/{{}}/probes"
        assert api.get(probes.format("default")).json() == {"org": 1, "namespace": "default"}
        assert api.get(probes.format("org-3")).json() == {"org": 3, "namespace": "org-3"}
        # A service account belongs to its own org only (authorizer/org_id.go).
        theirs = api.get(probes.format("org-2"), headers=bearer("org2-token")).json()
        assert theirs == {"org": 2, "namespace": "org-2"}
        refused = {
            ("org-2", DEFAULT_TOKEN): "is not a member of org 2",
            ("org-1", None): "use default rather than org-1",
            ("org-0", None): "invalid org id",
            ("org-9", None): "is not a member of org 9",
            ("stacks-12", None): "requires deployment with a fixed stack id",
            ("team-a", None): "org id is required",
        }
        for (namespace, token), reason in refused.items():
            headers = bearer(token) if token else None
            body = api.get(probes.format(namespace), headers=headers).json()
            assert is_status(body, 403, "Forbidden"), namespace
            assert reason in body["message"], namespace
            assert f'in the namespace "{namespace}"' in body["message"]
        api.session.close()


def test_app_routes_answer_kubernetes_status_errors(probe: Probe) -> None:
    tokens = {DEFAULT_TOKEN: FakeToken(), "reader": FakeToken(frozenset())}
    with FakeGrafana(version="13.2", tokens=tokens) as fake:
        admin = Client(fake)
        probes = f"{NOTIFICATIONS}/v1beta1/namespaces/default/probes"
        body = admin.get(f"{probes}/p1").json()
        assert is_status(body, 404, "NotFound")
        assert body["message"] == 'probes.notifications.alerting.grafana.app "p1" not found'
        assert body["details"] == {
            "name": "p1",
            "group": "notifications.alerting.grafana.app",
            "kind": "probes",
        }
        denied = admin.post(probes, {"a": 1}, headers=bearer("reader")).json()
        assert is_status(denied, 403, "Forbidden")
        assert denied["message"].startswith(
            "probes.notifications.alerting.grafana.app is forbidden: User"
        )
        assert 'cannot create resource "probes"' in denied["message"]
        garbled = admin(
            "POST", probes, data="{not json", headers={"Content-Type": "application/json"}
        )
        assert is_status(garbled.json(), 400, "BadRequest")
        assert admin.post(probes, {"spec": {"x": 1}}).json() == {"spec": {"x": 1}}
        assert fake.spec_violations == []  # /apis bodies are the modules' to check
        admin.session.close()


def test_a_missing_app_module_leaves_its_group_listed_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import fake_grafana

    key = ("notifications.alerting.grafana.app", "v1beta1")
    monkeypatch.setitem(fake_grafana.APP_MODULES, key, "fake_apps_not_written_yet")
    with FakeGrafana(version="13.2") as fake:
        groups = Client(fake).get("/apis").json()["groups"]
        assert "notifications.alerting.grafana.app" in {g["name"] for g in groups}


def test_an_app_module_that_fails_to_import_fails_the_fake(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import fake_grafana

    (tmp_path / "fake_apps_broken.py").write_text("import a_dependency_nobody_installed\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    key = ("notifications.alerting.grafana.app", "v1beta1")
    monkeypatch.setitem(fake_grafana.APP_MODULES, key, "fake_apps_broken")
    with pytest.raises(ModuleNotFoundError, match="a_dependency_nobody_installed"):
        FakeGrafana(version="13.2")
