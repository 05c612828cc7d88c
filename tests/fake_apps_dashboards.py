"""The fake Grafana's ``dashboard.grafana.app/v1`` and ``folder.grafana.app/v1`` (tests only).

Registered by tests/fake_grafana.py (``APP_MODULES``) on profiles that serve these group versions
(13.2). Both resources are views of the SAME ``OrgState`` the legacy ``/api/dashboards`` and
``/api/folders`` handlers use, as in Grafana 13, where the legacy API is served from the
app-platform storage: an object written through one API is read through the other.

Behaviour, each from Grafana's source (grafana/grafana; "newest" = the newest indexed copy):

* Kubernetes verbs of Grafana's generic registry store (pkg/apiserver/registry/generic:
  registry.go, strategy.go): list (``labelSelector``; ``fieldSelector`` on ``metadata.name``,
  the only field GetAttrs exposes; ``limit``/``continue``), get, create (POST; a name taken is
  409 AlreadyExists; ``generateName``; no name and no generateName gets generateName "g",
  builder/admission.go), replace (PUT: ``AllowUnconditionalUpdate`` and ``AllowCreateOnUpdate``
  are true, so an empty ``resourceVersion`` overwrites and a PUT of a missing name creates it; a
  stale one is 409 Conflict), delete (a Status "Success"; ``preconditions`` in the body).
* Metadata (pkg/storage/unified/apistore/prepare.go): ``generation`` 1 on create, +1 only when
  the spec or the folder changes; ``grafana.app/createdBy`` on create, ``updatedBy`` and
  ``updatedTimestamp`` when the generation moves; ``grafana.app/grant-permissions`` is dropped;
  the label ``grafana.app/deprecatedInternalID`` carries the legacy id; ``resourceVersion`` is
  a new increasing integer on every write that changes anything (a no-op PUT keeps it, as
  Kubernetes' GuaranteedUpdate does).
* Manager annotations (apistore/managed.go, newest; pkg/apimachinery/utils/manager.go): a
  manager exists only with a non-empty ``grafana.app/managerId``; its kind and (but for
  terraform's user-agent ids) its identity cannot change (403), removing it is allowed, and
  ``repo`` objects are refused to anyone but the provisioning service (403).
  ``managerAllowsEdits`` is NOT enforced by the server (``// TODO`` in enforceManagerProperties).
* Dashboards (pkg/registry/apis/dashboard/mutate.go and validate.go, newest): ``uid``,
  ``version`` and ``id`` are removed from the spec; the spec is migrated to schemaVersion
  ``LATEST_SCHEMA_VERSION`` on every v1 write, a schemaVersion under 9 is 422 Invalid (unless
  ``fieldValidation=Ignore``), then checked (title, uid, message, folder exists: 404). A
  dashboard written through ``/api`` is stored as ``v0alpha1`` unchanged and migrated when read
  through v1 (conversion/v0alpha1_to_v1.go), with ``status.conversion.storedVersion``. A legacy
  save replaces the object (service LegacySaveCommandToUnstructured builds a new one): labels
  and annotations other than the folder are gone afterwards.
* Folders (pkg/registry/apis/folders/validate.go, newest): spec ``{title, description}``, the
  parent in ``grafana.app/folder``; title trimmed and required, uid rules, no own parent, the
  parent must exist; deleting a folder that holds folders, dashboards or alert rules is 400
  ``folder.not-empty`` (the cascade is behind a feature flag and a force option).

Request bodies are checked against the object schemas of Grafana's OpenAPI snapshots (see
``_OBJECT_META``); a body they refuse is kept in ``fake.spec_violations`` and answered 400, like
the legacy API. Dashboard specs are also checked against the top-level field types of
apps/dashboard/pkg/apis/dashboard/v1/dashboard_kind.cue (422, as the CUE validator).

Not reproduced (the fake is more lenient than Grafana here): the schema migrations V10-V39
(an older spec is only renumbered; the toolkit writes 39) and the "frontend defaults" pass that
migration.Migrate also runs (apps/dashboard/pkg/migration/frontend_defaults.go: it adds
``tags: []``, ``links: []``, ``version: 0``, the built-in annotation, panel defaults, and drops
default values); dashboard quotas, the refresh-interval floor, folder depth; PATCH,
deletecollection, watch, the ``dto`` and folder subresources, and ``folders/search``.
"""

from __future__ import annotations

import base64
import binascii
import copy
import itertools
import re
import secrets
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import jsonschema

from fake_grafana import (
    DASHBOARD_GROUP,
    FOLDER_GROUP,
    PERM_DASHBOARDS_READ,
    PERM_DASHBOARDS_WRITE,
    PERM_FOLDERS_READ,
    PERM_FOLDERS_WRITE,
    ApiError,
    Ctx,
    OrgState,
    Reply,
    check_uid,
    is_root_folder_name,
    k8s_not_found,
    k8s_status,
    now_iso,
    org_namespace,
)

# schemaversion.LATEST_VERSION / MIN_VERSION (apps/dashboard/pkg/migration/schemaversion/
# migrations.go); 42 is 13.2.1's (reference notes, section e).
LATEST_SCHEMA_VERSION = 42
MIN_SCHEMA_VERSION = 9

# pkg/apimachinery/utils/meta.go
ANNO_FOLDER = "grafana.app/folder"
ANNO_CREATED_BY = "grafana.app/createdBy"
ANNO_UPDATED_BY = "grafana.app/updatedBy"
ANNO_UPDATED_TIMESTAMP = "grafana.app/updatedTimestamp"
ANNO_MESSAGE = "grafana.app/message"
ANNO_GRANT_PERMISSIONS = "grafana.app/grant-permissions"
ANNO_MANAGER_KIND = "grafana.app/managedBy"
ANNO_MANAGER_ID = "grafana.app/managerId"
ANNO_SOURCE_PATH = "grafana.app/sourcePath"
LABEL_INTERNAL_ID = "grafana.app/deprecatedInternalID"

