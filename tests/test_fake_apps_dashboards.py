"""The fake Grafana 13.2's dashboard.grafana.app/v1 and folder.grafana.app/v1 over HTTP: the
Kubernetes semantics, and the same objects seen through /api. Expected values come from
Grafana's source as cited in tests/fake_apps_dashboards.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from fake_grafana import FakeGrafana

DASH = "/apis/dashboard.grafana.app/v1/namespaces/{ns}/dashboards"
FOLD = "/apis/folder.grafana.app/v1/namespaces/{ns}/folders"
CONFLICT = (
    'Operation cannot be fulfilled on dashboards.dashboard.grafana.app "{name}": the object has '
    "been modified; please apply your changes to the latest version and try again"
)


class Client:
    """Basic-auth admin requests against one fake, with paths relative to it."""

    def __init__(self, fake: FakeGrafana) -> None:
        self.fake = fake
        self.session = requests.Session()
        self.session.auth = ("admin", "admin")

    def __call__(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, self.fake.url + path, timeout=10, **kwargs)

    def dashboards(self, name: str = "", ns: str = "default") -> str:
        return DASH.format(ns=ns) + (f"/{name}" if name else "")

    def folders(self, name: str = "", ns: str = "default") -> str:
        return FOLD.format(ns=ns) + (f"/{name}" if name else "")


@pytest.fixture
def grafana() -> Iterator[FakeGrafana]:
    """The 13.2 profile, the one serving these APIs (not conftest's per-profile ``fake``)."""
    with FakeGrafana(version="13.2", orgs=(1, 2)) as server:
        yield server
        assert server.internal_errors == []
        assert server.unknown_requests == []


@pytest.fixture
def api(grafana: FakeGrafana) -> Client:
    return Client(grafana)


def dashboard(name: str, title: str = "Drift", folder: str = "", **spec: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if folder:
        metadata["annotations"] = {"grafana.app/folder": folder}
    return {
        "apiVersion": "dashboard.grafana.app/v1",
        "kind": "Dashboard",
        "metadata": metadata,
        "spec": {"title": title, "schemaVersion": 42, **spec},
    }


def create(api: Client, body: dict[str, Any], **params: str) -> dict[str, Any]:
    reply = api("POST", api.dashboards(), json=body, params=params)
    assert reply.status_code == 201, reply.text
    return reply.json()


def legacy_save(api: Client, dash: dict[str, Any], folder: str = "") -> requests.Response:
    body = {"dashboard": dash, "folderUid": folder, "overwrite": True}
    return api("POST", "/api/dashboards/db", json=body)


def status_of(reply: requests.Response, code: int) -> dict[str, Any]:
    """The Kubernetes Status failure body of ``reply``, which must have ``code``."""
    assert reply.status_code == code, reply.text
    body = reply.json()
    assert (body["kind"], body["apiVersion"], body["status"]) == ("Status", "v1", "Failure")
    assert body["code"] == code
    return body


# -- dashboards: one object, two APIs ----------------------------------------------------------


def test_a_dashboard_created_through_v1_is_read_through_api(api: Client) -> None:
    assert api("POST", "/api/folders", json={"uid": "ops", "title": "Ops"}).status_code == 200
    body = dashboard("drift", folder="ops", schemaVersion=39, refresh=False, uid="x", version=7)
    body["spec"]["timepicker"] = {"refresh_intervals": ["1m"], "time_options": ["5m"]}
    out = create(api, body)

    metadata = out["metadata"]
    assert (metadata["name"], metadata["namespace"], metadata["generation"]) == (
        "drift",
        "default",
        1,
    )
    assert metadata["resourceVersion"].isdigit() and metadata["uid"]
    assert metadata["annotations"]["grafana.app/folder"] == "ops"
    assert metadata["annotations"]["grafana.app/createdBy"] == "user:admin"
    # mutate.go removes uid/version/id; migration V40 makes refresh a string, V41 drops
    # timepicker.time_options, and the spec ends at schemaVersion 42.
    assert out["spec"] == {
        "title": "Drift",
        "schemaVersion": 42,
        "refresh": "",
        "timepicker": {"refresh_intervals": ["1m"]},
    }
    assert out["status"] == {}

    legacy = api("GET", "/api/dashboards/uid/drift").json()
    assert legacy["meta"]["folderUid"] == "ops"
    assert legacy["meta"]["version"] == 1
    assert legacy["dashboard"]["uid"] == "drift"
    assert legacy["dashboard"]["schemaVersion"] == 42
    assert metadata["labels"] == {
        "grafana.app/deprecatedInternalID": str(legacy["dashboard"]["id"])
    }
    hits = api("GET", "/api/search", params={"query": "Drift"}).json()
    assert [(h["uid"], h["folderUid"]) for h in hits] == [("drift", "ops")]


def test_a_dashboard_saved_through_api_is_migrated_when_read_through_v1(api: Client) -> None:
    hidden = {"id": "custom.hideFrom", "value": {"viz": True, "legend": False}}
    panel = {"type": "timeseries", "fieldConfig": {"overrides": [{"properties": [hidden]}]}}
    saved = {"uid": "legacy", "title": "Legacy", "schemaVersion": 39, "panels": [panel]}
    assert legacy_save(api, saved).status_code == 200

    out = api("GET", api.dashboards("legacy")).json()
    # conversion/v0alpha1_to_v1.go: migrated on read; stored as v0alpha1.
    assert out["status"] == {"conversion": {"failed": False, "storedVersion": "v0alpha1"}}
    assert out["spec"]["schemaVersion"] == 42
    override = out["spec"]["panels"][0]["fieldConfig"]["overrides"][0]["properties"][0]
    assert override["value"] == {"viz": True, "legend": False, "tooltip": True}  # V42
    assert "uid" not in out["spec"] and "version" not in out["spec"]
    assert out["metadata"]["generation"] == 1
    # The stored JSON itself is untouched: /api still reads schemaVersion 39.
    assert api("GET", "/api/dashboards/uid/legacy").json()["dashboard"]["schemaVersion"] == 39


def test_a_dashboard_older_than_schema_version_9_does_not_convert(api: Client) -> None:
    assert legacy_save(api, {"uid": "old", "title": "Old", "schemaVersion": 8}).status_code == 200
    conversion = api("GET", api.dashboards("old")).json()["status"]["conversion"]
    assert conversion["failed"] is True and conversion["storedVersion"] == "v0alpha1"
    assert conversion["error"] == (
        "dashboard schema version 8 cannot be migrated to latest version 42 - migration path "
        "only exists for versions greater than 9"
    )


def test_a_save_through_api_is_a_new_version_that_replaces_the_metadata(api: Client) -> None:
    body = dashboard("tf")
    body["metadata"]["labels"] = {"team": "drift"}
    body["metadata"]["annotations"] = {
        "grafana.app/managedBy": "terraform",
        "grafana.app/managerId": "drift-stack",
    }
    before = create(api, body)["metadata"]

    assert legacy_save(api, {"uid": "tf", "title": "Edited", "version": 1}).status_code == 200
    after = api("GET", api.dashboards("tf")).json()["metadata"]
    assert after["resourceVersion"] != before["resourceVersion"]
    assert after["generation"] == 2
    assert after["uid"] == before["uid"]
    # LegacySaveCommandToUnstructured builds a new object: the manager and labels are gone.
    assert after["labels"] == {
        "grafana.app/deprecatedInternalID": before["labels"]["grafana.app/deprecatedInternalID"]
    }
    assert "grafana.app/managedBy" not in after.get("annotations", {})


def test_a_folder_move_through_v1_is_seen_by_api(api: Client) -> None:
    for uid in ("a", "b"):
        api("POST", "/api/folders", json={"uid": uid, "title": uid.upper()})
    out = create(api, dashboard("moved", folder="a"))
    out["metadata"]["annotations"]["grafana.app/folder"] = "b"
    moved = api("PUT", api.dashboards("moved"), json=out).json()
    assert moved["metadata"]["generation"] == 2  # prepare.go: a folder change is a change
    assert api("GET", "/api/dashboards/uid/moved").json()["meta"]["folderUid"] == "b"


# -- dashboards: resourceVersion and the other write rules ------------------------------------


def test_a_stale_resource_version_is_a_409_conflict(api: Client) -> None:
    first = create(api, dashboard("conc"))
    current = dict(first, spec={**first["spec"], "title": "Second"})
    updated = api("PUT", api.dashboards("conc"), json=current)
    assert updated.status_code == 200
    assert updated.json()["metadata"]["generation"] == 2
    assert updated.json()["metadata"]["resourceVersion"] != first["metadata"]["resourceVersion"]

    stale = dict(first, spec={**first["spec"], "title": "Lost update"})
    body = status_of(api("PUT", api.dashboards("conc"), json=stale), 409)
    assert body["reason"] == "Conflict"
    assert body["message"] == CONFLICT.format(name="conc")
    assert body["details"] == {
        "name": "conc",
        "group": "dashboard.grafana.app",
        "kind": "dashboards",
    }
    assert api("GET", "/api/dashboards/uid/conc").json()["dashboard"]["title"] == "Second"


def test_a_put_without_resource_version_overwrites(api: Client) -> None:
    create(api, dashboard("free"))
    reply = api("PUT", api.dashboards("free"), json=dashboard("free", title="Overwritten"))
    assert reply.status_code == 200  # genericStrategy.AllowUnconditionalUpdate
    assert reply.json()["spec"]["title"] == "Overwritten"


def test_an_unchanged_put_keeps_resource_version_and_generation(api: Client) -> None:
    first = create(api, dashboard("same"))
    again = api("PUT", api.dashboards("same"), json=first).json()["metadata"]
    assert again["resourceVersion"] == first["metadata"]["resourceVersion"]
    assert again["generation"] == 1
    assert "grafana.app/updatedBy" not in again["annotations"]


def test_a_spec_change_stamps_updated_by(api: Client) -> None:
    first = create(api, dashboard("stamp"))
    first["spec"]["title"] = "Stamped"
    annotations = api("PUT", api.dashboards("stamp"), json=first).json()["metadata"]["annotations"]
    assert annotations["grafana.app/updatedBy"] == "user:admin"
    assert annotations["grafana.app/createdBy"] == "user:admin"
    assert annotations["grafana.app/updatedTimestamp"].endswith("Z")


def test_a_put_of_a_missing_name_creates_it_unless_a_version_is_stated(api: Client) -> None:
    created = api("PUT", api.dashboards("new"), json=dashboard("new"))
    assert created.status_code == 201  # genericStrategy.AllowCreateOnUpdate
    body = dashboard("ghost")
    body["metadata"]["resourceVersion"] = "12345"
    missing = status_of(api("PUT", api.dashboards("ghost"), json=body), 404)
    assert missing["message"] == 'dashboards.dashboard.grafana.app "ghost" not found'


def test_a_put_whose_name_differs_from_the_url_is_refused(api: Client) -> None:
    create(api, dashboard("url"))
    body = status_of(api("PUT", api.dashboards("url"), json=dashboard("other")), 400)
    assert body["message"] == (
        "the name of the object (other) does not match the name on the URL (url)"
    )


def test_names_taken_generated_and_defaulted(api: Client) -> None:
    create(api, dashboard("taken"))
    body = status_of(api("POST", api.dashboards(), json=dashboard("taken")), 409)
    assert body["reason"] == "AlreadyExists"
    assert body["message"] == 'dashboards.dashboard.grafana.app "taken" already exists'

    generated = dashboard("")
    generated["metadata"] = {"generateName": "drift-"}
    name = create(api, generated)["metadata"]["name"]
    assert name.startswith("drift-") and len(name) == len("drift-") + 5
    nameless = dashboard("")
    nameless["metadata"] = {}
    name = create(api, nameless)["metadata"]["name"]
    assert name.startswith("g") and len(name) == 6  # builder/admission.go: generateName "g"
    assert api("GET", f"/api/dashboards/uid/{name}").status_code == 200


def test_a_resource_version_on_create_is_refused(api: Client) -> None:
    body = dashboard("rv")
    body["metadata"]["resourceVersion"] = "1"
    reply = api("POST", api.dashboards(), json=body)
    assert reply.status_code == 500
    assert reply.json()["message"] == "resourceVersion should not be set on objects to be created"
    assert "reason" not in reply.json()


# -- dashboards: list ----------------------------------------------------------------------------


def test_list_filters_by_label_and_name_and_pages(api: Client) -> None:
    for name, labels in (("d-a", {"team": "x"}), ("d-b", {"team": "y"}), ("d-c", {})):
        body = dashboard(name)
        body["metadata"]["labels"] = labels
        create(api, body)

    def names(**params: str) -> list[str]:
        reply = api("GET", api.dashboards(), params=params)
        assert reply.status_code == 200, reply.text
        assert reply.json()["kind"] == "DashboardList"
        return [item["metadata"]["name"] for item in reply.json()["items"]]

    assert names() == ["d-a", "d-b", "d-c"]
    assert names(labelSelector="team=x") == ["d-a"]
    assert names(labelSelector="team in (x, y)") == ["d-a", "d-b"]
    assert names(labelSelector="team!=x") == ["d-b", "d-c"]
    assert names(labelSelector="!team") == ["d-c"]
    assert names(labelSelector="team,team notin (y)") == ["d-a"]
    assert names(fieldSelector="metadata.name=d-b") == ["d-b"]
    status_of(api("GET", api.dashboards(), params={"fieldSelector": "spec.title=x"}), 400)

    first = api("GET", api.dashboards(), params={"limit": "2"}).json()
    assert [i["metadata"]["name"] for i in first["items"]] == ["d-a", "d-b"]
    token = first["metadata"]["continue"]
    rest = api("GET", api.dashboards(), params={"limit": "2", "continue": token}).json()
    assert [i["metadata"]["name"] for i in rest["items"]] == ["d-c"]
    assert "continue" not in rest["metadata"]


def test_list_shows_dashboards_saved_through_api(api: Client) -> None:
    assert (
        legacy_save(api, {"uid": "from-api", "title": "A", "schemaVersion": 39}).status_code == 200
    )
    items = api("GET", api.dashboards()).json()["items"]
    assert [(i["metadata"]["name"], i["spec"]["title"]) for i in items] == [("from-api", "A")]


# -- dashboards: delete --------------------------------------------------------------------------


def test_delete_answers_a_success_status_and_removes_the_legacy_dashboard(api: Client) -> None:
    uid = create(api, dashboard("gone"))["metadata"]["uid"]
    reply = api("DELETE", api.dashboards("gone"))
    assert reply.status_code == 200
    assert reply.json() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": {
            "name": "gone",
            "group": "dashboard.grafana.app",
            "kind": "dashboards",
            "uid": uid,
        },
    }
    assert api("GET", "/api/dashboards/uid/gone").status_code == 404
    status_of(api("DELETE", api.dashboards("gone")), 404)


