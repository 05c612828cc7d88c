"""The fake Grafana's notifications.alerting.grafana.app/v1beta1 resources (13.2 profile), over
HTTP: Kubernetes semantics as Grafana's legacy storages implement them, and one state shared
with the legacy provisioning endpoints (see tests/fake_apps_notifications.py for the sources)."""

from __future__ import annotations

import base64
import copy
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from fake_grafana import DEFAULT_RECEIVER, FakeGrafana

PROV = "/api/v1/provisioning"
APIS = "/apis/notifications.alerting.grafana.app/v1beta1/namespaces"
API_VERSION = "notifications.alerting.grafana.app/v1beta1"
PROVENANCE = "grafana.com/provenance"
TOKEN = "123456:ABC-real-bot-token"


def b64url(name: str) -> str:
    """The expected metadata.name: unpadded base64url of the title (NameToUid)."""
    return base64.urlsafe_b64encode(name.encode()).decode().rstrip("=")


class Client:
    """Basic-auth admin requests against the fake Grafana (``ns``: the namespace of /apis)."""

    def __init__(self, grafana: FakeGrafana) -> None:
        self.grafana = grafana
        self.session = requests.Session()
        self.session.auth = ("admin", "admin")

    def call(self, method: str, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        return self.session.request(method, self.grafana.url + path, json=body, timeout=5, **kwargs)

    def apis(
        self, method: str, path: str, body: Any = None, ns: str = "default"
    ) -> requests.Response:
        return self.call(method, f"{APIS}/{ns}/{path}", body)


@pytest.fixture
def grafana() -> Iterator[FakeGrafana]:
    with FakeGrafana(version="13.2", orgs=(1, 2)) as server:
        yield server
        assert server.internal_errors == []


@pytest.fixture
def client(grafana: FakeGrafana) -> Client:
    return Client(grafana)


def receiver(title: str, *integrations: dict[str, Any], provenance: str | None = None) -> dict:
    meta: dict[str, Any] = {}
    if provenance is not None:
        meta["annotations"] = {PROVENANCE: provenance}
    spec = {"title": title, "integrations": list(integrations)}
    return {"apiVersion": API_VERSION, "kind": "Receiver", "metadata": meta, "spec": spec}


def telegram(uid: str | None = None, **settings: Any) -> dict[str, Any]:
    integration = {
        "type": "telegram",
        "version": "v1",
        "settings": {"bottoken": TOKEN, "chatid": "-100123", **settings},
    }
    if uid is not None:
        integration["uid"] = uid
    return integration


def email(uid: str, address: str = "ops@example.com") -> dict[str, Any]:
    return {"uid": uid, "type": "email", "version": "v1", "settings": {"addresses": address}}


def status_of(response: requests.Response, code: int) -> dict[str, Any]:
    """The Kubernetes Status body of a failed response, checked for its shape."""
    assert response.status_code == code, response.text
    body = response.json()
    assert body["kind"] == "Status" and body["apiVersion"] == "v1"
    assert body["status"] == "Failure" and body["code"] == code
    return body


def created(client: Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.apis("POST", path, body)
    assert response.status_code == 201, response.text
    return response.json()


# -- registration ---------------------------------------------------------------------------


def test_the_resources_are_served_on_13_only() -> None:
    with FakeGrafana(version="11.6") as old:
        response = Client(old).apis("GET", "receivers")
        assert status_of(response, 404)["reason"] == "NotFound"


def test_lists_are_kubernetes_lists_of_the_kind(client: Client) -> None:
    for plural, kind in (
        ("receivers", "ReceiverList"),
        ("timeintervals", "TimeIntervalList"),
        ("templategroups", "TemplateGroupList"),
        ("routingtrees", "RoutingTreeList"),
    ):
        body = client.apis("GET", plural).json()
        assert body["kind"] == kind and body["apiVersion"] == API_VERSION
        assert isinstance(body["items"], list)


# -- receivers: one state with the legacy contact points ------------------------------------


def test_a_receiver_made_through_the_app_api_is_a_legacy_contact_point(client: Client) -> None:
    made = created(
        client, "receivers", receiver("team-a", telegram("tg-a"), email("em-a"), provenance="api")
    )
    assert made["metadata"]["name"] == b64url("team-a")
    assert made["metadata"]["namespace"] == "default"
    legacy = client.call("GET", f"{PROV}/contact-points", params={"name": "team-a"}).json()
    by_uid = {cp["uid"]: cp for cp in legacy}
    assert set(by_uid) == {"tg-a", "em-a"}
    assert by_uid["tg-a"]["type"] == "telegram"
    assert by_uid["tg-a"]["settings"]["chatid"] == "-100123"
    assert by_uid["tg-a"]["settings"]["bottoken"] == "[REDACTED]"  # stored, redacted on read
    assert by_uid["em-a"]["settings"]["addresses"] == "ops@example.com"
    assert {cp["provenance"] for cp in legacy} == {"api"}
    exported = client.call(
        "GET", f"{PROV}/contact-points/export", params={"decrypt": "true", "format": "json"}
    )
    secrets = [
        r["settings"].get("bottoken")
        for cp in exported.json()["contactPoints"]
        for r in cp["receivers"]
        if r["uid"] == "tg-a"
    ]
    assert secrets == [TOKEN]


def test_a_legacy_contact_point_is_a_receiver_without_its_secrets(client: Client) -> None:
    body = {"uid": "tg-legacy", "name": "legacy team", "type": "telegram"}
    body["settings"] = {"bottoken": TOKEN, "chatid": "-42"}
    assert client.call("POST", f"{PROV}/contact-points", body).status_code == 202
    got = client.apis("GET", f"receivers/{b64url('legacy team')}")
    assert got.status_code == 200
    item = got.json()
    assert item["kind"] == "Receiver" and item["apiVersion"] == API_VERSION
    assert item["metadata"]["annotations"][PROVENANCE] == "api"
    (integration,) = item["spec"]["integrations"]
    assert integration["uid"] == "tg-legacy"
    assert integration["version"] == "v1"
    assert integration["settings"] == {"chatid": "-42"}
    assert integration["secureFields"] == {"bottoken": True}
    assert TOKEN not in got.text
    listed = client.apis("GET", "receivers").json()["items"]
    assert TOKEN not in str(listed)
    assert "legacy team" in [r["spec"]["title"] for r in listed]


def test_a_receiver_without_provenance_is_editable_through_the_legacy_api(client: Client) -> None:
    made = created(client, "receivers", receiver("free", email("em-free")))
    assert made["metadata"]["annotations"][PROVENANCE] == ""
    (legacy,) = client.call("GET", f"{PROV}/contact-points", params={"name": "free"}).json()
    assert "provenance" not in legacy
    changed = {**legacy, "settings": {"addresses": "new@example.com"}}
    response = client.call(
        "PUT", f"{PROV}/contact-points/em-free", changed, headers={"X-Disable-Provenance": "1"}
    )
    assert response.status_code == 202
    again = client.apis("GET", f"receivers/{b64url('free')}").json()
    assert again["spec"]["integrations"][0]["settings"] == {"addresses": "new@example.com"}
    assert again["metadata"]["resourceVersion"] != made["metadata"]["resourceVersion"]


def test_get_and_list_carry_access_and_in_use_annotations(client: Client) -> None:
    annotations = client.apis("GET", f"receivers/{b64url(DEFAULT_RECEIVER)}").json()["metadata"][
        "annotations"
    ]
    assert annotations["grafana.com/inUse/routes"] == "1"  # the root of the default tree
    assert annotations["grafana.com/inUse/rules"] == "0"
    assert annotations["grafana.com/access/canWrite"] == "true"
    assert annotations["grafana.com/canUse"] == "true"
    made = created(client, "receivers", receiver("plain", email("em-plain")))
    assert set(made["metadata"]["annotations"]) == {PROVENANCE}


def test_a_create_naming_the_object_is_refused(client: Client, grafana: FakeGrafana) -> None:
    body = receiver("named", email("em-named"))
    body["metadata"]["name"] = b64url("named")
    response = client.apis("POST", "receivers", body)
    assert status_of(response, 400)["message"] == "object's metadata.name should be empty"
    assert "em-named" not in grafana.state.contact_points


def test_a_taken_title_is_a_conflict(client: Client) -> None:
    response = client.apis("POST", "receivers", receiver(DEFAULT_RECEIVER, email("em-x")))
    body = status_of(response, 409)
    assert body["details"]["uid"] == "alerting.notifications.receivers.exists"


def test_integration_uids_are_kept_checked_and_generated(
    client: Client, grafana: FakeGrafana
) -> None:
    made = created(client, "receivers", receiver("uids", email("kept-uid"), email("")))
    uids = [i["uid"] for i in made["spec"]["integrations"]]
    assert uids[0] == "kept-uid" and uids[1]
    assert set(uids) <= set(grafana.state.contact_points)
    bad = client.apis("POST", "receivers", receiver("bad uid", email("not a uid!")))
    assert status_of(bad, 400)["details"]["uid"] == "alerting.notifications.receivers.invalid"
    taken = client.apis("POST", "receivers", receiver("taken", email("kept-uid")))
    assert 'integration with UID \\"kept-uid\\" already exists' in taken.text


def test_an_unknown_integration_type_or_version_is_refused(client: Client) -> None:
    kinds = {**email("em-t"), "type": "carrier-pigeon"}
    status_of(client.apis("POST", "receivers", receiver("pigeon", kinds)), 400)
    versions = {**email("em-v"), "version": "v0mimir1"}
    status_of(client.apis("POST", "receivers", receiver("old", versions)), 400)


# -- resourceVersion ------------------------------------------------------------------------


def test_a_stale_resource_version_is_a_conflict_status(client: Client) -> None:
    made = created(client, "receivers", receiver("versioned", email("em-ver")))
    stale = copy.deepcopy(made)
    updated = copy.deepcopy(made)
    updated["spec"]["integrations"][0]["settings"]["addresses"] = "b@example.com"
    response = client.apis("PUT", f"receivers/{made['metadata']['name']}", updated)
    assert response.status_code == 200, response.text
    new_version = response.json()["metadata"]["resourceVersion"]
    assert new_version != made["metadata"]["resourceVersion"]
    stale["spec"]["integrations"][0]["settings"]["addresses"] = "c@example.com"
    conflict = status_of(client.apis("PUT", f"receivers/{made['metadata']['name']}", stale), 409)
    assert conflict["reason"] == "Conflict"
    assert conflict["details"]["uid"] == "alerting.notifications.receivers.conflict"
    got = client.apis("GET", f"receivers/{made['metadata']['name']}").json()
    assert got["spec"]["integrations"][0]["settings"]["addresses"] == "b@example.com"
    assert got["metadata"]["resourceVersion"] == new_version


def test_a_receiver_update_without_a_resource_version_is_a_conflict(client: Client) -> None:
    made = created(client, "receivers", receiver("unversioned", email("em-unv")))
    del made["metadata"]["resourceVersion"]
    response = client.apis("PUT", f"receivers/{made['metadata']['name']}", made)
    assert status_of(response, 409)["details"]["uid"] == "alerting.notifications.receivers.conflict"


def test_a_time_interval_update_without_a_resource_version_is_unconditional(
    client: Client,
) -> None:
    made = created(client, "timeintervals", interval("nights"))
    made["metadata"]["resourceVersion"] = ""
    made["spec"]["time_intervals"] = [{"weekdays": ["saturday"]}]
    response = client.apis("PUT", f"timeintervals/{made['metadata']['name']}", made)
    assert response.status_code == 200, response.text
    stale = copy.deepcopy(made)
    stale["metadata"]["resourceVersion"] = "0123456789abcdef"
    conflict = client.apis("PUT", f"timeintervals/{made['metadata']['name']}", stale)
    assert status_of(conflict, 409)["details"]["uid"] == "alerting.notifications.conflict"


def test_a_put_naming_another_object_is_refused(client: Client) -> None:
    made = created(client, "receivers", receiver("mine", email("em-mine")))
    made["metadata"]["name"] = b64url("someone else")
    response = client.apis("PUT", f"receivers/{b64url('mine')}", made)
    assert "does not match the name on the URL" in status_of(response, 400)["message"]


# -- provenance -----------------------------------------------------------------------------


def test_a_locked_receiver_cannot_go_back_to_none_on_either_api(client: Client) -> None:
    made = created(client, "receivers", receiver("locked", email("em-lock"), provenance="api"))
    assert made["metadata"]["annotations"][PROVENANCE] == "api"
    unlocked = copy.deepcopy(made)
    del unlocked["metadata"]["annotations"][PROVENANCE]
    refused = status_of(client.apis("PUT", f"receivers/{b64url('locked')}", unlocked), 403)
    assert refused["details"]["uid"] == "alerting.notifications.invalidProvenance"
    (legacy,) = client.call("GET", f"{PROV}/contact-points", params={"name": "locked"}).json()
    response = client.call(
        "PUT", f"{PROV}/contact-points/em-lock", legacy, headers={"X-Disable-Provenance": "true"}
    )
    assert response.status_code == 403
    assert response.json()["messageId"] == "alerting.notifications.invalidProvenance"
    kept = client.apis("PUT", f"receivers/{b64url('locked')}", made)  # still "api": fine
    assert kept.status_code == 200, kept.text
    # A DELETE passes the stored provenance (v1beta1 legacy_storage.go Delete): it goes.
    gone = client.apis("DELETE", f"receivers/{b64url('locked')}")
    assert gone.status_code == 200, gone.text
    assert client.call("GET", f"{PROV}/contact-points", params={"name": "locked"}).json() == []


def test_a_legacy_locked_interval_is_locked_on_the_app_api(client: Client) -> None:
    body = {"name": "weekend", "time_intervals": [{"weekdays": ["saturday", "sunday"]}]}
    assert client.call("POST", f"{PROV}/mute-timings", body).status_code == 201
    item = client.apis("GET", f"timeintervals/{b64url('weekend')}").json()
    assert item["metadata"]["annotations"][PROVENANCE] == "api"
    item["metadata"]["annotations"][PROVENANCE] = "none"
    response = client.apis("PUT", f"timeintervals/{b64url('weekend')}", item)
    assert status_of(response, 403)["details"]["uid"] == "alerting.notifications.invalidProvenance"
    gone = client.apis("DELETE", f"timeintervals/{b64url('weekend')}")
    assert gone.status_code == 200, gone.text
    assert client.call("GET", f"{PROV}/mute-timings").json() == []


def test_an_unknown_provenance_is_refused(client: Client) -> None:
    response = client.apis("POST", "receivers", receiver("odd", email("em-odd"), provenance="x"))
    assert "invalid provenance status: x" in status_of(response, 400)["message"]


def test_manager_annotations_and_labels_are_not_kept(client: Client) -> None:
    body = receiver("managed", email("em-mgd"), provenance="api")
    body["metadata"]["annotations"].update(
        {"grafana.app/managedBy": "terraform", "grafana.app/managerId": "stack-a"}
    )
    body["metadata"]["labels"] = {"team": "a"}
    made = created(client, "receivers", body)
    got = client.apis("GET", f"receivers/{made['metadata']['name']}").json()
    for item in (made, got):
        assert "grafana.app/managedBy" not in item["metadata"]["annotations"]
        assert "grafana.app/managerId" not in item["metadata"]["annotations"]
        assert "labels" not in item["metadata"]


# -- secrets --------------------------------------------------------------------------------


def test_an_update_keeps_a_secret_marked_in_secure_fields(
    client: Client, grafana: FakeGrafana
) -> None:
    made = created(client, "receivers", receiver("secret", telegram("tg-s")))
    (integration,) = made["spec"]["integrations"]
    assert "bottoken" not in integration["settings"]
    assert integration["secureFields"] == {"bottoken": True}
    integration["settings"]["chatid"] = "-999"  # secureFields left as read: keep the token
    response = client.apis("PUT", f"receivers/{b64url('secret')}", made)
    assert response.status_code == 200, response.text
    assert TOKEN not in response.text
    stored = grafana.state.contact_points["tg-s"]["settings"]
    assert stored == {"bottoken": TOKEN, "chatid": "-999"}


def test_a_secret_sent_in_settings_replaces_the_stored_one(
    client: Client, grafana: FakeGrafana
) -> None:
    made = created(client, "receivers", receiver("rotate", telegram("tg-r")))
    (integration,) = made["spec"]["integrations"]
    integration["settings"]["bottoken"] = "654321:NEW"
    del integration["secureFields"]
    response = client.apis("PUT", f"receivers/{b64url('rotate')}", made)
    assert response.status_code == 200, response.text
    assert grafana.state.contact_points["tg-r"]["settings"]["bottoken"] == "654321:NEW"
    assert response.json()["metadata"]["resourceVersion"] != made["metadata"]["resourceVersion"]


def test_a_secret_is_kept_only_for_an_integration_sent_with_its_uid(client: Client) -> None:
    made = created(client, "receivers", receiver("no-uid", telegram("tg-n")))
    (integration,) = made["spec"]["integrations"]
    del integration["uid"]  # a new integration: secureFields cannot fetch anything
    response = client.apis("PUT", f"receivers/{b64url('no-uid')}", made)
    body = status_of(response, 400)
    assert body["details"]["uid"] == "alerting.notifications.receivers.invalid"
    assert "Bot Token" in body["message"]


def test_a_new_integration_must_carry_its_secrets(client: Client, grafana: FakeGrafana) -> None:
    no_token = telegram("tg-none")
    del no_token["settings"]["bottoken"]
    response = client.apis("POST", "receivers", receiver("tokenless", no_token))
    assert status_of(response, 400)["details"]["uid"] == "alerting.notifications.receivers.invalid"
    assert "tg-none" not in grafana.state.contact_points


# -- renames and deletes --------------------------------------------------------------------


def test_a_renamed_receiver_is_renamed_in_the_routes(client: Client) -> None:
    made = created(client, "receivers", receiver("before", email("em-ren")))
    tree = client.call("GET", f"{PROV}/policies").json()
    tree["routes"] = [{"receiver": "before", "object_matchers": [["team", "=", "a"]]}]
    assert client.call("PUT", f"{PROV}/policies", tree).status_code == 202
    made["spec"]["title"] = "after"
    response = client.apis("PUT", f"receivers/{b64url('before')}", made)
    assert response.status_code == 200, response.text
    assert response.json()["metadata"]["name"] == b64url("after")
    assert client.call("GET", f"{PROV}/policies").json()["routes"][0]["receiver"] == "after"
    status_of(client.apis("GET", f"receivers/{b64url('before')}"), 404)


def test_deleting_a_receiver_in_use_is_a_conflict(client: Client) -> None:
    name = b64url(DEFAULT_RECEIVER)
    body = status_of(client.apis("DELETE", f"receivers/{name}"), 409)
    assert body["details"]["uid"] == "alerting.notifications.receivers.used"
    assert {"field": "UsedByRoutes", "message": "true"} in body["details"]["causes"]


def test_deleting_a_receiver_returns_it_and_removes_it_from_both_apis(client: Client) -> None:
    created(client, "receivers", receiver("short-lived", email("em-del")))
    response = client.apis("DELETE", f"receivers/{b64url('short-lived')}")
    assert response.status_code == 200 and response.json()["spec"]["title"] == "short-lived"
    assert client.call("GET", f"{PROV}/contact-points", params={"name": "short-lived"}).json() == []
    missing = status_of(client.apis("GET", f"receivers/{b64url('short-lived')}"), 404)
    assert missing["details"]["uid"] == "alerting.notifications.receivers.notFound"


def test_a_delete_precondition_must_match(client: Client) -> None:
    made = created(client, "receivers", receiver("guarded", email("em-g")))
    stale = {"preconditions": {"resourceVersion": "ffffffffffffffff"}}
    response = client.apis("DELETE", f"receivers/{b64url('guarded')}", stale)
    status_of(response, 409)
    fresh = {"preconditions": {"resourceVersion": made["metadata"]["resourceVersion"]}}
    assert client.apis("DELETE", f"receivers/{b64url('guarded')}", fresh).status_code == 200


def test_a_name_that_is_not_base64url_is_a_kubernetes_not_found(client: Client) -> None:
    body = status_of(client.apis("GET", "receivers/not=base64"), 404)
    assert body["details"] == {
        "name": "not=base64",
        "group": "notifications.alerting.grafana.app",
        "kind": "receivers",
    }


# -- namespaces -----------------------------------------------------------------------------


def test_org_namespaces_address_their_own_org(client: Client, grafana: FakeGrafana) -> None:
    created(client, "receivers", receiver("org-two team", email("em-org2")))
    response = client.apis("POST", "receivers", receiver("second", email("em-2")), ns="org-2")
    assert response.status_code == 201
    assert response.json()["metadata"]["namespace"] == "org-2"
    assert "em-2" in grafana.org_state(2).contact_points
    assert "em-2" not in grafana.state.contact_points
    legacy = client.call("GET", f"{PROV}/contact-points", headers={"X-Grafana-Org-Id": "2"}).json()
    assert "second" in {cp["name"] for cp in legacy}
    status_of(client.apis("GET", "receivers", ns="org-1"), 403)  # "use default"


# -- the routing tree -----------------------------------------------------------------------

LEGACY_TREE: dict[str, Any] = {
    "receiver": DEFAULT_RECEIVER,
    "group_by": ["alertname"],
    "group_wait": "30s",
    "repeat_interval": "4h",
    "routes": [
        {
            "receiver": DEFAULT_RECEIVER,
            "match": {"team": "a"},
            "match_re": {"env": "prod|staging"},
            "matchers": ["severity=critical"],
            "object_matchers": [["service", "!=", "db"]],
            "continue": True,
            "mute_time_intervals": ["nights"],
            "active_time_intervals": ["weekdays"],
            "group_interval": "5m",
            "routes": [{"object_matchers": [["dataset", "=~", "d.*"]]}],
        }
    ],
}


def interval(name: str, provenance: str | None = None) -> dict[str, Any]:
    meta = {} if provenance is None else {"annotations": {PROVENANCE: provenance}}
    spec = {
        "name": name,
        "time_intervals": [{"times": [{"start_time": "00:00", "end_time": "06:00"}]}],
    }
    return {"apiVersion": API_VERSION, "kind": "TimeInterval", "metadata": meta, "spec": spec}


def test_a_legacy_tree_reads_back_as_the_routing_tree_spec(client: Client) -> None:
    for name in ("nights", "weekdays"):
        created(client, "timeintervals", interval(name))
    assert client.call("PUT", f"{PROV}/policies", LEGACY_TREE).status_code == 202
    item = client.apis("GET", "routingtrees/user-defined").json()
    assert item["metadata"]["name"] == "user-defined"
    assert item["metadata"]["annotations"][PROVENANCE] == "api"
    assert item["spec"]["defaults"] == {
        "receiver": DEFAULT_RECEIVER,
        "group_by": ["alertname"],
        "group_wait": "30s",
        "repeat_interval": "4h",
    }
    (route,) = item["spec"]["routes"]
    assert route["matchers"] == [
        {"label": "team", "type": "=", "value": "a"},
        {"label": "env", "type": "=~", "value": "prod|staging"},
        {"label": "severity", "type": "=", "value": "critical"},
        {"label": "service", "type": "!=", "value": "db"},
    ]
    assert route["continue"] is True
    assert route["mute_time_intervals"] == ["nights"]
    assert route["active_time_intervals"] == ["weekdays"]
    assert route["group_interval"] == "5m"
    assert route["routes"] == [
        {"matchers": [{"label": "dataset", "type": "=~", "value": "d.*"}], "continue": False}
    ]
    assert client.apis("GET", "routingtrees/default").json() == item


def test_a_routing_tree_written_through_the_app_api_is_the_legacy_tree(client: Client) -> None:
    item = client.apis("GET", "routingtrees/user-defined").json()
    item["metadata"]["annotations"] = {PROVENANCE: "api"}
    item["spec"] = {
        "defaults": {"receiver": DEFAULT_RECEIVER, "group_by": ["alertname"], "group_wait": "60s"},
        "routes": [
            {
                "receiver": DEFAULT_RECEIVER,
                "matchers": [
                    {"label": "team", "type": "=", "value": "b"},
                    {"label": "app", "type": "=~", "value": "x|y"},
                ],
                "continue": False,
                "repeat_interval": "90m",
                "routes": [{"continue": True, "group_by": ["host"]}],
            }
        ],
    }
    response = client.apis("PUT", "routingtrees/user-defined", item)
    assert response.status_code == 200, response.text
    legacy = client.call("GET", f"{PROV}/policies").json()
    assert legacy == {
        "receiver": DEFAULT_RECEIVER,
        "group_by": ["alertname"],
        "group_wait": "1m",
        "provenance": "api",
        "routes": [
            {
                "receiver": DEFAULT_RECEIVER,
                # labels.Matchers order: by name, then value, then type
                "object_matchers": [["app", "=~", "x|y"], ["team", "=", "b"]],
                "repeat_interval": "1h30m",
                "routes": [{"group_by": ["host"], "continue": True}],
            }
        ],
    }
    assert response.json()["spec"]["defaults"]["group_wait"] == "1m"


def test_a_tree_without_routes_reads_null_routes_and_round_trips(client: Client) -> None:
    item = client.apis("GET", "routingtrees/user-defined").json()
    assert item["spec"]["routes"] is None  # RoutingTreeSpec.Routes: nil, no omitempty
    response = client.apis("PUT", "routingtrees/user-defined", item)
    assert response.status_code == 200, response.text


def test_without_the_toggle_only_the_default_tree_exists(client: Client) -> None:
    """routes service managedRoutesEnabled() off: CreateManagedRoute is
    ErrMultipleRoutesNotSupported (errutil.NotImplemented), any other name ErrRouteNotFound."""
    item = client.apis("GET", "routingtrees/user-defined").json()
    item["metadata"] = {"name": "team-a"}
    refused = status_of(client.apis("POST", "routingtrees", item), 501)
    assert refused["details"]["uid"] == "alerting.notifications.routes.multipleNotSupported"
    assert refused["message"] == (
        'Multiple routes are not supported, see feature toggle "alertingMultiplePolicies"'
    )
    missing = status_of(client.apis("GET", "routingtrees/team-a"), 404)
    assert missing["details"]["uid"] == "alerting.notifications.routes.notFound"
    assert missing["message"] == "Route not found"
    listed = client.apis("GET", "routingtrees").json()["items"]
    assert [tree["metadata"]["name"] for tree in listed] == ["user-defined"]


def test_a_stale_routing_tree_is_a_conflict(client: Client) -> None:
    item = client.apis("GET", "routingtrees/user-defined").json()
    assert client.call("PUT", f"{PROV}/policies", {**LEGACY_TREE, "routes": []}).status_code == 202
    response = client.apis("PUT", "routingtrees/user-defined", item)
    assert status_of(response, 409)["details"]["uid"] == "alerting.notifications.conflict"


def test_deleting_the_tree_resets_it_even_when_locked(client: Client) -> None:
    """The v1beta1 storage's Delete passes the tree's own provenance to DeleteManagedRoute, so
    the transition check passes and the default tree is reset; a PUT that drops the
    provenance is still refused."""
    assert client.call("PUT", f"{PROV}/policies", {**LEGACY_TREE, "routes": []}).status_code == 202
    item = client.apis("GET", "routingtrees/user-defined").json()
    del item["metadata"]["annotations"][PROVENANCE]
    refused = client.apis("PUT", "routingtrees/user-defined", item)
    assert status_of(refused, 403)["details"]["uid"] == "alerting.notifications.invalidProvenance"
    assert client.apis("DELETE", "routingtrees/user-defined").status_code == 200
    assert client.call("GET", f"{PROV}/policies").json() == {
        "receiver": DEFAULT_RECEIVER,
        "group_by": ["grafana_folder", "alertname"],
    }


def test_a_route_with_a_bad_duration_or_regex_is_refused_and_recorded(
    client: Client, grafana: FakeGrafana
) -> None:
    item = client.apis("GET", "routingtrees/user-defined").json()
    item["spec"]["routes"] = [
        {"continue": False, "group_wait": "soon"},
        {"continue": False, "matchers": [{"label": "a", "type": "=~", "value": "("}]},
    ]
    body = status_of(client.apis("PUT", "routingtrees/user-defined", item), 400)
    assert body["details"]["uid"] == "alerting.notifications.routes.invalidFormat"
    assert "route '.[0]' has invalid format of 'groupWait'" in body["message"]
    assert "route '.[1]' has illegal matcher" in body["message"]
    assert grafana.spec_violations[-1]["operation"] == "replaceRoutingTree"


# -- time intervals -------------------------------------------------------------------------


def test_intervals_cross_the_two_apis_with_their_version(client: Client) -> None:
    made = created(client, "timeintervals", interval("nights"))
    assert made["metadata"]["name"] == b64url("nights")
    assert made["metadata"]["annotations"] == {PROVENANCE: "", "grafana.com/canUse": "true"}
    legacy = client.call("GET", f"{PROV}/mute-timings/nights").json()
    assert legacy["time_intervals"] == made["spec"]["time_intervals"]
    assert legacy["version"] == made["metadata"]["resourceVersion"]
    assert "provenance" not in legacy
    body = {
        "name": "lunch",
        "time_intervals": [{"times": [{"start_time": "12:00", "end_time": "13:00"}]}],
    }
    client.call("POST", f"{PROV}/mute-timings", body, headers={"X-Disable-Provenance": "1"})
    item = client.apis("GET", f"timeintervals/{b64url('lunch')}").json()
    assert item["spec"] == body
    assert (
        item["metadata"]["resourceVersion"]
        == client.call("GET", f"{PROV}/mute-timings/lunch").json()["version"]
    )


def test_an_interval_in_use_cannot_be_deleted(client: Client) -> None:
    created(client, "timeintervals", interval("nights"))
    tree = {"receiver": DEFAULT_RECEIVER, "routes": [{"mute_time_intervals": ["nights"]}]}
    assert client.call("PUT", f"{PROV}/policies", tree).status_code == 202
    response = client.apis("DELETE", f"timeintervals/{b64url('nights')}")
    assert (
        status_of(response, 409)["details"]["uid"] == "alerting.notifications.time-intervals.used"
    )


def test_a_renamed_interval_follows_in_the_routes(client: Client) -> None:
    made = created(client, "timeintervals", interval("nights"))
    tree = {"receiver": DEFAULT_RECEIVER, "routes": [{"mute_time_intervals": ["nights"]}]}
    assert client.call("PUT", f"{PROV}/policies", tree).status_code == 202
    made["spec"]["name"] = "late nights"
    response = client.apis("PUT", f"timeintervals/{b64url('nights')}", made)
    assert response.status_code == 200, response.text
    assert response.json()["metadata"]["name"] == b64url("late nights")
    routes = client.call("GET", f"{PROV}/policies").json()["routes"]
    assert routes[0]["mute_time_intervals"] == ["late nights"]


def test_an_invalid_interval_is_refused_and_recorded(client: Client, grafana: FakeGrafana) -> None:
    body = interval("broken")
    body["spec"]["time_intervals"] = [{"weekdays": ["funday"]}]
    response = client.apis("POST", "timeintervals", body)
    assert (
        status_of(response, 400)["details"]["uid"]
        == "alerting.notifications.time-intervals.invalidFormat"
    )
    assert grafana.spec_violations[-1]["operation"] == "createTimeInterval"
    assert "broken" not in grafana.state.mute_timings


# -- template groups ------------------------------------------------------------------------


def template(title: str, content: str, provenance: str | None = None) -> dict[str, Any]:
    meta = {} if provenance is None else {"annotations": {PROVENANCE: provenance}}
    spec = {"title": title, "content": content, "kind": "grafana"}
    return {"apiVersion": API_VERSION, "kind": "TemplateGroup", "metadata": meta, "spec": spec}


def test_templates_cross_the_two_apis(client: Client) -> None:
    made = created(
        client, "templategroups", template("drift", '{{ define "drift.title" }}x{{ end }}', "api")
    )
    assert made["metadata"]["name"] == b64url("drift")
    legacy = client.call("GET", f"{PROV}/templates/drift").json()
    assert legacy["template"] == made["spec"]["content"]
    assert legacy["version"] == made["metadata"]["resourceVersion"]
    assert legacy["provenance"] == "api"
    gone = client.apis("DELETE", f"templategroups/{b64url('drift')}")  # the stored provenance
    assert gone.status_code == 200, gone.text
    assert client.call("GET", f"{PROV}/templates/drift").status_code == 404
    put = {"template": "plain text"}
    client.call("PUT", f"{PROV}/templates/other", put, headers={"X-Disable-Provenance": "1"})
    item = client.apis("GET", f"templategroups/{b64url('other')}").json()
    assert item["spec"] == {
        "title": "other",
        "content": '{{ define "other" }}\n  plain text\n{{ end }}',
        "kind": "grafana",
    }


def test_the_builtin_template_is_listed_and_reserved(client: Client) -> None:
    items = client.apis("GET", "templategroups").json()["items"]
    assert items[0]["spec"]["title"] == "__default__"
    assert items[0]["metadata"]["annotations"][PROVENANCE] == "system"
    response = client.apis("POST", "templategroups", template("__default__", "x"))
    assert "reserved" in status_of(response, 400)["message"]


def test_a_template_with_bad_syntax_or_a_taken_title_is_refused(client: Client) -> None:
    response = client.apis("POST", "templategroups", template("broken", "{{ if }}"))
    assert (
        status_of(response, 400)["details"]["uid"]
        == "alerting.notifications.templates.invalidFormat"
    )
    created(client, "templategroups", template("once", "x"))
    again = client.apis("POST", "templategroups", template("once", "y"))
    assert status_of(again, 400)["details"]["uid"] == "alerting.notifications.templates.nameExists"


def test_a_template_can_be_renamed_and_deleted(client: Client) -> None:
    made = created(client, "templategroups", template("first", "x"))
    made["spec"]["title"] = "second"
    response = client.apis("PUT", f"templategroups/{b64url('first')}", made)
    assert response.status_code == 200, response.text
    assert client.call("GET", f"{PROV}/templates/first").status_code == 404
    assert client.apis("DELETE", f"templategroups/{b64url('second')}").status_code == 200
    assert client.call("GET", f"{PROV}/templates/second").status_code == 404


# -- schema validation ----------------------------------------------------------------------


def test_bodies_outside_the_snapshot_schema_are_refused_and_recorded(
    client: Client, grafana: FakeGrafana
) -> None:
    no_version = {k: v for k, v in email("em-s").items() if k != "version"}
    response = client.apis("POST", "receivers", receiver("schema", no_version))
    assert status_of(response, 400)["reason"] == "BadRequest"
    violation = grafana.spec_violations[-1]
    assert violation["operation"] == "createReceiver"
    assert "version" in violation["errors"][0]
    unknown = receiver("schema", email("em-s"))
    unknown["spec"]["color"] = "blue"
    status_of(client.apis("POST", "receivers", unknown), 400)
    wrong_kind = {**receiver("schema", email("em-s")), "kind": "TimeInterval"}
    status_of(client.apis("POST", "receivers", wrong_kind), 400)
    assert len(grafana.spec_violations) == 3
    assert "em-s" not in grafana.state.contact_points


# -- the test subresource -------------------------------------------------------------------


def test_testing_a_stored_integration_by_reference(client: Client, grafana: FakeGrafana) -> None:
    created(client, "receivers", receiver("tested", telegram("tg-t")))
    body = {"integrationRef": {"uid": "tg-t"}, "alert": {"labels": {"a": "b"}, "annotations": {}}}
    response = client.apis("POST", f"receivers/{b64url('tested')}/test", body)
    assert response.status_code == 200
    assert response.json()["status"] == "success"
    sent = grafana.sent_test_notifications[-1]
    assert sent["settings"]["bottoken"] == TOKEN and sent["alert"]["labels"]["a"] == "b"


def test_testing_an_edited_integration_keeps_its_stored_secret(
    client: Client, grafana: FakeGrafana
) -> None:
    created(client, "receivers", receiver("edited", telegram("tg-e")))
    integration = {"uid": "tg-e", "type": "telegram", "settings": {"chatid": "-7"}}
    integration["secureFields"] = {"bottoken": True}
    body = {"integration": integration, "alert": {"labels": {}, "annotations": {}}}
    response = client.apis("POST", f"receivers/{b64url('edited')}/test", body)
    assert response.status_code == 200, response.text
    assert grafana.sent_test_notifications[-1]["settings"] == {"bottoken": TOKEN, "chatid": "-7"}


def test_testing_a_new_receiver_and_a_failed_delivery() -> None:
    with FakeGrafana(version="13.2", telegram_valid_tokens={"good"}) as server:
        client = Client(server)
        integration = telegram(bottoken="bad")
        body = {"integration": integration, "alert": {"labels": {}, "annotations": {}}}
        response = client.apis("POST", "receivers/-/test", body)
        assert response.status_code == 200
        result = response.json()
        assert result["status"] == "failure" and "Unauthorized" in result["error"]


def test_test_requests_the_handler_refuses(client: Client, grafana: FakeGrafana) -> None:
    created(client, "receivers", receiver("checked", telegram("tg-c")))
    path = f"receivers/{b64url('checked')}/test"
    alert = {"labels": {}, "annotations": {}}
    both = {"integration": telegram("tg-c"), "integrationRef": {"uid": "tg-c"}, "alert": alert}
    response = client.apis("POST", path, both)
    assert response.status_code == 400
    assert response.json()["messageId"] == "alerting.notifications.receivers.testing.invalid"
    missing = client.apis("POST", path, {"integrationRef": {"uid": "nope"}, "alert": alert})
    assert missing.status_code == 404
    assert (
        missing.json()["messageId"]
        == "alerting.notifications.receivers.testing.integrationNotFound"
    )
    ref_for_new = client.apis(
        "POST", "receivers/-/test", {"integrationRef": {"uid": "tg-c"}, "alert": alert}
    )
    assert ref_for_new.status_code == 400
    malformed = client.apis("POST", path, {"integration": "telegram", "alert": alert})
    assert malformed.status_code == 400
    assert grafana.spec_violations[-1]["operation"] == "createReceiverTest"


# -- named routing trees (alertingMultiplePolicies) -----------------------------------------
# Expected values from grafana/grafana: the routes service (provisioning/routes), the
# config revision's CreateManagedRoute and its tests, models/errors.go, models/notifications.go.

MULTIPLE = "alertingMultiplePolicies"


@pytest.fixture
def named(grafana: FakeGrafana) -> Client:
    grafana.features.add(MULTIPLE)
    return Client(grafana)


def tree(name: str, receiver: str = DEFAULT_RECEIVER, provenance: str | None = None) -> dict:
    meta: dict[str, Any] = {"name": name}
    if provenance is not None:
        meta["annotations"] = {PROVENANCE: provenance}
    spec = {
        "defaults": {"receiver": receiver, "group_by": ["alertname"]},
        "routes": [
            {
                "receiver": receiver,
                "matchers": [{"label": "team", "type": "=", "value": "a"}],
                "continue": False,
            }
        ],
    }
    return {"apiVersion": API_VERSION, "kind": "RoutingTree", "metadata": meta, "spec": spec}


def test_a_named_tree_is_created_listed_read_updated_and_deleted(named: Client) -> None:
    made = created(named, "routingtrees", tree("stack-b", provenance="api"))
    assert made["metadata"]["name"] == "stack-b"
    assert made["metadata"]["annotations"][PROVENANCE] == "api"
    assert made["spec"]["defaults"] == {"receiver": DEFAULT_RECEIVER, "group_by": ["alertname"]}
    created(named, "routingtrees", tree("stack-a"))
    # ManagedRoutes.Sort: named trees by name, the default tree last.
    names = [t["metadata"]["name"] for t in named.apis("GET", "routingtrees").json()["items"]]
    assert names == ["stack-a", "stack-b", "user-defined"]
    read = named.apis("GET", "routingtrees/stack-b").json()
    assert read == made
    read["spec"]["defaults"]["group_wait"] = "1m"
    updated = named.apis("PUT", "routingtrees/stack-b", read)
    assert updated.status_code == 200, updated.text
    assert updated.json()["spec"]["defaults"]["group_wait"] == "1m"
    assert updated.json()["metadata"]["resourceVersion"] != read["metadata"]["resourceVersion"]
    # The legacy endpoint still shows the default tree only.
    assert named.call("GET", f"{PROV}/policies").json() == {
        "receiver": DEFAULT_RECEIVER,
        "group_by": ["grafana_folder", "alertname"],
    }
    assert named.apis("DELETE", "routingtrees/stack-b").status_code == 200
    status_of(named.apis("GET", "routingtrees/stack-b"), 404)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "route name is required"),
        ("   ", "route name is required"),
        ("my:route", "managed route name cannot contain invalid character ':'"),
        ("a" * 41, "managed route name cannot be longer than 40 characters"),
        ("MyRoute", "managed route name must be a valid DNS subdomain"),
        ("my route", "managed route name must be a valid DNS subdomain"),
        ("my_route", "managed route name must be a valid DNS subdomain"),
        ("-myroute", "managed route name must be a valid DNS subdomain"),
        ("myroute-", "managed route name must be a valid DNS subdomain"),
    ],
)
def test_a_bad_tree_name_is_an_invalid_route(named: Client, name: str, reason: str) -> None:
    body = status_of(named.apis("POST", "routingtrees", tree(name)), 400)
    assert body["details"]["uid"] == "alerting.notifications.routes.invalidFormat"
    assert body["message"].startswith(f"Invalid format of the submitted route: {reason}")


