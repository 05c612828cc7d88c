"""The fake Grafana's ``notifications.alerting.grafana.app/v1beta1`` resources (Grafana 13.x).

``receivers`` (contact points, with the ``test`` subresource), ``routingtrees`` (the policy
tree), ``templategroups`` (templates) and ``timeintervals`` (mute timings), served on the SAME
``OrgState`` as the legacy provisioning endpoints of tests/fake_grafana.py: Grafana 13 backs these
resources with "legacy storages" over its provisioning services
(pkg/registry/apis/alerting/notifications/<kind>/legacy_storage.go and conversions.go), so an
object written through one API is read through the other with the same content, provenance and
version. fake_grafana calls ``register(api, add, group, version)`` when the profile serves this
group version.

What is reproduced, and where it comes from (grafana/grafana; "conversions" and "storage" are
that package's conversions.go and legacy_storage.go):

* Names: ``metadata.name`` is the unpadded base64url of the title (legacy_storage.NameToUid);
  a create with a non-empty ``metadata.name`` is a 400 "object's metadata.name should be
  empty"; a PUT whose body names another object is the apiserver's 400 (update.go checkName).
  The default routing tree is ``user-defined`` (RoutingTree UserDefinedRoutingTreeName);
  ``default`` is accepted as its alias (the 13.x frontend treats both as the default tree).
* Named routing trees (toggle ``alertingMultiplePolicies``, ``fake.features``; the routes
  service pkg/services/ngalert/provisioning/routes, legacy_storage config revision and their
  tests): POST creates one named by ``metadata.name`` (validateManagedRouteName: required, no
  ':', <= 40 characters, DNS-1123 subdomain: 400 ``routes.invalidFormat``; ``user-defined``
  and ``default`` reserved and a taken name: 409 ``routes.exists``; a root receiver that
  exists); list = named trees by name, then ``user-defined``; PUT compares resourceVersion
  always (409 ``routes.conflict``) and refuses locked -> none; DELETE passes the tree's own
  provenance (a locked tree goes; the default tree is reset) and checks no rule. Toggle off:
  POST is 501 ``routes.multipleNotSupported``, other names 404 ``routes.notFound``. Named
  trees count as routes for receivers and time intervals in use and follow their renames.
* ``resourceVersion`` is the legacy version: the fingerprint the legacy endpoints show
  (mute timings and templates: their ``version``), for receivers and the tree a hash of the
  stored content and provenance (models.Receiver.Fingerprint, calculateRouteFingerprint). A PUT
  with another version is 409; an EMPTY one is unconditional for time intervals, templates and
  the tree (checkOptimisticConcurrency skips ""), but a 409 for receivers
  (ReceiverService.checkOptimisticConcurrency compares always). DELETE reads
  ``preconditions.resourceVersion`` of its DeleteOptions body (optional).
* Provenance is the annotation ``grafana.com/provenance``, opt-in: absent, "" or "none" is no
  provenance; ``api``/``file``/``converted_prometheus`` lock (ProvenanceFromString,
  provenanceFromAnnotation); anything else is a 400. A locked object changed to none by a PUT
  without the annotation is 403 ``alerting.notifications.invalidProvenance``
  (ValidateProvenanceRelaxed) - on the legacy API too, through fake_grafana's own check. A
  DELETE passes the stored object's provenance, so a locked one goes (the v1beta1 storages'
  Delete: ProvenanceFromString(old.GetProvenanceStatus()), [PR] #121335; the v0alpha1 ones
  passed ProvenanceNone). Reads show the stored value; no provenance is
  ``""`` (v1beta1 SetProvenanceStatus only skips "none", and the domain's none is "").
* Receivers: integrations keep the ``uid`` sent (convertReceiverIntegrationToIntegration; a new
  one without uid gets a generated one, a bad one is 400, validateAndSetIntegrationUIDs). Reads
  never return secrets: secret keys leave ``settings`` and are listed in ``secureFields``
  (Integration.SecureFields). On update a secret marked ``secureFields: {key: true}`` on an
  integration sent with its existing uid keeps the stored value (WithExistingSecureFields); any
  other integration must carry its secrets or fails validation (400
  ``alerting.notifications.receivers.invalid``). A taken title is 409 ``receivers.exists``; a
  rename renames the routes and rules using it; DELETE of a receiver that routes or rules use
  is 409 ``receivers.used`` (receiver_svc.go). GET/list add the access, in-use and canUse
  annotations (conversions convertToK8sResource); create/update answers carry provenance only.
* Time intervals, templates, tree: validated and stored by fake_grafana's legacy handlers
  (normalisation, Go template parsing, in-use 409 with what uses them, renames). The template
  list starts with Grafana's built-in ``__default__`` (provenance "system"; its content here is
  a stand-in), which cannot be created, updated or deleted (template_group legacy_storage).
* ``grafana.app/managedBy``/``managerId`` (and labels, and every other annotation) are NOT
  persisted: the storages convert only ``spec`` and the provenance annotation (PR #132225,
  which maps provenance to manager properties, is still open after 13.2).
* Errors are Kubernetes ``Status`` bodies; Grafana's errutil errors keep their message id in
  ``details.uid`` and their public data in ``details.causes`` (errutil.Error.Status). The test
  subresource is an app-sdk custom route and answers errors as Grafana's JSON
  ``{message, messageId, statusCode}`` (errhttp.Write), results as 200
  ``{status: success|failure, duration, error?}`` (receiver test handler).
* Request bodies are validated against the v1beta1 OpenAPI snapshot's schemas copied to
  tests/data/grafana/notifications-v1beta1-schemas.json (source commit in the file); the test
  subresource has no body schema in the snapshot, so its body is checked as the handler decodes
  it (CreateReceiverIntegrationTestRequestBody). A violation is kept in ``fake.spec_violations``
  and refused with a 400, like the legacy endpoints (deliberately stricter than Grafana, which
  drops unknown fields with a warning and does not enforce ``required``).

Not served: PATCH, watch, deletecollection, dryRun, label/field selectors.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.exceptions import best_match

from fake_grafana import (
    MATCH_OPERATORS,
    MULTIPLE_POLICIES,
    PERM_NOTIFICATIONS_WRITE,
    PERM_PROVISIONING_READ,
    PERM_PROVISIONING_SECRETS_READ,
    PERM_PROVISIONING_WRITE,
    SECRET_KEYS,
    ApiError,
    BadRequestData,
    Ctx,
    OrgState,
    Reply,
    check_relaxed_provenance,
    describe_error,
    k8s_not_found,
    k8s_status,
    new_uid,
    normalise_time_interval,
    notification_test_alert,
    parse_prom_duration,
    public_error,
    split_matcher,
    template_version,
)

SCHEMAS_PATH = Path(__file__).parent / "data/grafana/notifications-v1beta1-schemas.json"
SCHEMA_PREFIX = "com.github.grafana.grafana.apps.alerting.notifications.pkg.apis."
SCHEMA_PREFIX += "alertingnotifications.v1beta1."

PROVENANCE_ANNOTATION = "grafana.com/provenance"
KNOWN_PROVENANCES = ("", "api", "file", "converted_prometheus")  # models.KnownProvenances
USER_DEFINED_TREE = "user-defined"
TREE_NAMES = (USER_DEFINED_TREE, "default")
DEFAULT_TEMPLATE_NAME = "__default__"
NEW_RECEIVER = "-"  # the test subresource's name for a receiver not saved yet
INTEGRATION_VERSION = "v1"  # the schema version of every Grafana integration type

READ = (PERM_PROVISIONING_READ, PERM_PROVISIONING_SECRETS_READ)
WRITE = (PERM_PROVISIONING_WRITE, PERM_NOTIFICATIONS_WRITE)
TEST = (PERM_NOTIFICATIONS_WRITE, "alert.notifications.receivers:test")

_UID_RE = re.compile(r"^[a-zA-Z0-9\-_]{1,40}$")  # util.ValidateUID
_RAW_URL_B64 = re.compile(r"^[A-Za-z0-9_-]*$")


# --------------------------------------------------------------------------------------------
# Names, versions, errors
# --------------------------------------------------------------------------------------------


def name_to_uid(name: str) -> str:
    """legacy_storage.NameToUid: the name in unpadded base64url."""
    return base64.urlsafe_b64encode(name.encode()).rstrip(b"=").decode()


def uid_to_name(uid: str) -> str | None:
    """legacy_storage.UidToName (RawURLEncoding: no padding); None if it does not decode."""
    if not _RAW_URL_B64.match(uid) or len(uid) % 4 == 1:
        return None
    try:
        return base64.urlsafe_b64decode(uid + "=" * (-len(uid) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None


def fingerprint(value: Any) -> str:
    """A 16-hex content hash, the shape of Grafana's fnv64 fingerprints."""
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:16]