def test_delete_checks_preconditions(api: Client) -> None:
    create(api, dashboard("kept"))
    options = {"preconditions": {"resourceVersion": "1"}}
    body = status_of(api("DELETE", api.dashboards("kept"), json=options), 409)
    assert "Precondition failed: ResourceVersion in precondition: 1" in body["message"]
    assert api("GET", "/api/dashboards/uid/kept").status_code == 200


def test_a_provisioned_dashboard_cannot_be_deleted(grafana: FakeGrafana, api: Client) -> None:
    grafana.seed_dashboard({"uid": "file", "title": "From file"}, provisioned=True)
    body = status_of(api("DELETE", api.dashboards("file")), 400)
    assert body["message"] == "provisioned dashboard cannot be deleted"


def test_a_dashboard_deleted_through_api_is_gone_from_v1(api: Client) -> None:
    create(api, dashboard("both"))
    assert api("DELETE", "/api/dashboards/uid/both").status_code == 200
    status_of(api("GET", api.dashboards("both")), 404)


# -- namespaces ----------------------------------------------------------------------------------


def test_namespaces_map_to_orgs(api: Client) -> None:
    create_org2 = api("POST", api.dashboards(ns="org-2"), json=dashboard("o2"))
    assert create_org2.status_code == 201
    assert create_org2.json()["metadata"]["namespace"] == "org-2"
    org2 = {"X-Grafana-Org-Id": "2"}
    assert api("GET", "/api/dashboards/uid/o2", headers=org2).status_code == 200
    assert api("GET", "/api/dashboards/uid/o2").status_code == 404
    status_of(api("GET", api.dashboards("o2")), 404)
    status_of(api("GET", api.dashboards(ns="org-1")), 403)  # "use default rather than org-1"