# utils.ManagerKind values (manager.go); unknown values count as "not managed".
MANAGER_REPO = "repo"
MANAGER_TERRAFORM = "terraform"
MANAGER_CLASSIC_FILE = "classic-file-provisioning"
# apistore/managed.go: the deprecated user-agent form of a Terraform manager id.
_TERRAFORM_USER_AGENT = re.compile(
    r"^Terraform/[^ ]+ \(\+https://www\.terraform\.io\) terraform-provider-[^/]+/.+$"
)

STORED_LEGACY = "v0alpha1"  # what /api writes (LegacySaveCommandToUnstructured)
STORED_V1 = "v1"
# names.SimpleNameGenerator: generateName + 5 characters of utilrand's alphabet.
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_RESERVED_FOLDER_UIDS = frozenset({"general", "sharedwithme"})  # folder.GeneralFolderUID ...

# Object schemas copied from Grafana's OpenAPI snapshots, the parts a request body is checked
# against: pkg/tests/apis/openapi_snapshots/folder.grafana.app-v1.json (commit 0f1600d7) and
# dashboard.grafana.app-v1beta1.json (commit 023625e9; its schemas are the v1 types). "required"
# lists metadata and spec (both snapshots) but not the dashboard's status, which has a default.
_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
_OBJECT_META = {
    "type": "object",
    "properties": {
        "annotations": _STRING_MAP,
        "creationTimestamp": {"type": "string"},
        "deletionGracePeriodSeconds": {"type": "integer"},
        "deletionTimestamp": {"type": "string"},
        "finalizers": {"type": "array", "items": {"type": "string"}},
        "generateName": {"type": "string"},
        "generation": {"type": "integer"},
        "labels": _STRING_MAP,
        "managedFields": {"type": "array", "items": {"type": "object"}},
        "name": {"type": "string"},
        "namespace": {"type": "string"},
        "ownerReferences": {"type": "array", "items": {"type": "object"}},
        "resourceVersion": {"type": "string"},
        "selfLink": {"type": "string"},
        "uid": {"type": "string"},
    },
}
_TYPE_META = {"apiVersion": {"type": "string"}, "kind": {"type": "string"}}
DASHBOARD_SCHEMA = {
    "type": "object",
    "required": ["metadata", "spec"],
    "properties": {
        **_TYPE_META,
        "metadata": _OBJECT_META,
        "spec": {"type": "object"},  # common.v0alpha1.Unstructured
        "status": {
            "type": "object",
            "properties": {
                "conversion": {
                    "type": "object",
                    "required": ["failed"],
                    "properties": {
                        "error": {"type": "string"},
                        "failed": {"type": "boolean"},
                        "source": {"type": "object"},
                        "storedVersion": {"type": "string"},
                    },
                }
            },
        },
    },
}
FOLDER_SCHEMA = {
    "type": "object",
    "required": ["metadata", "spec"],
    "properties": {
        **_TYPE_META,
        "metadata": _OBJECT_META,
        "spec": {
            "type": "object",
            "required": ["title"],
            "properties": {"description": {"type": "string"}, "title": {"type": "string"}},
        },
    },
}


def register(api: Any, add: Callable[..., None], group: str, version: str) -> None:
    """Add the routes of ``group``/``version`` (the fake's app-module hook)."""
    resource = {DASHBOARD_GROUP: _Dashboards, FOLDER_GROUP: _Folders}[group](api, version)
    resource.routes(add)


# --------------------------------------------------------------------------------------------
# Dashboard schema migration (the reproduced part of apps/dashboard/pkg/migration)
# --------------------------------------------------------------------------------------------


def schema_version(spec: Mapping[str, Any]) -> int:
    """schemaversion.GetSchemaVersion: an int, a float or a numeric string, else 0."""
    value = spec.get("schemaVersion")
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value):
        return int(value)
    return 0


def _v40(spec: dict[str, Any]) -> None:
    """V40: ``refresh`` becomes a string ("" unless it was one)."""
    refresh = spec.get("refresh")
    spec["refresh"] = refresh if isinstance(refresh, str) else ""


def _v41(spec: dict[str, Any]) -> None:
    """V41: ``timepicker.time_options`` is removed."""
    timepicker = spec.get("timepicker")
    if isinstance(timepicker, dict):
        timepicker.pop("time_options", None)


def _v42_panel(panel: dict[str, Any]) -> None:
    config = panel.get("fieldConfig")
    overrides = config.get("overrides") if isinstance(config, dict) else None
    for override in overrides if isinstance(overrides, list) else []:
        properties = override.get("properties") if isinstance(override, dict) else None
        for prop in properties if isinstance(properties, list) else []:
            value = prop.get("value") if isinstance(prop, dict) else None
            hidden = isinstance(value, dict) and value.get("viz") is True
            if hidden and prop.get("id") == "custom.hideFrom":
                value["tooltip"] = True
    nested = panel.get("panels")
    for child in nested if isinstance(nested, list) else []:
        if isinstance(child, dict):
            _v42_panel(child)


def _v42(spec: dict[str, Any]) -> None:
    """V42: a field override hidden from the viz (``hideFrom.viz``) is hidden from tooltips."""
    panels = spec.get("panels")
    for panel in panels if isinstance(panels, list) else []:
        if isinstance(panel, dict):
            _v42_panel(panel)