@pytest.mark.parametrize("name", ["a" * 40, "my-route-1", "my.route.name"])
def test_a_good_tree_name_is_accepted(named: Client, name: str) -> None:
    assert created(named, "routingtrees", tree(name))["metadata"]["name"] == name


@pytest.mark.parametrize("name", ["user-defined", "default"])
def test_the_default_tree_names_are_reserved(named: Client, name: str) -> None:
    body = status_of(named.apis("POST", "routingtrees", tree(name)), 409)
    assert body["details"]["uid"] == "alerting.notifications.routes.exists"


def test_a_taken_tree_name_is_a_conflict(named: Client) -> None:
    created(named, "routingtrees", tree("stack-a"))
    body = status_of(named.apis("POST", "routingtrees", tree("stack-a")), 409)
    assert body["details"]["uid"] == "alerting.notifications.routes.exists"
    assert body["message"] == (
        "Route with this name already exists. Use a different name or update an existing one."
    )


def test_a_named_tree_needs_a_root_receiver_that_exists(named: Client) -> None:
    for receiver, reason in (
        ("", "root route must specify a default receiver"),
        ("nobody", "receiver 'nobody' does not exist"),
    ):
        body = status_of(named.apis("POST", "routingtrees", tree("stack-a", receiver)), 400)
        assert body["details"]["uid"] == "alerting.notifications.routes.invalidFormat"
        assert reason in body["message"]
    status_of(named.apis("GET", "routingtrees/stack-a"), 404)