def test_a_body_for_another_namespace_is_refused(api: Client) -> None:
    body = dashboard("ns")
    body["metadata"]["namespace"] = "org-2"
    status = status_of(api("POST", api.dashboards(), json=body), 400)
    assert "namespace" in status["message"]


# -- request bodies --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda b: b["metadata"].update(labels={"n": 1}), "$.metadata.labels.n"),
        (lambda b: b.pop("spec"), "$: 'spec' is a required property"),
        (lambda b: b["metadata"].update(generation="1"), "$.metadata.generation"),
        (lambda b: b.update(kind="Folder"), "the kind in the data (Folder)"),
        (lambda b: b.update(apiVersion="folder.grafana.app/v1"), "the API version in the data"),
    ],
)
def test_bodies_the_snapshot_refuses_are_kept(
    grafana: FakeGrafana, api: Client, change: Any, where: str
) -> None:
    body = dashboard("bad")
    change(body)
    status_of(api("POST", api.dashboards(), json=body), 400)
    assert len(grafana.spec_violations) == 1
    assert where in grafana.spec_violations[0]["errors"][0]
    assert api("GET", "/api/dashboards/uid/bad").status_code == 404


def test_a_spec_field_of_the_wrong_type_is_invalid(grafana: FakeGrafana, api: Client) -> None:
    body = status_of(api("POST", api.dashboards(), json=dashboard("typed", title=7)), 422)
    assert body["reason"] == "Invalid"
    assert body["details"]["kind"] == "Dashboard"
    assert [c["field"] for c in body["details"]["causes"]] == ["spec.title"]
    assert body["message"].startswith('Dashboard.dashboard.grafana.app "typed" is invalid: ')
    assert grafana.spec_violations[0]["errors"][0].startswith("spec.title:")