def grafana_status(
    code: int, message_id: str, message: str, extra: Mapping[str, Any] | None = None
) -> ApiError:
    """An errutil error as the apiserver renders it (errutil.Error.Status): the message id in
    ``details.uid``, each public datum a cause (its JSON as the message)."""
    causes = [{"field": key, "message": json.dumps(value)} for key, value in (extra or {}).items()]
    return k8s_status(code, message, details={"uid": message_id, "causes": causes})


def as_status(exc: ApiError) -> ApiError:
    """A legacy error answer (errutil public error or ``{message}``) as a ``Status``."""
    body = exc.body if isinstance(exc.body, dict) else {}
    if body.get("kind") == "Status":
        return exc
    message = str(body.get("message", ""))
    if body.get("messageId"):
        return grafana_status(exc.status, body["messageId"], message, body.get("extra"))
    return k8s_status(exc.status, message)


def route_invalid(reason: str) -> ApiError:
    """models.ErrRouteInvalidFormat (MakeErrRouteInvalidFormat)."""
    return grafana_status(
        400,
        "alerting.notifications.routes.invalidFormat",
        f"Invalid format of the submitted route: {reason}. Correct the payload and try again.",
        {"Error": reason},
    )


def route_exists() -> ApiError:
    """models.ErrRouteExists: its public message whatever Errorf added (a reserved name too)."""
    return grafana_status(
        409,
        "alerting.notifications.routes.exists",
        "Route with this name already exists. Use a different name or update an existing one.",
    )


def route_version_conflict(name: str, current: str, wanted: str) -> ApiError:
    """models.MakeErrRouteVersionConflict (the routes service's checkOptimisticConcurrency)."""
    return grafana_status(
        409,
        "alerting.notifications.routes.conflict",
        f"Provided version '{wanted}' of route '{name}' does not match current version '{current}'",
        {"Version": wanted, "CurrentVersion": current, "Name": name},
    )


# k8s.io/apimachinery IsDNS1123Subdomain's message for a name its regex refuses.
_DNS1123_SUBDOMAIN = re.compile(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)
_DNS1123_MESSAGE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
MANAGED_ROUTE_NAME_MAX = 40  # ualert.UIDMaxLength


def managed_route_name_problem(name: str) -> str | None:
    """legacy_storage validateManagedRouteName (PR #119516): required, no ':', at most 40
    characters, a DNS-1123 subdomain."""
    if not name.strip():
        return "route name is required"
    if ":" in name:  # "Colon in names confuses RBAC"
        return "managed route name cannot contain invalid character ':'"
    if len(name) > MANAGED_ROUTE_NAME_MAX:
        return f"managed route name cannot be longer than {MANAGED_ROUTE_NAME_MAX} characters"
    if not _DNS1123_SUBDOMAIN.fullmatch(name):
        return f"managed route name must be a valid DNS subdomain: {_DNS1123_MESSAGE}"
    return None


def receiver_invalid(reason: str) -> ApiError:
    return grafana_status(
        400,
        "alerting.notifications.receivers.invalid",
        f"Invalid receiver: '{reason}'",
        {"Reason": reason},
    )


class InvalidReceiver(ValueError):
    """A receiver the service refuses (models.ErrReceiverInvalid's reason)."""


def receiver_invalid_public(reason: str) -> ApiError:
    """ErrReceiverInvalid as errhttp writes it (the test route is not an apiserver route)."""
    return public_error(
        400,
        "alerting.notifications.receivers.invalid",
        f"Invalid receiver: '{reason}'",
        {"Reason": reason},
    )


def provenance_from(meta: Mapping[str, Any]) -> str:
    """ProvenanceFromString of the annotation: "" or "none" is none; ValueError otherwise."""
    value = (meta.get("annotations") or {}).get(PROVENANCE_ANNOTATION, "")
    if value == "none":
        return ""
    if value not in KNOWN_PROVENANCES:
        raise ValueError(f"invalid provenance status: {value}")
    return value


def check_provenance_change(stored: str, requested: str) -> None:
    try:
        check_relaxed_provenance(stored, requested)
    except ApiError as exc:
        raise as_status(exc) from None


# --------------------------------------------------------------------------------------------
# Request bodies: the snapshot's schemas
# --------------------------------------------------------------------------------------------


@cache
def _schemas() -> dict[str, Any]:
    return json.loads(SCHEMAS_PATH.read_text(encoding="utf-8"))["components"]


@cache
def _validator(kind: str) -> jsonschema.Draft4Validator:
    root = {
        "components": _schemas(),
        "allOf": [{"$ref": f"#/components/schemas/{SCHEMA_PREFIX}{kind}"}],
    }
    return jsonschema.Draft4Validator(root)