def test_a_stale_named_tree_is_a_route_version_conflict(named: Client) -> None:
    made = created(named, "routingtrees", tree("stack-a"))
    current = made["metadata"]["resourceVersion"]
    for wanted in ("stale", ""):  # checkOptimisticConcurrency compares always
        made["metadata"]["resourceVersion"] = wanted
        body = status_of(named.apis("PUT", "routingtrees/stack-a", made), 409)
        assert body["details"]["uid"] == "alerting.notifications.routes.conflict"
        assert body["message"] == (
            f"Provided version '{wanted}' of route 'stack-a' does not match current version "
            f"'{current}'"
        )
    stale = {"preconditions": {"resourceVersion": "stale"}}
    status_of(named.call("DELETE", f"{APIS}/default/routingtrees/stack-a", stale), 409)


def test_a_locked_named_tree_keeps_its_provenance_but_can_be_deleted(named: Client) -> None:
    made = created(named, "routingtrees", tree("stack-a", provenance="api"))
    del made["metadata"]["annotations"][PROVENANCE]
    refused = named.apis("PUT", "routingtrees/stack-a", made)
    assert status_of(refused, 403)["details"]["uid"] == "alerting.notifications.invalidProvenance"
    assert named.apis("DELETE", "routingtrees/stack-a").status_code == 200
    status_of(named.apis("GET", "routingtrees/stack-a"), 404)