def test_a_spec_too_old_to_migrate_is_invalid_unless_validation_is_ignored(api: Client) -> None:
    body = status_of(api("POST", api.dashboards(), json=dashboard("old", schemaVersion=5)), 422)
    assert "dashboard schema version 5 cannot be migrated to latest version 42" in body["message"]
    create(api, dashboard("old", schemaVersion=5), fieldValidation="Ignore")


@pytest.mark.parametrize(
    "spec",
    [{"title": "  ", "schemaVersion": 42}, {"schemaVersion": 42}],  # title?: string, optional
)
def test_a_dashboard_needs_a_title(api: Client, spec: dict[str, Any]) -> None:
    body = dict(dashboard("basic"), spec=spec)
    status = status_of(api("POST", api.dashboards(), json=body), 400)
    assert status["message"] == "Dashboard title cannot be empty"


def test_an_invalid_uid_is_refused(api: Client) -> None:
    body = status_of(api("POST", api.dashboards(), json=dashboard("a.b")), 400)
    assert body["message"] == "uid contains illegal characters"


def test_a_missing_folder_is_not_found(api: Client) -> None:
    body = status_of(api("POST", api.dashboards(), json=dashboard("lost", folder="nope")), 404)
    assert body["message"] == 'folders.folder.grafana.app "nope" not found'
    assert body["details"] == {"name": "nope", "group": "folder.grafana.app", "kind": "folders"}