def without_nulls(value: Any) -> Any:
    """What Go decodes of a JSON value: ``null`` on a field leaves the field at its zero."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def nil_routes_as_empty(body: Any) -> Any:
    """A routing tree's ``spec.routes: null`` (what GET answers for a tree without routes) is
    the nil slice Go decodes it to, not a missing required property."""
    spec = body.get("spec") if isinstance(body, dict) else None
    if isinstance(spec, dict) and "routes" in spec and spec["routes"] is None:
        return {**body, "spec": {**spec, "routes": []}}
    return body


def schema_errors(kind: str, body: Any) -> list[str]:
    found = list(_validator(kind).iter_errors(body))
    if not found:
        return []
    best = best_match(found)
    return [describe_error(e) for e in (best, *(e for e in found if e is not best))]


def check_test_body(body: Any) -> list[str]:
    """What json.Decode into CreateReceiverIntegrationTestRequestBody refuses (the snapshot has
    no schema for the test route's body; apps/alerting/notifications .../v1beta1
    receiver_createreceiverintegrationtest_request_body_types_gen.go and the handler)."""

    def string_map(value: Any) -> bool:
        return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())

    if not isinstance(body, dict):
        return ["$: the body is not a JSON object"]
    problems = []
    integration = body.get("integration")
    if integration is not None:
        if not isinstance(integration, dict):
            problems.append("$.integration: not an object")
        else:
            for key in ("type", "version", "uid"):
                if key in integration and not isinstance(integration[key], str):
                    problems.append(f"$.integration.{key}: not a string")
            if not isinstance(integration.get("settings", {}), dict):
                problems.append("$.integration.settings: not an object")
            secure = integration.get("secureFields", {})
            if not isinstance(secure, dict) or not all(
                isinstance(v, bool) for v in secure.values()
            ):
                problems.append("$.integration.secureFields: not a map of booleans")
    ref = body.get("integrationRef")
    if ref is not None and not (isinstance(ref, dict) and isinstance(ref.get("uid", ""), str)):
        problems.append("$.integrationRef: not an object with a string uid")
    alert = body.get("alert", {})
    if not isinstance(alert, dict) or not all(
        string_map(alert.get(key, {})) for key in ("labels", "annotations")
    ):
        problems.append("$.alert: labels and annotations must be maps of strings")
    return problems


# --------------------------------------------------------------------------------------------
# Receivers <-> the legacy contact points (one OrgState.contact_points entry per integration)
# --------------------------------------------------------------------------------------------


def receivers_of(org: OrgState) -> dict[str, list[dict[str, Any]]]:
    """Every receiver: its title -> its integrations, in configuration order."""
    found: dict[str, list[dict[str, Any]]] = {}
    for integration in org.contact_points.values():
        found.setdefault(integration["name"], []).append(integration)
    return found


def receiver_provenance(integrations: Iterable[Mapping[str, Any]]) -> str:
    """The first integration provenance that is set (GetReceiverProvenance)."""
    return next((i["provenance"] for i in integrations if i["provenance"]), "")


def receiver_version(title: str, integrations: list[dict[str, Any]]) -> str:
    """models.Receiver.Fingerprint's inputs: uid, name, provenance and every integration's uid,
    type, disableResolveMessage, settings and secrets (secrets are in the stored settings)."""
    return fingerprint(
        [
            name_to_uid(title),
            title,
            receiver_provenance(integrations),
            [
                [i["uid"], i["type"], i["disableResolveMessage"], i["settings"]]
                for i in integrations
            ],
        ]
    )


def integration_out(integration: Mapping[str, Any]) -> dict[str, Any]:
    """An integration as the API shows it: secrets out of ``settings``, named in
    ``secureFields`` (omitted when empty)."""
    secret = SECRET_KEYS.get(integration["type"], ())
    stored = integration["settings"]
    out: dict[str, Any] = {
        "uid": integration["uid"],
        "type": integration["type"],
        "version": INTEGRATION_VERSION,
        "disableResolveMessage": integration["disableResolveMessage"],
        "settings": {k: copy.deepcopy(v) for k, v in stored.items() if k not in secret},
    }
    secure = {key: True for key in secret if stored.get(key)}
    if secure:
        out["secureFields"] = secure
    return out


def copy_secrets(
    pairs: list[tuple[dict[str, Any], list[str]]], stored: list[dict[str, Any]]
) -> None:
    """WithExistingSecureFields: each secret marked in ``secureFields`` of an integration sent
    with its uid takes the value stored for that uid."""
    by_uid = {i["uid"]: i for i in stored}
    for integration, keep in pairs:
        previous = by_uid.get(integration["uid"])
        for key in keep if previous is not None else ():
            if key in previous["settings"]:
                integration["settings"][key] = previous["settings"][key]


def rules_using(org: OrgState, key: str, name: str) -> list[str]:
    """The uids of the rules whose notification settings name ``name`` under ``key``."""
    found = []
    for uid, rule in org.alert_rules().items():
        value = (rule.get("notification_settings") or {}).get(key)
        if value == name or (isinstance(value, list) and name in value):
            found.append(uid)
    return sorted(found)


# --------------------------------------------------------------------------------------------
# The routing tree <-> the legacy policy tree (routingtree conversions)
# --------------------------------------------------------------------------------------------


def matchers_out(node: Mapping[str, Any]) -> list[dict[str, str]]:
    """match, match_re (by label), matchers, object_matchers as ``{label, type, value}``."""
    found = [
        {"label": k, "type": "=", "value": node["match"][k]}
        for k in sorted(node.get("match") or {})
    ]
    found += [
        {"label": k, "type": "=~", "value": node["match_re"][k]}
        for k in sorted(node.get("match_re") or {})
    ]
    parts = [split_matcher(m) for m in node.get("matchers") or []]
    parts += [list(m) for m in node.get("object_matchers") or []]
    found += [{"label": n, "type": op, "value": v} for n, op, v in parts]
    return found


def route_out(node: Mapping[str, Any]) -> dict[str, Any]:
    """convertRouteToK8sSubRoute (omitempty fields omitted; ``continue`` always there)."""
    out: dict[str, Any] = {}
    if node.get("receiver"):
        out["receiver"] = node["receiver"]
    matchers = matchers_out(node)
    if matchers:
        out["matchers"] = matchers
    out["continue"] = bool(node.get("continue"))
    for key in ("group_by", "mute_time_intervals", "active_time_intervals"):
        if node.get(key):
            out[key] = list(node[key])
    if node.get("routes"):
        out["routes"] = [route_out(child) for child in node["routes"]]
    for key in ("group_wait", "group_interval", "repeat_interval"):
        if node.get(key) is not None:
            out[key] = node[key]
    return out


def tree_spec(tree: Mapping[str, Any]) -> dict[str, Any]:
    """ConvertToK8sResource: the root's settings as ``defaults``; ``routes`` is null when the
    root has none (RoutingTreeSpec.Routes has no omitempty and stays nil)."""
    defaults: dict[str, Any] = {"receiver": tree.get("receiver", "")}
    if tree.get("group_by"):
        defaults["group_by"] = list(tree["group_by"])
    for key in ("group_wait", "group_interval", "repeat_interval"):
        if tree.get(key) is not None:
            defaults[key] = tree[key]
    routes = [route_out(child) for child in tree.get("routes") or []]
    return {"defaults": defaults, "routes": routes or None}


def _duration(value: Any, where: str, name: str, problems: list[str]) -> str | None:
    """parsePrometheusDuration: empty is unset; a bad one is reported with its route."""
    if not value:
        return None
    try:
        parse_prom_duration(value)
    except ValueError as exc:
        problems.append(f"{where} has invalid format of '{name}': {exc}")
        return None
    return value


def route_in(route: Mapping[str, Any], path: str, problems: list[str]) -> dict[str, Any]:
    """convertK8sSubRouteToRoute: matchers become object_matchers; errors collected."""
    where = f"route '{path}'"
    out: dict[str, Any] = {"continue": bool(route.get("continue"))}
    if route.get("receiver"):
        out["receiver"] = route["receiver"]
    for key in ("group_by", "mute_time_intervals", "active_time_intervals"):
        if route.get(key):
            out[key] = list(route[key])
    for key, name in (
        ("group_wait", "groupWait"),
        ("group_interval", "groupInterval"),
        ("repeat_interval", "repeatInterval"),
    ):
        value = _duration(route.get(key), where, name, problems)
        if value is not None:
            out[key] = value
    matchers = []
    for matcher in route.get("matchers") or []:
        label, kind, value = matcher["label"], matcher["type"], matcher["value"]
        if kind not in MATCH_OPERATORS:
            problems.append(f"{where} has unsupported matcher type: {kind}")
            continue
        if kind in ("=~", "!~"):
            try:
                re.compile(value)
            except re.error as exc:
                problems.append(f"{where} has illegal matcher: {exc}")
                continue
        matchers.append([label, kind, value])
    if matchers:
        out["object_matchers"] = matchers
    children = [
        route_in(child, f"{path}[{index}]", problems)
        for index, child in enumerate(route.get("routes") or [])
    ]
    if children:
        out["routes"] = children
    return out


def tree_in(spec: Mapping[str, Any], problems: list[str]) -> dict[str, Any]:
    """convertToDomainModel of a RoutingTree (the legacy Route, before normalisation)."""
    defaults = spec.get("defaults") or {}
    out: dict[str, Any] = {"receiver": defaults.get("receiver", "")}
    if defaults.get("group_by"):
        out["group_by"] = list(defaults["group_by"])
    for key, name in (
        ("group_wait", "groupWait"),
        ("group_interval", "groupInterval"),
        ("repeat_interval", "repeatInterval"),
    ):
        value = _duration(defaults.get(key), "obj '.'", name, problems)
        if value is not None:
            out[key] = value
    routes = [route_in(r, f".[{i}]", problems) for i, r in enumerate(spec.get("routes") or [])]
    if routes:
        out["routes"] = routes
    return out


# --------------------------------------------------------------------------------------------
# The resources
# --------------------------------------------------------------------------------------------

# A stand-in for the content of Grafana's built-in template (templates.DefaultTemplate).
DEFAULT_TEMPLATE_CONTENT = '{{ define "__subject" }}[{{ .Status | toUpper }}]{{ end }}\n'


@dataclass
class _LegacyCtx(Ctx):
    """A legacy handler's view of an app-platform request: its provenance is the annotation's
    (the legacy ``Ctx.provenance`` reads the X-Disable-Provenance header)."""

    requested_provenance: str = ""

    @property
    def provenance(self) -> str:
        return self.requested_provenance


class NotificationsApp:
    """The handlers. ``api`` is fake_grafana's ``_Api`` (its legacy handlers and validators)."""

    def __init__(self, api: Any, group: str, version: str) -> None:
        self.api = api
        self.fake = api.fake
        self.group = group
        self.api_version = f"{group}/{version}"

    # -- shared -----------------------------------------------------------------------------

    def metadata(
        self, ctx: Ctx, kind: str, name: str, version: str, annotations: dict[str, str]
    ) -> dict[str, Any]:
        return {
            "name": name,
            "namespace": ctx.namespace,
            # CalculateClusterWideUID: stable per group, kind, namespace and name.
            "uid": fingerprint([self.group, kind, ctx.namespace, name]),
            "resourceVersion": version,
            "creationTimestamp": None,  # metav1.Time's zero value marshals as null
            "annotations": annotations,
        }

    def resource(
        self, ctx: Ctx, kind: str, name: str, version: str, annotations: dict, spec: dict
    ) -> dict[str, Any]:
        meta = self.metadata(ctx, kind, name, version, annotations)
        return {"kind": kind, "apiVersion": self.api_version, "metadata": meta, "spec": spec}

    def listing(self, kind: str, items: list[dict[str, Any]]) -> Reply:
        body = {"kind": f"{kind}List", "apiVersion": self.api_version, "metadata": {}}
        return Reply(200, {**body, "items": items})

    def refuse(self, ctx: Ctx, operation: str, errors: list[str]) -> ApiError:
        """Keep a body real Grafana would refuse, and answer the 400 the decoder would."""
        self.fake.record_violation(ctx.method, ctx.path, operation, errors, ctx.body)
        return k8s_status(400, f"fake grafana: request body does not match the schema: {errors[0]}")

    def body(self, ctx: Ctx, kind: str, operation: str) -> dict[str, Any]:
        """The request object, schema-checked as Go decodes it, with the apiserver's checks of
        its kind, apiVersion and namespace (handlers/create.go, update.go)."""
        body = without_nulls(nil_routes_as_empty(ctx.body))
        errors = schema_errors(kind, body)
        if errors:
            raise self.refuse(ctx, operation, errors)
        for key, wanted in (("apiVersion", self.api_version), ("kind", kind)):
            if body[key] != wanted:
                raise self.refuse(
                    ctx, operation, [f"$.{key}: {body[key]!r} is not {wanted!r} for this path"]
                )
        namespace = body["metadata"].get("namespace")
        if namespace and namespace != ctx.namespace:
            raise k8s_status(
                400,
                "the namespace of the provided object does not match the namespace sent on the "
                "request",
            )
        return body

    @staticmethod
    def created(body: Mapping[str, Any]) -> None:
        """Storage.Create: the name is derived, so a client may not choose it."""
        if body["metadata"].get("name"):
            raise k8s_status(400, "object's metadata.name should be empty")

    def same_name(self, ctx: Ctx, body: Mapping[str, Any]) -> None:
        """The apiserver's checkName for a PUT."""
        given, wanted = body["metadata"].get("name", ""), ctx.params["name"]
        if given != wanted:
            raise k8s_status(
                400,
                f"the name of the object ({given}) does not match the name on the URL ({wanted})",
            )

    @staticmethod
    def precondition(ctx: Ctx) -> str:
        """DeleteOptions' ``preconditions.resourceVersion`` ("" when not given)."""
        options = ctx.body if isinstance(ctx.body, dict) else {}
        return str((options.get("preconditions") or {}).get("resourceVersion") or "")

    def legacy(
        self,
        ctx: Ctx,
        handler: Callable[[Ctx], Reply],
        *,
        params: dict[str, str],
        body: Any = None,
        query: dict[str, list[str]] | None = None,
        provenance: str = "",
    ) -> Reply:
        """Run a legacy provisioning handler on this request's org; its errors as Status."""
        legacy = _LegacyCtx(
            ctx.method,
            ctx.path,
            params,
            query or {},
            ctx.headers,
            body,
            ctx.org,
            ctx.principal,
            ctx.namespace,
            provenance,
        )
        try:
            return handler(legacy)
        except ApiError as exc:
            raise as_status(exc) from None
        except BadRequestData as exc:
            raise k8s_status(400, str(exc)) from None

    # -- receivers ----------------------------------------------------------------------------

    def access_annotations(self, ctx: Ctx) -> dict[str, str]:
        """conversions' permissionMapper for what the caller may do."""
        granted = ctx.principal.permissions
        actions = []
        if PERM_PROVISIONING_SECRETS_READ in granted:
            actions.append("canReadSecrets")
        if set(WRITE) & granted:
            actions += ["canAdmin", "canWrite", "canDelete", "canModifyProtected", "canTest"]
        return {f"grafana.com/access/{action}": "true" for action in actions}

    def receiver_object(
        self, ctx: Ctx, title: str, integrations: list[dict[str, Any]], detailed: bool
    ) -> dict[str, Any]:
        annotations = {PROVENANCE_ANNOTATION: receiver_provenance(integrations)}
        if detailed:  # Get/List add access and in-use metadata; Create/Update do not
            annotations.update(self.access_annotations(ctx))
            routes = sum(1 for node in ctx.org.routes() if node.get("receiver") == title)
            annotations["grafana.com/inUse/routes"] = str(routes)
            annotations["grafana.com/inUse/rules"] = str(
                len(rules_using(ctx.org, "receiver", title))
            )
            annotations["grafana.com/canUse"] = "true"
        spec = {"title": title, "integrations": [integration_out(i) for i in integrations]}
        version = receiver_version(title, integrations)
        return self.resource(ctx, "Receiver", name_to_uid(title), version, annotations, spec)

    def find_receiver(self, ctx: Ctx, uid: str) -> tuple[str, list[dict[str, Any]]]:
        title = uid_to_name(uid)
        if title is None:
            raise k8s_not_found(self.group, "receivers", uid)
        integrations = receivers_of(ctx.org).get(title)
        if integrations is None:
            raise grafana_status(
                404, "alerting.notifications.receivers.notFound", "Receiver not found"
            )
        return title, integrations

    def list_receivers(self, ctx: Ctx) -> Reply:
        items = [
            self.receiver_object(ctx, title, integrations, detailed=True)
            for title, integrations in receivers_of(ctx.org).items()
        ]
        return self.listing("Receiver", items)

    def get_receiver(self, ctx: Ctx) -> Reply:
        title, integrations = self.find_receiver(ctx, ctx.params["name"])
        return Reply(200, self.receiver_object(ctx, title, integrations, detailed=True))

    @staticmethod
    def integrations_in(
        title: str, raws: Iterable[Mapping[str, Any]], provenance: str
    ) -> list[tuple[dict[str, Any], list[str]]]:
        """convertReceiverIntegrationToIntegration: each integration as stored and the secret
        keys to copy from the stored one (only for an integration sent with its uid).
        InvalidReceiver for an unknown type or version."""
        found = []
        for raw in raws:
            kind = raw.get("type", "")
            if kind not in SECRET_KEYS:
                raise InvalidReceiver(f"invalid integration type: {kind}")
            version = raw.get("version") or INTEGRATION_VERSION
            if version != INTEGRATION_VERSION:
                raise InvalidReceiver(f"invalid version {version} for integration type {kind}")
            uid = raw.get("uid", "")
            keep = [key for key, marked in (raw.get("secureFields") or {}).items() if marked]
            integration = {
                "uid": uid,
                "name": title,
                "type": kind,
                "settings": copy.deepcopy(raw.get("settings") or {}),
                "disableResolveMessage": bool(raw.get("disableResolveMessage", False)),
                "provenance": provenance,
            }
            found.append((integration, keep if uid else []))
        return found

    def settings_problem(self, title: str, integrations: Iterable[Mapping[str, Any]]) -> str:
        """validateReceiver: what grafana/alerting's config factories refuse ("" = valid)."""
        for integration in integrations:
            problem = self.api._integration_problem(integration["type"], integration["settings"])
            if problem:
                return (
                    f'failed to validate integration "{title}" (UID {integration["uid"]}) of '
                    f'type "{integration["type"]}": {problem}'
                )
        return ""

    @staticmethod
    def check_identity(
        org: OrgState, title: str, integrations: list[dict[str, Any]], replacing: str
    ) -> None:
        """validateAndSetIntegrationUIDs and the revision's ValidateReceiver: a name and
        integration uids no other receiver has; a missing uid is generated."""
        if not title:
            raise receiver_invalid("receiver name is required")
        others = {k: v for k, v in receivers_of(org).items() if k != replacing}
        if title in others:
            raise receiver_invalid(f'name "{title}" already exists')
        taken = {i["uid"] for group in others.values() for i in group}
        for integration in integrations:
            uid = integration["uid"] or new_uid()
            if not _UID_RE.match(uid):
                raise receiver_invalid(f'integration UID "{uid}" is invalid')
            if uid in taken:
                raise receiver_invalid(f'integration with UID "{uid}" already exists')
            taken.add(uid)
            integration["uid"] = uid

    @staticmethod
    def store_receiver(org: OrgState, replacing: str, integrations: list[dict[str, Any]]) -> None:
        """Put a receiver's integrations where the replaced ones were (else at the end)."""
        stored: dict[str, dict[str, Any]] = {}
        placed = False
        for uid, integration in org.contact_points.items():
            if integration["name"] != replacing:
                stored[uid] = integration
            elif not placed:
                stored.update((i["uid"], i) for i in integrations)
                placed = True
        if not placed:
            stored.update((i["uid"], i) for i in integrations)
        org.contact_points.clear()
        org.contact_points.update(stored)

    def create_receiver(self, ctx: Ctx) -> Reply:
        body = self.body(ctx, "Receiver", "createReceiver")
        self.created(body)
        spec = body["spec"]
        title = spec["title"]
        try:
            provenance = provenance_from(body["metadata"])
            integrations = [
                i for i, _ in self.integrations_in(title, spec["integrations"], provenance)
            ]
        except (ValueError, InvalidReceiver) as exc:
            raise receiver_invalid(str(exc)) from None
        problem = self.settings_problem(title, integrations)
        if problem:
            raise receiver_invalid(problem)
        if title in receivers_of(ctx.org):
            raise grafana_status(
                409,
                "alerting.notifications.receivers.exists",
                "Receiver with this name already exists. Use a different name or update an "
                "existing one.",
            )
        self.check_identity(ctx.org, title, integrations, replacing="")
        self.store_receiver(ctx.org, "", integrations)
        return Reply(201, self.receiver_object(ctx, title, integrations, detailed=False))

    def replace_receiver(self, ctx: Ctx) -> Reply:
        current_title, current = self.find_receiver(ctx, ctx.params["name"])
        body = self.body(ctx, "Receiver", "replaceReceiver")
        self.same_name(ctx, body)
        meta, spec = body["metadata"], body["spec"]
        title = spec["title"]
        try:
            provenance = provenance_from(meta)
            pairs = self.integrations_in(title, spec["integrations"], provenance)
        except (ValueError, InvalidReceiver) as exc:
            raise receiver_invalid(str(exc)) from None
        wanted = meta.get("resourceVersion", "")
        current_version = receiver_version(current_title, current)
        if wanted != current_version:  # no empty-version exemption for receivers
            raise self.receiver_conflict(current_title, wanted, current_version)
        check_provenance_change(receiver_provenance(current), provenance)
        copy_secrets(pairs, current)
        integrations = [i for i, _ in pairs]
        problem = self.settings_problem(title, integrations)
        if problem:
            raise receiver_invalid(problem)
        self.check_identity(ctx.org, title, integrations, replacing=current_title)
        self.store_receiver(ctx.org, current_title, integrations)
        if title != current_title:
            self.api._rename_receiver(ctx.org, current_title, title)
        return Reply(200, self.receiver_object(ctx, title, integrations, detailed=False))

    @staticmethod
    def receiver_conflict(title: str, wanted: str, current: str) -> ApiError:
        return grafana_status(
            409,
            "alerting.notifications.receivers.conflict",
            f"Provided version '{wanted}' of receiver '{title}' does not match current version "
            f"'{current}'",
            {"Version": wanted, "CurrentVersion": current, "Name": title},
        )

    def delete_receiver(self, ctx: Ctx) -> Reply:
        title, integrations = self.find_receiver(ctx, ctx.params["name"])
        old = self.receiver_object(ctx, title, integrations, detailed=True)
        wanted, current = self.precondition(ctx), receiver_version(title, integrations)
        if wanted and wanted != current:
            raise self.receiver_conflict(title, wanted, current)
        rules = rules_using(ctx.org, "receiver", title)
        routes = any(node.get("receiver") == title for node in ctx.org.routes())
        if rules or routes:  # makeReceiverInUseErr
            used = ([f"{len(rules)} rule(s)"] if rules else []) + (
                ["one or more routes"] if routes else []
            )
            extra: dict[str, Any] = {"UsedBy": ", ".join(used)}
            if rules:
                extra["UsedByRules"] = rules
            if routes:
                extra["UsedByRoutes"] = True
            raise grafana_status(
                409,
                "alerting.notifications.receivers.used",
                f"Receiver is used by {extra['UsedBy']}",
                extra,
            )
        for integration in integrations:
            del ctx.org.contact_points[integration["uid"]]
        return Reply(200, old)

    # -- the test subresource -----------------------------------------------------------------

    def test_receiver(self, ctx: Ctx) -> Reply:
        """POST .../receivers/{name}/test (the receiver testing handler and service)."""
        body = without_nulls(ctx.body) if ctx.body is not None else None
        problems = check_test_body(body)
        if problems:
            self.fake.record_violation(
                ctx.method, ctx.path, "createReceiverTest", problems, ctx.body
            )
            raise public_error(400, "alerting.notifications.receivers.testing.invalid", problems[0])
        name = ctx.params["name"]
        receiver_uid = "" if name == NEW_RECEIVER else name
        integration, ref = body.get("integration"), body.get("integrationRef")

        def invalid(reason: str) -> ApiError:
            return public_error(
                400,
                "alerting.notifications.receivers.testing.invalid",
                f"Invalid request to test integration: {reason}",
                {"Reason": reason},
            )

        if integration is not None and ref is not None:
            raise invalid("integrationRef and integration cannot be set at the same time")
        if integration is None and ref is None:
            raise invalid("integrationRef or integration must be set")
        if not receiver_uid:
            if ref is not None:
                raise invalid(
                    "only full integration configuration must be provided for testing a new "
                    "receiver"
                )
            if "uid" in integration:
                raise invalid("integration UID must be empty when testing a new receiver")
            if integration.get("secureFields"):
                raise invalid("integration must not have secure fields when testing a new receiver")
        elif ref is not None and not ref.get("uid"):
            raise invalid("integrationRef UID must be set")
        elif (
            integration is not None
            and not integration.get("uid")
            and integration.get("secureFields")
        ):
            raise invalid("integration must have a UID to be tested with patched secure settings")
        title, stored = "test-receiver", None
        if receiver_uid:
            try:
                title, found = self.find_receiver(ctx, receiver_uid)
            except ApiError:
                raise public_error(
                    404, "alerting.notifications.receivers.notFound", "Receiver not found"
                ) from None
            uid = (ref or integration).get("uid", "")
            stored = next((i for i in found if i["uid"] == uid), None)
            if uid and stored is None:
                raise public_error(
                    404,
                    "alerting.notifications.receivers.testing.integrationNotFound",
                    "Integration not found",
                )
        if ref is not None:
            assert stored is not None
            tested = copy.deepcopy(stored)
        else:
            try:
                pairs = self.integrations_in(title, [integration], "")
            except InvalidReceiver as exc:  # errutil errors go out through errhttp.Write
                raise receiver_invalid_public(str(exc)) from None
            copy_secrets(pairs, [stored] if stored is not None else [])
            tested = pairs[0][0]
        problem = self.api._integration_problem(tested["type"], tested["settings"])
        if problem:
            raise receiver_invalid_public(problem)
        failure = self.fake.delivery_error(tested["type"], tested["settings"])
        ctx.org.test_notifications.append(
            {
                "receiver": title,
                "name": title,
                "uid": tested["uid"],
                "type": tested["type"],
                "settings": tested["settings"],
                "alert": notification_test_alert(body.get("alert") or {}),
                "status": "failed" if failure else "ok",
                "error": failure,
            }
        )
        result: dict[str, Any] = {"status": "failure" if failure else "success", "duration": "1ms"}
        if failure:
            result["error"] = failure
        return Reply(200, result)

    # -- time intervals -----------------------------------------------------------------------

    def interval_object(self, ctx: Ctx, timing: dict[str, Any]) -> dict[str, Any]:
        version = self.api.mute_timing_out(timing)["version"]
        annotations = {PROVENANCE_ANNOTATION: timing["provenance"], "grafana.com/canUse": "true"}
        spec = {"name": timing["name"], "time_intervals": copy.deepcopy(timing["time_intervals"])}
        uid = name_to_uid(timing["name"])
        return self.resource(ctx, "TimeInterval", uid, version, annotations, spec)

    def find_interval(self, ctx: Ctx) -> dict[str, Any]:
        name = uid_to_name(ctx.params["name"])
        timing = ctx.org.mute_timings.get(name) if name is not None else None
        if timing is None:  # the storage's Get looks the uid up itself: apierrors.NewNotFound
            raise k8s_not_found(self.group, "timeintervals", ctx.params["name"])
        return timing

    def interval_in(self, ctx: Ctx, body: Mapping[str, Any], operation: str) -> tuple[dict, str]:
        """convertToDomainModel: the legacy body and provenance, or ErrTimeIntervalInvalid."""

        def invalid(reason: str) -> ApiError:
            return grafana_status(
                400,
                "alerting.notifications.time-intervals.invalidFormat",
                "Time interval is in invalid format. Correct the payload and try again.",
                {"Error": reason},
            )

        spec = body["spec"]
        try:
            for item in spec["time_intervals"]:
                normalise_time_interval(item)
        except ValueError as exc:
            self.fake.record_violation(
                ctx.method, ctx.path, operation, [f"$.spec: {exc}"], ctx.body
            )
            raise invalid(str(exc)) from None
        try:
            provenance = provenance_from(body["metadata"])
        except ValueError as exc:
            raise invalid(str(exc)) from None
        if not spec["name"]:
            raise invalid("missing name in mute time interval")
        return {"name": spec["name"], "time_intervals": spec["time_intervals"]}, provenance

    def list_intervals(self, ctx: Ctx) -> Reply:
        found = sorted(ctx.org.mute_timings.values(), key=lambda t: t["name"])
        return self.listing("TimeInterval", [self.interval_object(ctx, t) for t in found])

    def get_interval(self, ctx: Ctx) -> Reply:
        return Reply(200, self.interval_object(ctx, self.find_interval(ctx)))

    def create_interval(self, ctx: Ctx) -> Reply:
        body = self.body(ctx, "TimeInterval", "createTimeInterval")
        self.created(body)
        legacy, provenance = self.interval_in(ctx, body, "createTimeInterval")
        self.legacy(ctx, self.api.create_mute_timing, params={}, body=legacy, provenance=provenance)
        return Reply(201, self.interval_object(ctx, ctx.org.mute_timings[legacy["name"]]))

    def replace_interval(self, ctx: Ctx) -> Reply:
        current = self.find_interval(ctx)
        body = self.body(ctx, "TimeInterval", "replaceTimeInterval")
        self.same_name(ctx, body)
        legacy, provenance = self.interval_in(ctx, body, "replaceTimeInterval")
        if legacy["name"] != current["name"] and legacy["name"] in ctx.org.mute_timings:
            raise grafana_status(
                400,
                "alerting.notifications.time-intervals.nameExists",
                "Time interval with this name already exists. Use a different name or update "
                "existing one.",
            )
        legacy["version"] = body["metadata"].get("resourceVersion", "")
        # The path names the interval by uid, so the legacy handler renames it if asked.
        params = {"name": ctx.params["name"]}
        self.legacy(
            ctx, self.api.put_mute_timing, params=params, body=legacy, provenance=provenance
        )
        return Reply(200, self.interval_object(ctx, ctx.org.mute_timings[legacy["name"]]))

    def delete_interval(self, ctx: Ctx) -> Reply:
        timing = self.find_interval(ctx)
        old = self.interval_object(ctx, timing)
        version = self.precondition(ctx)
        query = {"version": [version]} if version else {}
        params, stored = {"name": timing["name"]}, timing["provenance"]
        self.legacy(ctx, self.api.delete_mute_timing, params=params, query=query, provenance=stored)
        return Reply(200, old)

    # -- template groups ----------------------------------------------------------------------

    def template_object(self, ctx: Ctx, template: Mapping[str, Any]) -> dict[str, Any]:
        content = template["template"]
        annotations = {PROVENANCE_ANNOTATION: template["provenance"]}
        spec = {"title": template["name"], "content": content, "kind": "grafana"}
        uid = name_to_uid(template["name"])
        return self.resource(
            ctx, "TemplateGroup", uid, template_version(content), annotations, spec
        )

    @staticmethod
    def default_template() -> dict[str, Any]:
        return {
            "name": DEFAULT_TEMPLATE_NAME,
            "template": DEFAULT_TEMPLATE_CONTENT,
            "provenance": "system",
        }

    def find_template(self, ctx: Ctx, with_default: bool) -> dict[str, Any]:
        """GetTemplate by uid or name (the built-in one only where the storage serves it)."""
        given = ctx.params["name"]
        names = {given, uid_to_name(given)}
        if with_default and DEFAULT_TEMPLATE_NAME in names:
            return self.default_template()
        found = next((t for n, t in ctx.org.templates.items() if n in names), None)
        if found is None:
            raise grafana_status(404, "alerting.notifications.templates.notFound", "Not found")
        return found

    def template_in(self, body: Mapping[str, Any]) -> tuple[str, str, str]:
        """The title, the content as stored, and the provenance of a TemplateGroup body."""
        spec = body["spec"]
        title = spec["title"]
        if title == DEFAULT_TEMPLATE_NAME:
            raise k8s_status(400, f"template name '{DEFAULT_TEMPLATE_NAME}' is reserved")
        try:
            provenance = provenance_from(body["metadata"])
        except ValueError as exc:
            raise k8s_status(400, str(exc)) from None
        if spec["kind"] != "grafana":  # the config stores Grafana templates only
            raise grafana_status(
                400,
                "alerting.notifications.templates.invalidFormat",
                "Template is in invalid format. Correct the payload and try again.",
                {"Error": f"template kind {spec['kind']!r} cannot be written"},
            )
        try:
            content = self.api._check_template(title, spec["content"])
        except ApiError as exc:
            raise as_status(exc) from None
        return title, content, provenance

    def list_templates(self, ctx: Ctx) -> Reply:
        found = sorted(ctx.org.templates.values(), key=lambda t: t["name"])
        items = [self.template_object(ctx, t) for t in [self.default_template(), *found]]
        return self.listing("TemplateGroup", items)

    def get_template(self, ctx: Ctx) -> Reply:
        return Reply(200, self.template_object(ctx, self.find_template(ctx, with_default=True)))

    @staticmethod
    def template_exists() -> ApiError:
        return grafana_status(
            400,
            "alerting.notifications.templates.nameExists",
            "Template file with this name already exists. Use a different name or update "
            "existing one.",
        )

    def create_template(self, ctx: Ctx) -> Reply:
        body = self.body(ctx, "TemplateGroup", "createTemplateGroup")
        self.created(body)
        title, content, provenance = self.template_in(body)
        if title in ctx.org.templates:
            raise self.template_exists()
        template = {"name": title, "template": content, "provenance": provenance}
        ctx.org.templates[title] = template
        return Reply(201, self.template_object(ctx, template))

    def replace_template(self, ctx: Ctx) -> Reply:
        current = self.find_template(ctx, with_default=False)
        body = self.body(ctx, "TemplateGroup", "replaceTemplateGroup")
        self.same_name(ctx, body)
        title, content, provenance = self.template_in(body)
        wanted = body["metadata"].get("resourceVersion", "")
        if wanted and wanted != template_version(current["template"]):
            raise grafana_status(409, "alerting.notifications.conflict", "Conflict")
        check_provenance_change(current["provenance"], provenance)
        if title != current["name"]:  # UpdateTemplate by uid renames
            if title in ctx.org.templates:
                raise self.template_exists()
            del ctx.org.templates[current["name"]]
        template = {"name": title, "template": content, "provenance": provenance}
        ctx.org.templates[title] = template
        return Reply(200, self.template_object(ctx, template))

    def delete_template(self, ctx: Ctx) -> Reply:
        template = self.find_template(ctx, with_default=True)
        old = self.template_object(ctx, template)
        if template["name"] == DEFAULT_TEMPLATE_NAME:
            return Reply(200, old)  # DeleteTemplate of a name the config lacks does nothing
        version = self.precondition(ctx)
        query = {"version": [version]} if version else {}
        params, stored = {"name": template["name"]}, template["provenance"]
        self.legacy(ctx, self.api.delete_template, params=params, query=query, provenance=stored)
        return Reply(200, old)

    # -- routing trees: the default one and, with alertingMultiplePolicies, named ones ---------
    # routingtree/legacy_storage.go (v1beta1): every verb goes to the routes service by name
    # (GetManagedRoute(s), CreateManagedRoute, UpdateManagedRoute, DeleteManagedRoute); without
    # the toggle the service serves the default tree only (managedRoutesEnabled).

    def multiple_trees(self) -> bool:
        return self.fake.feature_enabled(MULTIPLE_POLICIES)

    @staticmethod
    def stored_tree(org: OrgState, name: str) -> tuple[dict[str, Any], str]:
        """The root Route and provenance of a tree by its canonical name."""
        if name == USER_DEFINED_TREE:
            return org.policy_tree, org.policy_provenance
        return org.managed_routes[name], org.managed_provenance.get(name, "")

    def tree_version(self, org: OrgState, name: str = USER_DEFINED_TREE) -> str:
        """calculateRouteFingerprint: the tree and its provenance (and a named tree's name)."""
        tree, provenance = self.stored_tree(org, name)
        return fingerprint(
            [tree, provenance] if name == USER_DEFINED_TREE else [name, tree, provenance]
        )

    def tree_object(self, ctx: Ctx, name: str = USER_DEFINED_TREE) -> dict[str, Any]:
        tree, provenance = self.stored_tree(ctx.org, name)
        annotations = {PROVENANCE_ANNOTATION: provenance}
        version = self.tree_version(ctx.org, name)
        return self.resource(ctx, "RoutingTree", name, version, annotations, tree_spec(tree))

    def find_tree(self, ctx: Ctx) -> str:
        """The canonical name of the tree the path names (``default`` is the default tree's
        alias), or ErrRouteNotFound (named trees only exist while the toggle is on)."""
        name = ctx.params["name"]
        if name in TREE_NAMES:
            return USER_DEFINED_TREE
        if self.multiple_trees() and name in ctx.org.managed_routes:
            return name
        raise grafana_status(404, "alerting.notifications.routes.notFound", "Route not found")

    def tree_body(self, ctx: Ctx, operation: str) -> tuple[dict[str, Any], dict[str, Any], str]:
        """The request object, its Route (convertToDomainModel) and its provenance."""
        body = self.body(ctx, "RoutingTree", operation)
        problems: list[str] = []
        tree = tree_in(body["spec"], problems)
        if problems:
            self.fake.record_violation(ctx.method, ctx.path, operation, problems, ctx.body)
            raise route_invalid("\n".join(problems))
        try:
            provenance = provenance_from(body["metadata"])
        except ValueError as exc:
            raise route_invalid(str(exc)) from None
        return body, tree, provenance

    def normalised(self, tree: dict[str, Any]) -> dict[str, Any]:
        try:
            return self.api.normalise_route(tree)
        except BadRequestData as exc:
            raise k8s_status(400, str(exc)) from None

    def check_named_tree(self, org: OrgState, tree: dict[str, Any], references: bool) -> None:
        """subtree.Validate() (the Route's own rules) or, with ``references``, the revision's
        ValidateRoute (receivers and time intervals exist): ErrRouteInvalidFormat."""
        if references:
            problem = self.api.reference_problem(org, tree)
            active = self.api.unknown_active_interval(org, tree)
            if problem is None and active is not None:  # [infer] wording
                problem = f"active time interval '{active}' does not exist"
        else:
            problem = self.api.structure_problem(tree)
        if problem:
            raise route_invalid(problem)

    def list_trees(self, ctx: Ctx) -> Reply:
        """GetManagedRoutes: the named trees by name, the default tree last (ManagedRoutes.Sort)."""
        names = sorted(ctx.org.managed_routes) if self.multiple_trees() else []
        items = [self.tree_object(ctx, name) for name in [*names, USER_DEFINED_TREE]]
        return self.listing("RoutingTree", items)

    def get_tree(self, ctx: Ctx) -> Reply:
        return Reply(200, self.tree_object(ctx, self.find_tree(ctx)))

    def create_tree(self, ctx: Ctx) -> Reply:
        """Storage.Create -> CreateManagedRoute(metadata.name, ...): the toggle, the Route's
        rules, the name (validateManagedRouteName, reserved, taken), its references."""
        body, tree, provenance = self.tree_body(ctx, "createRoutingTree")
        if not self.multiple_trees():  # ErrMultipleRoutesNotSupported (errutil.NotImplemented)
            raise k8s_status(
                501,
                f'Multiple routes are not supported, see feature toggle "{MULTIPLE_POLICIES}"',
                "Not implemented",  # errutil StatusNotImplemented as the Status reason
                {"uid": "alerting.notifications.routes.multipleNotSupported"},
            )
        tree = self.normalised(tree)
        self.check_named_tree(ctx.org, tree, references=False)
        name = body["metadata"].get("name", "")
        problem = managed_route_name_problem(name)
        if problem:
            raise route_invalid(problem)
        if name in TREE_NAMES or name in ctx.org.managed_routes:  # reserved, or taken
            raise route_exists()
        self.check_named_tree(ctx.org, tree, references=True)
        ctx.org.managed_routes[name] = tree
        ctx.org.managed_provenance[name] = provenance
        return Reply(201, self.tree_object(ctx, name))

    def replace_tree(self, ctx: Ctx) -> Reply:
        name = self.find_tree(ctx)
        body, tree, provenance = self.tree_body(ctx, "replaceRoutingTree")
        self.same_name(ctx, body)
        wanted = body["metadata"].get("resourceVersion", "")
        current = self.tree_version(ctx.org, name)
        if name == USER_DEFINED_TREE:  # through the legacy policy tree, as before 13.x
            if wanted and wanted != current:
                raise grafana_status(409, "alerting.notifications.conflict", "Conflict")
            self.legacy(ctx, self.api.put_policies, params={}, body=tree, provenance=provenance)
            return Reply(200, self.tree_object(ctx))
        # UpdateManagedRoute: Validate, the version (always compared), provenance, references.
        tree = self.normalised(tree)
        self.check_named_tree(ctx.org, tree, references=False)
        if wanted != current:
            raise route_version_conflict(name, current, wanted)
        check_provenance_change(ctx.org.managed_provenance.get(name, ""), provenance)
        self.check_named_tree(ctx.org, tree, references=True)
        ctx.org.managed_routes[name] = tree
        ctx.org.managed_provenance[name] = provenance
        return Reply(200, self.tree_object(ctx, name))

    def delete_tree(self, ctx: Ctx) -> Reply:
        """Storage.Delete passes the tree's own provenance (so even a locked tree goes) and
        DeleteOptions' precondition (optional); DeleteManagedRoute resets the default tree
        and deletes a named one. Nothing checks the rules that select it."""
        name = self.find_tree(ctx)
        old = self.tree_object(ctx, name)
        wanted = self.precondition(ctx)
        current = old["metadata"]["resourceVersion"]
        if wanted and wanted != current:
            raise route_version_conflict(name, current, wanted)
        if name == USER_DEFINED_TREE:
            self.api.reset_policies(ctx)
        else:
            del ctx.org.managed_routes[name]
            ctx.org.managed_provenance.pop(name, None)
        return Reply(200, old)