_MIGRATIONS: dict[int, Callable[[dict[str, Any]], None]] = {40: _v40, 41: _v41, 42: _v42}


def migrate(spec: dict[str, Any]) -> str:
    """migration.Migrate to ``LATEST_SCHEMA_VERSION`` in place; the error text, or ""."""
    start = schema_version(spec)
    spec["schemaVersion"] = start
    if start < MIN_SCHEMA_VERSION:
        # schemaversion.NewMinimumVersionError
        return (
            f"dashboard schema version {start} cannot be migrated to latest version "
            f"{LATEST_SCHEMA_VERSION} - migration path only exists for versions greater than "
            f"{MIN_SCHEMA_VERSION}"
        )
    for step in range(start + 1, LATEST_SCHEMA_VERSION + 1):
        _MIGRATIONS.get(step, lambda _spec: None)(spec)  # V10-V39 not reproduced
        spec["schemaVersion"] = step
    if spec["schemaVersion"] != LATEST_SCHEMA_VERSION:  # a version newer than this Grafana's
        return (
            f"schema migration from version {start} to {LATEST_SCHEMA_VERSION} failed: "
            "schema version not migrated to target version"
        )
    return ""


def _is_int(value: Any) -> bool:
    return not isinstance(value, bool) and (
        isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    )


def _list_of(kind: type) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, list) and all(isinstance(v, kind) for v in value)


def _object_with_list(value: Any) -> bool:
    return isinstance(value, dict) and _list_of(dict)(value.get("list", []))


# Top-level fields of the v1 spec with their CUE types (dashboard_kind.cue, lineage schemas[0]).
_SPEC_FIELDS: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "id": ("int64 | null", lambda v: v is None or _is_int(v)),
    "uid": ("string", lambda v: isinstance(v, str)),
    "title": ("string", lambda v: isinstance(v, str)),
    "description": ("string", lambda v: isinstance(v, str)),
    "revision": ("int64", _is_int),
    "gnetId": ("int64", _is_int),
    "tags": ("[...string]", _list_of(str)),
    "timezone": ("string", lambda v: isinstance(v, str)),
    "editable": ("bool", lambda v: isinstance(v, bool)),
    "graphTooltip": ("0 | 1 | 2", lambda v: _is_int(v) and v in (0, 1, 2)),
    "time": (
        "{from: string, to: string}",
        lambda v: (
            isinstance(v, dict) and all(isinstance(v.get(k, ""), str) for k in ("from", "to"))
        ),
    ),
    "timepicker": ("#TimePickerConfig", lambda v: isinstance(v, dict)),
    "fiscalYearStartMonth": ("uint8 & <12", lambda v: _is_int(v) and 0 <= v < 12),
    "liveNow": ("bool", lambda v: isinstance(v, bool)),
    "weekStart": ("string", lambda v: isinstance(v, str)),
    "refresh": ("string", lambda v: isinstance(v, str)),
    "schemaVersion": ("uint16", lambda v: _is_int(v) and 0 <= v < 65536),
    "version": ("uint32", lambda v: _is_int(v) and 0 <= v < 2**32),
    "panels": ("[...(#Panel | #RowPanel)]", _list_of(dict)),
    "templating": ("{list?: [...#VariableModel]}", _object_with_list),
    "annotations": ("#AnnotationContainer", _object_with_list),
    "links": ("[...#DashboardLink]", _list_of(dict)),
    "snapshot": ("#Snapshot", lambda v: isinstance(v, dict)),
    "preload": ("bool", lambda v: isinstance(v, bool)),
}