# -- manager annotations ------------------------------------------------------------------------


def managed(name: str, kind: str, identity: str, **extra: str) -> dict[str, Any]:
    body = dashboard(name)
    body["metadata"]["annotations"] = {
        "grafana.app/managedBy": kind,
        "grafana.app/managerId": identity,
        **extra,
    }
    return body


def test_manager_annotations_are_kept_and_not_enforced_on_writes(api: Client) -> None:
    extra = {"grafana.app/managerAllowsEdits": "false"}
    out = create(api, managed("tf", "terraform", "drift-stack", **extra))
    assert out["metadata"]["annotations"]["grafana.app/managerAllowsEdits"] == "false"
    # enforceManagerProperties: terraform/kubectl "TODO": anyone may still write it.
    out["spec"]["title"] = "Edited by someone else"
    assert api("PUT", api.dashboards("tf"), json=out).status_code == 200


@pytest.mark.parametrize(
    ("before", "after", "message"),
    [
        (
            ("terraform", "stack-a"),
            ("terraform", "stack-b"),
            "Cannot change Terraform manager ID; stable custom IDs are immutable",
        ),
        (
            ("kubectl", "a"),
            ("kubectl", "b"),
            "Cannot change resource manager identity; remove the existing manager first, then "
            "add the new one",
        ),
        (
            ("terraform", "stack-a"),
            ("kubectl", "stack-a"),
            "Cannot change resource manager kind; remove the existing manager first, then add "
            "the new one",
        ),
    ],
)
def test_a_manager_cannot_be_changed(
    api: Client, before: tuple[str, str], after: tuple[str, str], message: str
) -> None:
    out = create(api, managed("m", *before))
    changed = managed("m", *after)
    changed["metadata"]["resourceVersion"] = out["metadata"]["resourceVersion"]
    body = status_of(api("PUT", api.dashboards("m"), json=changed), 403)
    assert (body["reason"], body["message"]) == ("Forbidden", message)