def register(api: Any, add: Callable[..., None], group: str, version: str) -> None:
    """Add the group version's routes to the fake's route table (fake_grafana's hook)."""
    app = NotificationsApp(api, group, version)
    base = f"/apis/{group}/{version}/namespaces/{{namespace}}"
    kinds = (
        ("receivers", app.list_receivers, app.create_receiver, app.get_receiver,
         app.replace_receiver, app.delete_receiver),
        ("timeintervals", app.list_intervals, app.create_interval, app.get_interval,
         app.replace_interval, app.delete_interval),
        ("templategroups", app.list_templates, app.create_template, app.get_template,
         app.replace_template, app.delete_template),
        ("routingtrees", app.list_trees, app.create_tree, app.get_tree,
         app.replace_tree, app.delete_tree),
    )  # fmt: skip
    for plural, list_, create, get, replace, delete in kinds:
        add("GET", f"{base}/{plural}", list_, *READ)
        add("POST", f"{base}/{plural}", create, *WRITE)
        add("GET", f"{base}/{plural}/{{name}}", get, *READ)
        add("PUT", f"{base}/{plural}/{{name}}", replace, *WRITE)
        add("DELETE", f"{base}/{plural}/{{name}}", delete, *WRITE)
    add("POST", f"{base}/receivers/{{name}}/test", app.test_receiver, *TEST)