def test_a_receiver_in_a_named_tree_is_in_use_and_renamed_with_it(
    named: Client, grafana: FakeGrafana
) -> None:
    made = created(named, "receivers", receiver("team-a", telegram("tg-a")))
    created(named, "routingtrees", tree("stack-a", "team-a"))
    used = status_of(named.apis("DELETE", f"receivers/{made['metadata']['name']}"), 409)
    assert used["details"]["uid"] == "alerting.notifications.receivers.used"
    legacy = named.call("DELETE", f"{PROV}/contact-points/tg-a")
    assert legacy.status_code == 409
    assert legacy.json()["messageId"] == "alerting.notifications.contact-points.referenced"
    renamed = named.call(
        "PUT", f"{PROV}/contact-points/tg-a", {**telegram("tg-a"), "name": "team-b"}
    )
    assert renamed.status_code == 202, renamed.text
    spec = named.apis("GET", "routingtrees/stack-a").json()["spec"]
    assert spec["defaults"]["receiver"] == "team-b"
    assert spec["routes"][0]["receiver"] == "team-b"


# -- rules that select a named tree ---------------------------------------------------------

RULES = f"{PROV}/folder/drift/rule-groups/drift"


def policy_group(settings: dict[str, Any]) -> dict[str, Any]:
    """A rule group of one always-firing math rule with these notification settings."""
    rule = {
        "uid": "drift-rule",
        "title": "Drift",
        "ruleGroup": "drift",
        "folderUID": "drift",
        "orgID": 1,
        "condition": "A",
        "for": "0s",
        "noDataState": "NoData",
        "execErrState": "Error",
        "data": [
            {
                "refId": "A",
                "relativeTimeRange": {"from": 0, "to": 0},
                "datasourceUid": "__expr__",
                "model": {"refId": "A", "type": "math", "expression": "1 > 0"},
            }
        ],
        "notification_settings": settings,
    }
    return {"title": "drift", "folderUid": "drift", "interval": 60, "rules": [rule]}