def test_a_terraform_user_agent_id_may_become_a_stable_id(api: Client) -> None:
    agent = "Terraform/1.5.0 (+https://www.terraform.io) terraform-provider-grafana/v3.0.0"
    create(api, managed("ua", "terraform", agent))
    assert api("PUT", api.dashboards("ua"), json=managed("ua", "terraform", "stable")).ok


def test_a_manager_can_be_removed(api: Client) -> None:
    create(api, managed("rm", "terraform", "drift-stack"))
    out = api("PUT", api.dashboards("rm"), json=dashboard("rm")).json()
    assert "grafana.app/managedBy" not in out["metadata"].get("annotations", {})


def test_repository_managed_objects_are_the_provisioning_services(api: Client) -> None:
    body = status_of(api("POST", api.dashboards(), json=managed("git", "repo", "r")), 403)
    assert body["message"] == "this resource is managed by a repository"


# -- folders ------------------------------------------------------------------------------------


def folder(name: str, title: str, parent: str = "", description: str = "") -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if parent:
        metadata["annotations"] = {"grafana.app/folder": parent}
    spec = {"title": title, **({"description": description} if description else {})}
    return {
        "apiVersion": "folder.grafana.app/v1",
        "kind": "Folder",
        "metadata": metadata,
        "spec": spec,
    }


def test_a_folder_created_through_v1_is_read_through_api(api: Client) -> None:
    assert api("POST", api.folders(), json=folder("top", "Top")).status_code == 201
    reply = api("POST", api.folders(), json=folder("sub", "  Sub  ", "top", "nested"))
    assert reply.status_code == 201
    out = reply.json()
    assert out["spec"] == {"title": "Sub", "description": "nested"}  # title trimmed
    assert "status" not in out  # the v1 Folder has none
    assert out["metadata"]["annotations"]["grafana.app/folder"] == "top"

    legacy = api("GET", "/api/folders/sub").json()
    assert (legacy["title"], legacy["description"], legacy["parentUid"]) == (
        "Sub",
        "nested",
        "top",
    )
    assert [p["uid"] for p in legacy["parents"]] == ["top"]
    assert legacy["version"] == out["metadata"]["generation"] == 1