def spec_problems(spec: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(field, detail) for each top-level field whose value the CUE schema refuses."""
    return [
        (f"spec.{key}", f"conflicting values: expected {expected}")
        for key, (expected, valid) in _SPEC_FIELDS.items()
        if key in spec and not valid(spec[key])
    ]


# --------------------------------------------------------------------------------------------
# Selectors and Status bodies
# --------------------------------------------------------------------------------------------

_REQUIREMENT = re.compile(
    r"^\s*(?P<neg>!)?\s*(?P<key>[A-Za-z0-9./_-]+)\s*"
    r"(?:(?P<op>==|!=|=|\s+in\s+|\s+notin\s+)\s*(?P<value>\(.*\)|[^,()\s]*))?\s*$"
)


def _split_requirements(text: str) -> list[str]:
    """Split on the commas that are not inside a value set ``(a,b)``."""
    parts, depth, current = [], 0, ""
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [part for part in parts if part.strip()]


def label_selector(text: str) -> Callable[[Mapping[str, str]], bool]:
    """A Kubernetes label selector (``k=v``, ``k!=v``, ``k in (a,b)``, ``k notin (a)``, ``k``,
    ``!k``, joined by commas) as a predicate on labels; ValueError if it does not parse."""
    tests: list[Callable[[Mapping[str, str]], bool]] = []
    for part in _split_requirements(text):
        found = _REQUIREMENT.match(part)
        if not found or (found["neg"] and found["op"]):
            raise ValueError(f"unable to parse requirement: {part.strip()!r}")
        key, op, value = found["key"], (found["op"] or "").strip(), found["value"] or ""
        values = {v.strip() for v in value.strip("()").split(",")}
        if op in ("in", "notin") and not value.startswith("("):
            raise ValueError(f"unable to parse requirement: {part.strip()!r}")
        if not op:
            negate = bool(found["neg"])
            tests.append(lambda labels, k=key, n=negate: (k in labels) != n)
        elif op in ("=", "=="):
            tests.append(lambda labels, k=key, v=value: labels.get(k) == v)
        elif op == "!=":
            tests.append(lambda labels, k=key, v=value: labels.get(k) != v)
        elif op == "in":
            tests.append(lambda labels, k=key, vs=values: labels.get(k) in vs)
        else:
            tests.append(lambda labels, k=key, vs=values: labels.get(k) not in vs)
    return lambda labels: all(test(labels) for test in tests)


def name_selector(text: str) -> Callable[[str], bool]:
    """A field selector on ``metadata.name`` (generic.GetAttrs exposes no other field)."""
    tests: list[Callable[[str], bool]] = []
    for part in (p for p in text.split(",") if p.strip()):
        found = re.fullmatch(r"\s*([A-Za-z.]+)\s*(==|!=|=)\s*(\S*)\s*", part)
        if not found:
            raise ValueError(f"invalid selector: {part.strip()!r}")
        key, op, value = found.groups()
        if key != "metadata.name":
            raise ValueError(f'"{key}" is not a known field selector: only "metadata.name"')
        tests.append(lambda name, v=value, eq=op != "!=": (name == v) == eq)
    return lambda name: all(test(name) for test in tests)


def _bad_request(message: str) -> ApiError:
    return k8s_status(400, message, "BadRequest")


def _forbidden(message: str) -> ApiError:
    """The StatusError the storage's manager checks return."""
    return k8s_status(403, message, "Forbidden")


def _unknown_error(message: str) -> ApiError:
    """A plain Go error reaching the apiserver: ErrorToAPIStatus makes it a 500 with no reason
    (StatusReasonUnknown is "", omitted)."""
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure"}
    return ApiError(500, {**body, "message": message, "code": 500})


def _errutil(code: int, message_id: str, message: str) -> ApiError:
    """An errutil.Error rendered by the apiserver (Error.Status: details.uid = message id)."""
    return k8s_status(code, message, details={"uid": message_id})


# --------------------------------------------------------------------------------------------
# The resources
# --------------------------------------------------------------------------------------------


@dataclass
class _Meta:
    """What Grafana keeps of an object beside its legacy record: ``snapshot`` is the record as
    last seen (a legacy write changes it), the rest the object's metadata."""

    snapshot: dict[str, Any]
    uid: str
    resource_version: str
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    stored_version: str = STORED_LEGACY


class _Resource:
    """The Kubernetes semantics shared by dashboards and folders; subclasses map objects to
    their legacy records in ``OrgState``."""

    group = ""
    plural = ""
    kind = ""
    schema: ClassVar[dict[str, Any]] = {}
    read_permission = ""
    write_permission = ""

    def __init__(self, api: Any, version: str) -> None:
        self.api = api
        self.fake = api.fake
        self.version = version
        self.metas: dict[tuple[int, str], _Meta] = {}
        # Unified storage's resource versions: increasing integers (microsecond-based).
        self._versions = itertools.count(time.time_ns() // 1000)

    # -- to be provided by each resource ------------------------------------------------

    def records(self, org: OrgState) -> dict[str, dict[str, Any]]:
        raise NotImplementedError

    def view(self, record: dict[str, Any], meta: _Meta) -> tuple[dict[str, Any], Any]:
        """The spec and the status (None: the kind has none) the object shows."""
        raise NotImplementedError

    def folder_of(self, record: dict[str, Any]) -> str:
        raise NotImplementedError

    def legacy_meta(
        self, record: dict[str, Any], previous: _Meta | None
    ) -> tuple[dict[str, str], dict[str, str]]:
        """The labels and annotations of an object last written through /api (``previous``:
        its metadata before that write, when it is the same object)."""
        raise NotImplementedError

    def admit(
        self, ctx: Ctx, name: str, spec: Any, annotations: dict[str, str], existing: Any
    ) -> dict[str, Any]:
        """Mutate and validate a spec being written (ApiError when Grafana refuses it)."""
        raise NotImplementedError

    def changed(self, record: dict[str, Any], meta: _Meta, spec: dict[str, Any]) -> bool:
        """Whether ``spec`` differs from the stored one (the generation moves)."""
        raise NotImplementedError

    def write(
        self,
        org: OrgState,
        name: str,
        spec: dict[str, Any],
        annotations: Mapping[str, str],
        existing: dict[str, Any] | None,
    ) -> dict[str, Any]:
        """Store the spec in the legacy record (created or replaced); the record."""
        raise NotImplementedError

    def check_delete(self, org: OrgState, record: dict[str, Any]) -> None:
        raise NotImplementedError

    def remove(self, org: OrgState, name: str) -> None:
        raise NotImplementedError

    # -- routes ---------------------------------------------------------------------------

    def routes(self, add: Callable[..., None]) -> None:
        base = f"/apis/{self.group}/{self.version}/namespaces/{{namespace}}/{self.plural}"
        add("GET", base, self.list, self.read_permission)
        add("POST", base, self.create, self.write_permission)
        add("GET", f"{base}/{{name}}", self.get, self.read_permission)
        add("PUT", f"{base}/{{name}}", self.replace, self.write_permission)
        add("DELETE", f"{base}/{{name}}", self.delete, self.write_permission)

    # -- metadata -------------------------------------------------------------------------

    def _next_version(self) -> str:
        return str(next(self._versions))

    def lookup(self, org: OrgState, name: str) -> tuple[dict[str, Any], _Meta] | None:
        """The record and its metadata; a record changed through /api since it was last seen
        gets a new resourceVersion and the metadata a legacy write leaves."""
        key = (org.org_id, name)
        record = self.records(org).get(name)
        if record is None:
            self.metas.pop(key, None)
            return None
        meta = self.metas.get(key)
        if meta is None or meta.snapshot != record:
            same = meta is not None and all(
                meta.snapshot.get(k) == record.get(k) for k in ("id", "created")
            )
            previous = meta if same else None
            labels, annotations = self.legacy_meta(record, previous)
            meta = _Meta(
                snapshot=copy.deepcopy(record),
                uid=previous.uid if previous else str(uuid.uuid4()),
                resource_version=self._next_version(),
                labels={**labels, LABEL_INTERNAL_ID: str(record["id"])},
                annotations=annotations,
            )
            self.metas[key] = meta
        return record, meta

    def object_out(self, org: OrgState, name: str, record: dict[str, Any], meta: _Meta) -> dict:
        spec, status = self.view(record, meta)
        annotations = dict(meta.annotations)
        annotations.pop(ANNO_FOLDER, None)
        if self.folder_of(record):
            annotations[ANNO_FOLDER] = self.folder_of(record)
        metadata: dict[str, Any] = {
            "name": name,
            "namespace": org_namespace(org.org_id),
            "uid": meta.uid,
            "resourceVersion": meta.resource_version,
            "generation": record["version"],
            "creationTimestamp": record["created"],
        }
        if meta.labels:
            metadata["labels"] = dict(meta.labels)
        if annotations:
            metadata["annotations"] = annotations
        out = {
            "kind": self.kind,
            "apiVersion": f"{self.group}/{self.version}",
            "metadata": metadata,
            "spec": spec,
        }
        if status is not None:
            out["status"] = status
        return out

    # -- requests -------------------------------------------------------------------------

    def _found(self, ctx: Ctx) -> tuple[dict[str, Any], _Meta]:
        found = self.lookup(ctx.org, ctx.params["name"])
        if found is None:
            raise k8s_not_found(self.group, self.plural, ctx.params["name"])
        return found

    def _decode(self, ctx: Ctx) -> dict[str, Any]:
        """The request body, checked against the snapshot's schema and the URL."""
        body = ctx.body
        errors = sorted(
            jsonschema.Draft7Validator(self.schema).iter_errors(body), key=lambda e: list(e.path)
        )
        problems = ["$" + "".join(f".{p}" for p in e.path) + f": {e.message}" for e in errors]
        if not problems:
            expected = f"{self.group}/{self.version}"
            if body.get("apiVersion", expected) != expected:
                problems.append(
                    f"the API version in the data ({body['apiVersion']}) does not match the "
                    f"expected API version ({expected})"
                )
            if body.get("kind", self.kind) != self.kind:
                problems.append(
                    f"the kind in the data ({body['kind']}) does not match the expected kind "
                    f"({self.kind})"
                )
        if problems:
            self.fake.record_violation(
                ctx.method, ctx.path, f"{self.kind} {self.group}/{self.version}", problems, body
            )
            raise _bad_request(
                f"fake grafana: request body does not match the OpenAPI snapshot: {problems[0]}"
            )
        namespace = body["metadata"].get("namespace") or ctx.namespace
        if namespace != ctx.namespace:
            raise _bad_request(
                "the namespace of the provided object does not match the namespace sent on the "
                "request"
            )
        return body

    def _qualified(self, name: str) -> str:
        return f'{self.plural}.{self.group} "{name}"'

    def _details(self, name: str) -> dict[str, str]:
        return {"name": name, "group": self.group, "kind": self.plural}

    def _conflict(self, name: str, reason: str) -> ApiError:
        """apierrors.NewConflict (storage's resourceVersion and precondition conflicts)."""
        message = f"Operation cannot be fulfilled on {self._qualified(name)}: {reason}"
        return k8s_status(409, message, "Conflict", self._details(name))

    @staticmethod
    def _identity(ctx: Ctx) -> str:
        """The writer as Grafana's createdBy/updatedBy name it ("<type>:<uid>")."""
        login = ctx.principal.login
        return "service-account:fake" if login == "service-account" else f"user:{login}"

    def list(self, ctx: Ctx) -> Reply:
        try:
            labels_match = label_selector(ctx.arg("labelSelector"))
            name_match = name_selector(ctx.arg("fieldSelector"))
            limit = int(ctx.arg("limit") or 0)
            after = (
                base64.urlsafe_b64decode(ctx.arg("continue")).decode()
                if ctx.arg("continue")
                else ""
            )
        except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
            raise _bad_request(str(exc)) from None
        items = []
        for name in sorted(self.records(ctx.org)):
            found = self.lookup(ctx.org, name) if name > after else None
            if found is None:
                continue
            record, meta = found
            if name_match(name) and labels_match(meta.labels):
                items.append(self.object_out(ctx.org, name, record, meta))
        page = items[:limit] if limit > 0 else items
        metadata: dict[str, Any] = {"resourceVersion": self._next_version()}
        if len(page) < len(items):
            last = page[-1]["metadata"]["name"] if page else after
            metadata["continue"] = base64.urlsafe_b64encode(last.encode()).decode()
        body = {
            "kind": f"{self.kind}List",
            "apiVersion": f"{self.group}/{self.version}",
            "metadata": metadata,
            "items": page,
        }
        return Reply(200, body)

    def get(self, ctx: Ctx) -> Reply:
        record, meta = self._found(ctx)
        return Reply(200, self.object_out(ctx.org, ctx.params["name"], record, meta))

    def create(self, ctx: Ctx) -> Reply:
        body = self._decode(ctx)
        metadata = body["metadata"]
        if metadata.get("resourceVersion"):
            # storage.ErrResourceVersionSetOnCreate, a plain error (kubernetes#62836)
            raise _unknown_error("resourceVersion should not be set on objects to be created")
        name = metadata.get("name") or ""
        if not name:
            # builder/admission.go: no name and no generateName -> generateName "g"
            base = metadata.get("generateName") or "g"
            name = base + "".join(secrets.choice(_NAME_ALPHABET) for _ in range(5))
        return self._create(ctx, name, body)

    def _create(self, ctx: Ctx, name: str, body: dict[str, Any]) -> Reply:
        if name in self.records(ctx.org):
            message = f"{self._qualified(name)} already exists"
            raise k8s_status(409, message, "AlreadyExists", self._details(name))
        metadata = body["metadata"]
        annotations = dict(metadata.get("annotations") or {})
        annotations.pop(ANNO_GRANT_PERMISSIONS, None)
        for key in (ANNO_CREATED_BY, ANNO_UPDATED_BY, ANNO_UPDATED_TIMESTAMP):
            annotations.pop(key, None)
        spec = self.admit(ctx, name, body.get("spec"), annotations, None)
        self._enforce_manager(annotations)  # prepareObjectForStorage, after admission
        record = self.write(ctx.org, name, spec, annotations, None)
        annotations[ANNO_CREATED_BY] = self._identity(ctx)
        labels = {**(metadata.get("labels") or {}), LABEL_INTERNAL_ID: str(record["id"])}
        meta = _Meta(
            copy.deepcopy(record),
            str(uuid.uuid4()),
            self._next_version(),
            labels,
            annotations,
            STORED_V1,
        )
        self.metas[(ctx.org.org_id, name)] = meta
        return Reply(201, self.object_out(ctx.org, name, record, meta))

    def replace(self, ctx: Ctx) -> Reply:
        body = self._decode(ctx)
        name, metadata = ctx.params["name"], body["metadata"]
        if metadata.get("name", name) != name:
            raise _bad_request(
                f"the name of the object ({metadata['name']}) does not match the name on the URL "
                f"({name})"
            )
        wanted = metadata.get("resourceVersion") or ""
        found = self.lookup(ctx.org, name)
        if found is None:  # AllowCreateOnUpdate, but not for a stated resourceVersion
            if wanted:
                raise k8s_not_found(self.group, self.plural, name)
            return self._create(ctx, name, body)
        record, meta = found
        if wanted and wanted != meta.resource_version:
            raise self._conflict(
                name,
                "the object has been modified; please apply your changes to the latest version "
                "and try again",
            )
        annotations = dict(metadata.get("annotations") or {})
        annotations.pop(ANNO_GRANT_PERMISSIONS, None)
        spec = self.admit(ctx, name, body.get("spec"), annotations, record)
        self._check_manager_update(ctx, annotations, meta.annotations)  # prepareObjectForUpdate
        moved = annotations.get(ANNO_FOLDER, "") != self.folder_of(record)
        changed = moved or self.changed(record, meta, spec)
        # prepareObjectForUpdate: createdBy is kept; updatedBy/updatedTimestamp move only with
        # the generation.
        for key in (ANNO_CREATED_BY, ANNO_UPDATED_BY, ANNO_UPDATED_TIMESTAMP):
            annotations.pop(key, None)
            if key in meta.annotations and (key == ANNO_CREATED_BY or not changed):
                annotations[key] = meta.annotations[key]
        if changed:
            record = self.write(ctx.org, name, spec, annotations, record)
            annotations[ANNO_UPDATED_BY] = self._identity(ctx)
            annotations[ANNO_UPDATED_TIMESTAMP] = now_iso()
        labels = {**(metadata.get("labels") or {}), LABEL_INTERNAL_ID: str(record["id"])}
        if changed or labels != meta.labels or annotations != meta.annotations:
            meta.resource_version = self._next_version()
        meta.snapshot = copy.deepcopy(record)
        meta.labels, meta.annotations = labels, annotations
        if changed:
            meta.stored_version = STORED_V1
        return Reply(200, self.object_out(ctx.org, name, record, meta))

    def delete(self, ctx: Ctx) -> Reply:
        record, meta = self._found(ctx)
        name = ctx.params["name"]
        options = ctx.body if isinstance(ctx.body, dict) else {}
        preconditions = options.get("preconditions") or {}
        for key, actual in (("uid", meta.uid), ("resourceVersion", meta.resource_version)):
            stated = preconditions.get(key)
            if stated and stated != actual:
                label = "UID" if key == "uid" else "ResourceVersion"
                raise self._conflict(
                    name,
                    f"Precondition failed: {label} in precondition: {stated}, {label} in object "
                    f"meta: {actual}",
                )
        self._enforce_manager(meta.annotations)
        self.check_delete(ctx.org, record)
        self.remove(ctx.org, name)
        self.metas.pop((ctx.org.org_id, name), None)
        status = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": {**self._details(name), "uid": meta.uid},
        }
        return Reply(200, status)

    # -- managers (apistore/managed.go) -------------------------------------------------

    @staticmethod
    def _manager(annotations: Mapping[str, str]) -> tuple[str, str] | None:
        """GetManagerProperties: (kind, identity), or None without a managerId."""
        identity = annotations.get(ANNO_MANAGER_ID, "")
        return (annotations.get(ANNO_MANAGER_KIND, ""), identity) if identity else None

    @staticmethod
    def _enforce_manager(annotations: Mapping[str, str]) -> None:
        """enforceManagerProperties: only the provisioning service writes ``repo`` objects; the
        other kinds (terraform and kubectl included, whatever managerAllowsEdits says) pass."""
        if annotations.get(ANNO_MANAGER_KIND) == MANAGER_REPO:
            raise _forbidden("this resource is managed by a repository")

    def _check_manager_update(
        self, ctx: Ctx, new: Mapping[str, str], old: Mapping[str, str]
    ) -> None:
        """checkManagerPropertiesOnUpdateSpec."""
        before, after = self._manager(old), self._manager(new)
        if before is None and after is None:
            return
        if after is None:  # removing the manager: allowed if the old one could be written
            if old.get(ANNO_MANAGER_KIND) == MANAGER_REPO and ctx.principal.login != "admin":
                raise _forbidden("Can not remove resource manager from resource")
            return
        if before is not None:
            (old_kind, old_id), (new_kind, new_id) = before, after
            if new_kind != old_kind:
                raise _forbidden(
                    "Cannot change resource manager kind; remove the existing manager first, "
                    "then add the new one"
                )
            if new_id != old_id and new_kind != MANAGER_TERRAFORM:
                raise _forbidden(
                    "Cannot change resource manager identity; remove the existing manager "
                    "first, then add the new one"
                )
            if new_id != old_id and not _TERRAFORM_USER_AGENT.match(old_id):
                # Terraform ids may only move from the old user-agent form to a stable id.
                if _TERRAFORM_USER_AGENT.match(new_id):
                    raise _forbidden(
                        "Cannot change Terraform manager ID back to User-Agent format; stable "
                        "custom IDs are immutable"
                    )
                raise _forbidden(
                    "Cannot change Terraform manager ID; stable custom IDs are immutable"
                )
        self._enforce_manager(new)


class _Dashboards(_Resource):
    group = DASHBOARD_GROUP
    plural = "dashboards"
    kind = "Dashboard"
    schema = DASHBOARD_SCHEMA
    read_permission = PERM_DASHBOARDS_READ
    write_permission = PERM_DASHBOARDS_WRITE

    def records(self, org: OrgState) -> dict[str, dict[str, Any]]:
        return org.dashboards

    @staticmethod
    def stored_spec(record: dict[str, Any]) -> dict[str, Any]:
        """The spec as stored: the legacy JSON without what Mutate removes (uid, version, id;
        legacy reads put them back from the metadata)."""
        return {
            k: copy.deepcopy(v)
            for k, v in record["dashboard"].items()
            if k not in ("uid", "version", "id")
        }

    def view(self, record: dict[str, Any], meta: _Meta) -> tuple[dict[str, Any], Any]:
        spec = self.stored_spec(record)
        if meta.stored_version == STORED_V1:
            return spec, {}
        # ConvertDashboard_V0_to_V1: migrated on read; the conversion status says so.
        error = migrate(spec)
        conversion: dict[str, Any] = {"failed": bool(error), "storedVersion": STORED_LEGACY}
        if error:
            conversion["error"] = error
        return spec, {"conversion": conversion}

    def folder_of(self, record: dict[str, Any]) -> str:
        return record["folderUid"]

    def legacy_meta(
        self, record: dict[str, Any], previous: _Meta | None
    ) -> tuple[dict[str, str], dict[str, str]]:
        # A legacy save replaces the object: only what the save command sets survives.
        annotations = {}
        if record.get("message"):
            annotations[ANNO_MESSAGE] = record["message"]
        if record["updated"] != record["created"]:
            annotations[ANNO_UPDATED_TIMESTAMP] = record["updated"]
        if record.get("provisioned"):  # file provisioning's manager (service: classic-FP)
            annotations.update(
                {
                    ANNO_MANAGER_KIND: MANAGER_CLASSIC_FILE,
                    ANNO_MANAGER_ID: "fake",  # the provisioner's name
                    ANNO_SOURCE_PATH: "dashboard.json",  # as the legacy meta's externalId
                }
            )
        return {}, annotations

    def admit(
        self, ctx: Ctx, name: str, spec: Any, annotations: dict[str, str], existing: Any
    ) -> dict[str, Any]:
        mode = ctx.arg("fieldValidation") or "Strict"
        if mode == "Warn":  # ValidateDashboardSpec
            raise _bad_request("Not supported: FieldValidationMode: Warn")
        # Mutate: uid, version and id leave the spec, which is migrated to the latest schema.
        spec = {k: copy.deepcopy(v) for k, v in spec.items() if k not in ("uid", "version", "id")}
        error = migrate(spec)
        invalid: list[tuple[str, str]] = []
        if mode != "Ignore":
            if error:
                invalid = [("spec", f'Invalid value: "{name}": {error}')]
            else:
                invalid = [(f, f"Invalid value: {d}") for f, d in spec_problems(spec)]
        if invalid:
            self.fake.record_violation(
                ctx.method, ctx.path, "dashboard_kind.cue", [f"{f}: {d}" for f, d in invalid], spec
            )
            causes = [{"reason": "FieldValueInvalid", "message": d, "field": f} for f, d in invalid]
            message = f'Dashboard.{self.group} "{name}" is invalid: ' + ", ".join(
                f"{f}: {d}" for f, d in invalid
            )
            details = {"name": name, "group": self.group, "kind": self.kind, "causes": causes}
            raise k8s_status(422, message, "Invalid", details)
        # validateCreate / validateUpdate: ValidateBasicDashboardProperties, then the folder.
        title = spec.get("title")
        if not isinstance(title, str) or not title.strip():
            raise _bad_request("Dashboard title cannot be empty")
        problem = check_uid(name)
        if problem:
            raise _bad_request(problem)
        if len(annotations.get(ANNO_MESSAGE, "")) > 500:
            raise _bad_request("message too long, max 500 characters")
        folder = annotations.get(ANNO_FOLDER, "")
        moved = existing is None or folder != existing["folderUid"]
        if folder and moved and folder not in ctx.org.folders:
            raise k8s_not_found(FOLDER_GROUP, "folders", folder)
        return spec

    def changed(self, record: dict[str, Any], meta: _Meta, spec: dict[str, Any]) -> bool:
        return spec != self.stored_spec(record)

    def write(
        self,
        org: OrgState,
        name: str,
        spec: dict[str, Any],
        annotations: Mapping[str, str],
        existing: dict[str, Any] | None,
    ) -> dict[str, Any]:
        return self.api.store_dashboard(
            org,
            {**spec, "uid": name},
            annotations.get(ANNO_FOLDER, ""),
            annotations.get(ANNO_MESSAGE, ""),
            existing,
        )

    def check_delete(self, org: OrgState, record: dict[str, Any]) -> None:
        if record["provisioned"]:  # validateDelete
            raise _bad_request("provisioned dashboard cannot be deleted")

    def remove(self, org: OrgState, name: str) -> None:
        del org.dashboards[name]
        org.dashboard_versions.pop(name, None)


class _Folders(_Resource):
    group = FOLDER_GROUP
    plural = "folders"
    kind = "Folder"
    schema = FOLDER_SCHEMA
    read_permission = PERM_FOLDERS_READ
    write_permission = PERM_FOLDERS_WRITE

    def records(self, org: OrgState) -> dict[str, dict[str, Any]]:
        return org.folders

    def view(self, record: dict[str, Any], meta: _Meta) -> tuple[dict[str, Any], Any]:
        spec = {"title": record["title"]}
        if record.get("description"):
            spec["description"] = record["description"]
        return spec, None  # the v1 Folder has no status

    def folder_of(self, record: dict[str, Any]) -> str:
        return record.get("parentUid") or ""

    def legacy_meta(
        self, record: dict[str, Any], previous: _Meta | None
    ) -> tuple[dict[str, str], dict[str, str]]:
        # [infer] The legacy folder update edits the stored object: its metadata stays.
        labels = dict(previous.labels) if previous else {}
        annotations = dict(previous.annotations) if previous else {}
        if record["updated"] != record["created"]:
            annotations[ANNO_UPDATED_TIMESTAMP] = record["updated"]
        return labels, annotations

    def admit(
        self, ctx: Ctx, name: str, spec: Any, annotations: dict[str, str], existing: Any
    ) -> dict[str, Any]:
        org, parent = ctx.org, annotations.get(ANNO_FOLDER, "")
        if existing is None:  # validateOnCreate: the uid is checked on create only
            if name in _RESERVED_FOLDER_UIDS:
                raise _errutil(400, "folder.invalid-uid", "invalid uid for folder provided")
            problem = check_uid(name)
            if problem:
                message_id = (
                    "folder.uid-too-long" if "long" in problem else "folder.invalid-uid-chars"
                )
                raise _errutil(400, message_id, problem)
        title = (spec.get("title") or "").strip()
        if not title:
            raise _errutil(400, "folder.title-empty", "folder title cannot be empty")
        if is_root_folder_name(title):  # on create and on update
            # [infer] The base's declaration is not at hand: 400 as provisioning's
            # IsFolderValidationAPIError matches "folder.name-exists" on a 400 only; the
            # Errorf text as the message, as this fake's other folder errors.
            raise _errutil(400, "folder.name-exists", "a folder with that name already exists")
        if parent == name:
            raise _errutil(400, "folder.parent-itself", "folder cannot be parent of itself")
        if parent and (existing is None or parent != self.folder_of(existing)):
            if parent not in org.folders:
                # The parents getter's NotFound wrapped by fmt.Errorf: a plain error.
                action = (
                    "unable to create folder inside parent"
                    if existing is None
                    else "move target not found"
                )
                raise _unknown_error(f'{action}: folders.{self.group} "{parent}" not found')
            ancestor = org.folders.get(parent)
            while ancestor is not None:
                if ancestor["uid"] == name:
                    raise _errutil(
                        400,
                        "folder.circular-reference",
                        "cannot move folder under its own descendant, this would create a "
                        "circular reference",
                    )
                ancestor = org.folders.get(ancestor.get("parentUid") or "")
        out = {"title": title}
        if spec.get("description"):
            out["description"] = spec["description"]
        return out

    def changed(self, record: dict[str, Any], meta: _Meta, spec: dict[str, Any]) -> bool:
        return spec != self.view(record, meta)[0]

    def write(
        self,
        org: OrgState,
        name: str,
        spec: dict[str, Any],
        annotations: Mapping[str, str],
        existing: dict[str, Any] | None,
    ) -> dict[str, Any]:
        parent, description = annotations.get(ANNO_FOLDER, ""), spec.get("description", "")
        if existing is None:
            folder = self.fake.make_folder(org, name, spec["title"], parent, description)
            org.folders[name] = folder
            return folder
        existing.update(title=spec["title"], description=description, parentUid=parent)
        existing["version"] += 1
        existing["updated"] = now_iso()
        return existing

    def check_delete(self, org: OrgState, record: dict[str, Any]) -> None:
        uid = record["uid"]
        held = (
            any((f.get("parentUid") or "") == uid for f in org.folders.values())
            or any(d["folderUid"] == uid for d in org.dashboards.values())
            or any(folder == uid for folder, _title in org.rule_groups)
        )
        if held:  # validateOnDelete: folder.ErrFolderNotEmpty
            raise _errutil(400, "folder.not-empty", "Folder cannot be deleted: folder is not empty")

    def remove(self, org: OrgState, name: str) -> None:
        del org.folders[name]