def test_a_rule_selects_a_named_tree(named: Client, grafana: FakeGrafana) -> None:
    grafana.seed_folder("drift", "Drift")
    created(named, "routingtrees", tree("stack-a"))
    settings = {"receiver": "", "policy": "stack-a"}  # what the 13.x UI sends (PR #120610)
    response = named.call("PUT", RULES, policy_group(settings))
    assert response.status_code == 200, response.text
    (stored,) = named.call("GET", RULES).json()["rules"]
    assert stored["notification_settings"] == {"receiver": "", "policy": "stack-a"}
    single = named.call("GET", f"{PROV}/alert-rules/drift-rule").json()
    assert single["notification_settings"] == {"receiver": "", "policy": "stack-a"}
    # DeleteManagedRoute checks no rule: the tree goes, the rule keeps its setting.
    assert named.apis("DELETE", "routingtrees/stack-a").status_code == 200
    (kept,) = named.call("GET", RULES).json()["rules"]
    assert kept["notification_settings"]["policy"] == "stack-a"


@pytest.mark.parametrize(
    ("settings", "reason"),
    [
        # the validator's ErrorRouteDoesNotExist (the wording after its siblings)
        ({"receiver": "", "policy": "nowhere"}, "route nowhere does not exist"),
        (
            {"receiver": DEFAULT_RECEIVER, "policy": "stack-a"},
            "only one of policy routing or contact point routing can be specified",
        ),
        (
            {"receiver": "", "policy": "user-defined"},
            'policy routing should not explicitly point to the default tree: "user-defined"',
        ),
    ],
)
def test_a_rule_with_a_bad_policy_is_refused(
    named: Client, grafana: FakeGrafana, settings: dict[str, Any], reason: str
) -> None:
    grafana.seed_folder("drift", "Drift")
    created(named, "routingtrees", tree("stack-a"))
    response = named.call("PUT", RULES, policy_group(settings))
    assert response.status_code == 400
    assert response.json()["message"] == f"invalid alert rule\n{reason}"
    assert grafana.state.rule_groups == {}


def test_without_the_toggle_a_rule_cannot_select_a_tree(
    client: Client, grafana: FakeGrafana
) -> None:
    grafana.seed_folder("drift", "Drift")
    response = client.call("PUT", RULES, policy_group({"receiver": "", "policy": "stack-a"}))
    assert response.status_code == 400
    assert response.json()["message"] == "invalid alert rule\nroute stack-a does not exist"


@pytest.mark.parametrize("version", ["11.6", "12.4"])
def test_before_13_the_policy_is_dropped_and_the_rule_has_no_receiver(version: str) -> None:
    """The 11.4 spec has no ``policy``: Go drops it and the validator finds no receiver."""
    with FakeGrafana(version=version, features={MULTIPLE}) as old:
        old.seed_folder("drift", "Drift")
        body = policy_group({"receiver": "", "policy": "stack-a"})
        response = Client(old).call("PUT", RULES, body)
        assert response.status_code == 400
        assert response.json()["message"] == "invalid alert rule\nreceiver must be specified"
        assert old.state.rule_groups == {}