def test_a_folder_created_and_updated_through_api_is_read_through_v1(api: Client) -> None:
    api("POST", "/api/folders", json={"uid": "legacy", "title": "Legacy"})
    before = api("GET", api.folders("legacy")).json()
    assert before["spec"] == {"title": "Legacy"}
    assert "grafana.app/folder" not in before["metadata"].get("annotations", {})

    update = {"title": "Renamed", "version": 1}
    assert api("PUT", "/api/folders/legacy", json=update).status_code == 200
    after = api("GET", api.folders("legacy")).json()
    assert after["spec"] == {"title": "Renamed"}
    assert after["metadata"]["generation"] == 2
    assert after["metadata"]["resourceVersion"] != before["metadata"]["resourceVersion"]
    stale = dict(before, spec={"title": "Lost"})
    body = status_of(api("PUT", api.folders("legacy"), json=stale), 409)
    assert body["details"]["kind"] == "folders"


@pytest.mark.parametrize(
    ("body", "message_id", "message"),
    [
        (folder("t", " "), "folder.title-empty", "folder title cannot be empty"),
        (folder("self", "S", "self"), "folder.parent-itself", "folder cannot be parent of itself"),
        (folder("a/b", "S"), "folder.invalid-uid-chars", "uid contains illegal characters"),
        # dashboards.RootFolderName, compared trimmed and with strings.EqualFold
        (folder("g", " GENERAL "), "folder.name-exists", "a folder with that name already exists"),
    ],
)
def test_folder_checks(api: Client, body: dict[str, Any], message_id: str, message: str) -> None:
    status = status_of(api("POST", api.folders(), json=body), 400)
    assert (status["message"], status["details"]["uid"]) == (message, message_id)


def test_a_folder_cannot_be_renamed_to_the_root_folders_title(api: Client) -> None:
    """folders/validate.go validateOnUpdate refuses "General" as validateOnCreate does."""
    out = api("POST", api.folders(), json=folder("team", "Team")).json()
    out["spec"] = {"title": "general"}
    status = status_of(api("PUT", api.folders("team"), json=out), 400)
    assert status["details"]["uid"] == "folder.name-exists"
    assert api("GET", "/api/folders/team").json()["title"] == "Team"


def test_a_folder_title_is_required_by_the_snapshot(grafana: FakeGrafana, api: Client) -> None:
    body = folder("notitle", "T")
    body["spec"] = {"description": "no title"}
    status_of(api("POST", api.folders(), json=body), 400)
    assert "'title' is a required property" in grafana.spec_violations[0]["errors"][0]


def test_a_folder_that_holds_something_cannot_be_deleted(api: Client) -> None:
    api("POST", api.folders(), json=folder("full", "Full"))
    create(api, dashboard("inside", folder="full"))
    body = status_of(api("DELETE", api.folders("full")), 400)
    assert body["message"] == "Folder cannot be deleted: folder is not empty"
    assert body["details"]["uid"] == "folder.not-empty"

    assert api("DELETE", api.dashboards("inside")).status_code == 200
    assert api("DELETE", api.folders("full")).json()["status"] == "Success"
    assert api("GET", "/api/folders/full").status_code == 404


def test_a_folder_cannot_move_under_its_descendant(api: Client) -> None:
    api("POST", api.folders(), json=folder("parent", "P"))
    api("POST", api.folders(), json=folder("child", "C", "parent"))
    out = api("GET", api.folders("parent")).json()
    out["metadata"]["annotations"] = {"grafana.app/folder": "child"}
    body = status_of(api("PUT", api.folders("parent"), json=out), 400)
    assert body["details"]["uid"] == "folder.circular-reference"


def test_deleting_a_folder_through_api_removes_its_v1_dashboards(api: Client) -> None:
    api("POST", api.folders(), json=folder("doomed", "Doomed"))
    create(api, dashboard("in-doomed", folder="doomed"))
    assert api("DELETE", "/api/folders/doomed").status_code == 200
    status_of(api("GET", api.folders("doomed")), 404)
    status_of(api("GET", api.dashboards("in-doomed")), 404)
