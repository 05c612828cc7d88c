"""Contact points, templates, mute timings and the stack's branch of the policy tree through
Grafana's app platform, notifications.alerting.grafana.app (its provisioning endpoints are
deprecated in Grafana 13; apps/NOTES.md §a, §b, §g). The labels, keys, owner marks and
comparisons are the legacy kinds' (notifications.py), which these reuse: a Grafana provisioned
through the legacy API plans no change once upgraded, but for a contact point being one object
(all its integrations) instead of one per integration.

Kubernetes semantics as Grafana implements them over the Alertmanager configuration the legacy
API writes too (pkg/registry/apps/alerting/notifications/{receiver,templategroup,timeinterval,
routingtree}/legacy_storage.go and conversions.go):
- objects live in the org's namespace (Stack.namespace); Grafana derives metadata.name from the
  title and refuses a create that names one (400), so it is read back from the lists;
- an update PUTs the whole object with the resourceVersion read, a stale one answers 409
  (``versioned``: plan's _make reads the object again and writes it once more);
- provenance is the annotation grafana.com/provenance: "api" locks like the legacy API,
  none (the annotation absent) leaves the object editable in the UI; reads say "", "none" or
  nothing for none. Grafana refuses to unlock (403), which plan says first (kind.locks); a
  DELETE passes the stored provenance, so a locked object goes like any other.
The managed-by annotations (grafana.app/managedBy, managerId) are not set: these storages keep
only the provenance (the receiver's conversions read no other annotation), and where the
ManagerProperties migration reads them (timeinterval/conversions.go) a manager kind implies a
provenance (ManagerPropertiesToProvenance: terraform, kubectl -> api), which would lock the
objects of a UI-editable stack. The names and uids above stay the ownership test, so objects
made through the legacy API are the stack's here too."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol
from urllib.parse import quote

from provisioning import ownership
from provisioning.client import GrafanaClient, GrafanaError
from provisioning.errors import ProvisioningError
from provisioning.kinds.base import PROVISIONING, Clash, Kind, Live, Lookalike, Stack, Wanted
from provisioning.kinds.notifications import (
    REDACTED,
    ContactPoints,
    MuteTimings,
    Routes,
    Templates,
    compared_settings,
    integrations_named,
    name_taken,
    normal_route,
    unlike_types,
    without_route,
)
from provisioning.kinds.rules import rule_owner
from provisioning.model import Definition
from provisioning.model.notifications import ContactPoint
from provisioning.server import MULTIPLE_POLICIES, NOTIFICATIONS
from provisioning.settings import GRAFANA_TREES

# apps/alerting/notifications/pkg/apis/alertingnotifications/v1beta1/ext.go
PROVENANCE = "grafana.com/provenance"
NO_PROVENANCE = ("", "none")
# The integration schema version of a new integration (ReceiverIntegration requires one).
INTEGRATION_VERSION = "v1"
# Where a receiver taken over keeps the integrations the write drops (no field of Grafana's).
DROPPED = "dropped integrations"
# TemplateGroupSpec.kind: the stack's templates are Grafana's ("mimir": imported ones).
TEMPLATE_KIND = "grafana"


class _Source(Protocol):
    def get(self, path: str) -> Any: ...


@dataclass(frozen=True)
class Resources:
    """One resource of the group in the stack's namespace, and its Kubernetes verbs."""

    api: str  # group/version
    namespace: str
    plural: str
    kind: str

    @property
    def path(self) -> str:
        return f"/apis/{self.api}/namespaces/{self.namespace}/{self.plural}"

    def item(self, obj: dict[str, Any]) -> str:
        return f"{self.path}/{quote(obj['metadata']['name'], safe='')}"

    def items(self, source: _Source) -> list[dict[str, Any]]:
        """Every object (the legacy-backed storages answer the whole list at once)."""
        return (source.get(self.path) or {}).get("items") or []

    def write(
        self,
        client: GrafanaClient,
        spec: dict[str, Any],
        live: dict[str, Any] | None,
        provenance: str,
        name: str = "",
    ) -> None:
        """Create (named ``name``; no name: Grafana derives it) or replace ``live`` with the
        version read."""
        metadata: dict[str, Any] = {"namespace": self.namespace}
        if name:
            metadata["name"] = name
        if live is not None:
            read = live["metadata"]
            metadata |= {"name": read["name"], "resourceVersion": read.get("resourceVersion", "")}
        if provenance:
            metadata["annotations"] = {PROVENANCE: provenance}
        body = {"apiVersion": self.api, "kind": self.kind, "metadata": metadata, "spec": spec}
        if live is None:
            client.request("POST", self.path, json=body)
        else:
            client.request("PUT", self.item(live), json=body)

    def delete(self, client: GrafanaClient, live: dict[str, Any]) -> None:
        client.request("DELETE", self.item(live), missing_ok=True)


def provenance(obj: dict[str, Any]) -> str:
    """The object's provenance as the legacy API says it ("" for none)."""
    value = ((obj.get("metadata") or {}).get("annotations") or {}).get(PROVENANCE, "")
    return "" if value in NO_PROVENANCE else value


class _App(Kind):
    """What the four kinds share: their collection, read whole once per plan (``read``) or
    again for one object (``fetch``), and indexed by the legacy kinds' keys."""

    versioned = True
    plural: ClassVar[str]
    resource: ClassVar[str]

    def __init__(self, stack: Stack, version: str) -> None:
        super().__init__(stack)
        self.api = f"{NOTIFICATIONS}/{version}"
        self.resources = Resources(self.api, stack.namespace, self.plural, self.resource)

    def read(self, live: Live, wanted: list[Wanted]) -> dict[str, Any]:
        return self._index(self.resources.items(live))

    def fetch(self, client: GrafanaClient, key: str) -> Any:
        return self._index(self.resources.items(client)).get(key)

    def _index(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        raise NotImplementedError


class AppTemplates(_App, Templates):
    """A template group per template; read in the legacy kind's shape (name, template,
    provenance), with the object it came from."""

    plural, resource = "templategroups", "TemplateGroup"

    def _index(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        found = {}
        for obj in items:
            spec = obj.get("spec") or {}
            if spec.get("kind", TEMPLATE_KIND) == TEMPLATE_KIND:  # not an imported one
                found[spec.get("title")] = {
                    "name": spec.get("title"),
                    "template": spec.get("content"),
                    "provenance": provenance(obj),
                    "object": obj,
                }
        return found

    def write(self, client: GrafanaClient, wanted: Wanted, live: Any) -> None:
        spec = {"title": wanted.key, "content": wanted.body["template"], "kind": TEMPLATE_KIND}
        self.resources.write(client, spec, live and live["object"], self.stack.provenance)

    def delete(self, client: GrafanaClient, key: str, live: Any) -> list[str]:
        self.resources.delete(client, live["object"])
        return []


class AppMuteTimings(_App, MuteTimings):
    """A time interval per mute timing, read in the legacy kind's shape."""

    plural, resource = "timeintervals", "TimeInterval"

    def _index(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        found = {}
        for obj in items:
            spec = obj.get("spec") or {}
            found[spec.get("name")] = {
                "name": spec.get("name"),
                "time_intervals": spec.get("time_intervals") or [],
                "provenance": provenance(obj),
                "object": obj,
            }
        return found

    def write(self, client: GrafanaClient, wanted: Wanted, live: Any) -> None:
        spec = {"name": wanted.key, "time_intervals": wanted.body["time_intervals"]}
        self.resources.write(client, spec, live and live["object"], self.stack.provenance)

    def delete(self, client: GrafanaClient, key: str, live: Any) -> list[str]:
        self.resources.delete(client, live["object"])
        return []


@dataclass
class WantedReceiver(Wanted):
    """A contact point as wanted: ``parts`` are its integrations, each as the legacy kind
    renders it (uid with the fingerprint of its secrets, settings, secret fields)."""

    parts: list[Wanted] = field(default_factory=list)


class AppContactPoints(_App):
    """A receiver per contact point, keyed by its name: one object holds every integration,
    so the plan lists a contact point once ("Telegram (telegram drift_...)"), and a rotated
    secret updates it (the integration gets its new uid, the old one goes in the same write).

    Grafana never answers a secret (secureFields says which are set); each integration's uid
    carries the fingerprint of its secrets as on the legacy API. An integration whose uid is
    unchanged is sent with that uid, its stored secrets left out of its settings and marked in
    secureFields, so Grafana keeps them (receiver/conversions.go convertToDomainModel, the
    service's WithExistingSecureFields); a new uid is sent with its secret values. Integrations
    of the contact point that carry no mark of the stack (added by hand) are kept as read."""

    label, model, locks = "contact point", ContactPoint, True
    plural, resource = "receivers", "Receiver"
    replaced_in_place = True  # a receiver's name is unique: no second one beside it

    def wanted(self, definitions: Iterable[Definition]) -> list[Wanted]:
        points: dict[str, list[Wanted]] = {}
        for part in ContactPoints(self.stack).wanted(definitions):
            points.setdefault(part.body["name"], []).append(part)
        return [self._receiver(name, parts) for name, parts in points.items()]

    @staticmethod
    def _receiver(name: str, parts: list[Wanted]) -> WantedReceiver:
        unresolved: dict[str, list[str]] = {}
        for part in parts:
            for variable, fields in part.unresolved.items():
                known = unresolved.setdefault(variable, [])
                known += [f for f in fields if f not in known]
        body = {"title": name, "integrations": [part.body for part in parts]}
        return WantedReceiver(name, body, unresolved, parts=parts)

    def _index(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        """The stack's contact points (those holding one of its integrations): a contact
        point of someone else's is a clash, named as on the legacy API."""
        mine = (obj for obj in items if self.owner(obj) == self.stack.name)
        return {(obj.get("spec") or {}).get("title"): obj for obj in mine}

    def owner(self, live: Any) -> str | None:
        marks = [ownership.integration_owner(i.get("uid")) for i in _integrations(live)]
        return next((mark for mark in marks if mark), None)

    def clash(self, wanted: Wanted, live: Live) -> Clash | None:
        taken = [o for o in self.resources.items(live) if _title(o) == wanted.key]
        if not taken:
            return None
        theirs = [i for obj in taken if self.owner(obj) is None for i in _integrations(obj)]
        return name_taken(wanted.key, unlike_types(theirs, _types(wanted)))

    def lookalikes(self, wanted: Wanted, live: Live) -> list[Lookalike]:
        """A receiver of the same name holding no integration of any stack, and one of a
        type of ours if any (else it is another contact point under our name: a clash); the
        hint names each of its integrations, which taking it over drops."""
        found = []
        for obj in self.resources.items(live):
            if _title(obj) != wanted.key or self.owner(obj) is not None:
                continue
            if unlike_types(_integrations(obj), _types(wanted)):
                continue
            held = integrations_named(_integrations(obj))
            hint = f"taking it over drops its integrations for ours: {held}" if held else ""
            name = f"contact point {wanted.key!r} (receiver)"
            found.append(Lookalike(wanted.key, obj, name, "same name", hint))
        return found

    def adoptable(self, wanted: Wanted, theirs: Lookalike) -> Any:
        """The receiver as a write takes it over: its integrations replaced by ours (the
        same object and name, so routes naming it go on working); those it drops are kept
        aside (``DROPPED``) for the plan to show."""
        spec = theirs.live.get("spec") or {}
        dropped = _integrations(theirs.live)
        return theirs.live | {"spec": spec | {"integrations": []}, DROPPED: dropped}

    def _mine(self, live: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The integrations of ``live`` the stack marks, and the others."""
        mine: list[dict[str, Any]] = []
        others: list[dict[str, Any]] = []
        for integration in _integrations(live):
            owner = ownership.integration_owner(integration.get("uid"))
            (mine if owner == self.stack.name else others).append(integration)
        return mine, others

    def expected(self, wanted: Wanted) -> Any:
        compared = [_compared(part.body, part) for part in _parts(wanted)]
        return {"integrations": compared, "provenance": self.stack.provenance}

    def actual(self, live: Any, wanted: Wanted | None) -> Any:
        """The stack's integrations in the order the definition has them (Grafana's order
        means nothing), each matched by its uid, else by the identity part of it (a rotated
        secret then shows as a changed uid); those no definition names follow."""
        rest, _ = self._mine(live)
        compared = []
        for part in _parts(wanted):
            found = _match(part, rest)
            if found is not None:
                rest.remove(found)
                compared.append(_compared(found, part))
        compared += [_compared(i, None) for i in rest]
        compared += [_dropped(i) for i in live.get(DROPPED) or []]
        return {"integrations": compared, "provenance": provenance(live)}

    def title(self, key: str, body: Any) -> str:
        integrations = ", ".join(f"{i.get('type')} {i.get('uid')}" for i in _integrations(body))
        return f"{key} ({integrations})"

    def write(self, client: GrafanaClient, wanted: Wanted, live: Any) -> None:
        mine, others = self._mine(live) if live is not None else ([], [])
        stored = {i.get("uid"): i for i in mine}
        ours = [_integration(part, stored.get(part.key)) for part in _parts(wanted)]
        spec = {"title": wanted.key, "integrations": ours + others}
        self.resources.write(client, spec, live, self.stack.provenance)

    def delete(self, client: GrafanaClient, key: str, live: Any) -> list[str]:
        others = self._mine(live)[1]
        if not others:
            self.resources.delete(client, live)
            return []
        # Integrations added by hand stay, as they would on the legacy API.
        spec = {"title": key, "integrations": others}
        self.resources.write(client, spec, live, provenance(live))
        return [f"kept {len(others)} integration(s) this stack does not own"]


def _parts(wanted: Wanted | None) -> list[Wanted]:
    return wanted.parts if isinstance(wanted, WantedReceiver) else []


def _types(wanted: Wanted) -> frozenset[str]:
    return frozenset(part.body["type"] for part in _parts(wanted))


def _title(obj: dict[str, Any]) -> str | None:
    return (obj.get("spec") or {}).get("title")


def _integrations(body: dict[str, Any]) -> list[dict[str, Any]]:
    """A receiver's integrations, from the object read or the body wanted."""
    if "spec" in body:
        body = body["spec"] or {}
    return list(body.get("integrations") or [])


def _identity(part: Wanted) -> str:
    """The uid's part naming the integration (the key, without the fingerprint if known)."""
    return part.key[:-8] if ownership.INTEGRATION_UID.match(part.key) else part.key


def _match(part: Wanted, integrations: list[dict[str, Any]]) -> dict[str, Any] | None:
    uid = [i for i in integrations if i.get("uid") == part.key]
    same = [i for i in integrations if str(i.get("uid")).startswith(_identity(part))]
    return (uid or same or [None])[0]


def _compared(integration: dict[str, Any], part: Wanted | None) -> dict[str, Any]:
    """What is compared of an integration, as the legacy kind compares it (settings the
    definition sets; secrets through the uid, never shown; settings from unset variables
    not compared); a uid whose fingerprint is unknown here shows its identity only."""
    uid = str(integration.get("uid"))
    settings = dict(integration.get("settings") or {})
    if part is not None:
        # A secret leaves settings for secureFields: compared as the legacy API shows it.
        held = integration.get("secureFields") or {}
        settings |= {key: REDACTED for key, secure in held.items() if secure}
        settings = compared_settings(settings, part)
        if _identity(part) == part.key and uid.startswith(part.key):
            uid = f"{part.key}... (not compared)"
    return {
        "uid": uid,
        "type": integration.get("type"),
        "disableResolveMessage": bool(integration.get("disableResolveMessage")),
        "settings": settings,
    }


def _dropped(integration: dict[str, Any]) -> dict[str, Any]:
    """An integration of theirs that taking the receiver over drops, as compared: its
    secrets (secureFields) named, never their values."""
    secure = {key for key, held in (integration.get("secureFields") or {}).items() if held}
    compared = _compared(integration, None)
    compared["settings"] |= {key: "(secret)" for key in sorted(secure)}
    return compared


def _integration(part: Wanted, stored: dict[str, Any] | None) -> dict[str, Any]:
    """The integration as Grafana takes it: ``stored`` (the same uid, so the same secrets)
    keeps the secrets Grafana holds."""
    body = part.body
    settings = dict(body["settings"])
    kept = {k for k, held in ((stored or {}).get("secureFields") or {}).items() if held}
    secure = {key: True for key in sorted(kept & part.secret)}
    for key in secure:
        settings.pop(key, None)
    integration = {
        "uid": part.key,
        "type": body["type"],
        "version": (stored or {}).get("version") or INTEGRATION_VERSION,
        "disableResolveMessage": body["disableResolveMessage"],
        "settings": settings,
    }
    return integration | ({"secureFields": secure} if secure else {})


class AppRoutes(_App, Routes):
    """The stack's branch of a routing tree: of the default tree ("user-defined"), or, for
    a stack with a tree of its own (``Stack.tree``), of the tree named after the stack,
    which its rules select (RuleGroups.routing). The tree is read, the branch replaced and
    the tree PUT back with its resourceVersion; the other routes go back as read. Routes are
    compared in the legacy kind's shape (spec matchers [{label, type, value}] as
    object_matchers [label, type, value], sorted as Grafana sorts them). The default tree has
    no POST (405) and DELETE resets it, so neither is used on it; the stack's tree is created
    with the default tree's root settings (its alerts that no route of the stack matches go
    where they went from the branch) and deleted when the branch was all it held
    (routingtree legacy_storage.go, routes service CreateManagedRoute/DeleteManagedRoute).
    Both places are read, so a change of policy_tree moves the branch: the new one is
    written, then the old one goes."""

    plural, resource = "routingtrees", "RoutingTree"

    def wanted(self, definitions: Iterable[Definition]) -> list[Wanted]:
        wanted = super().wanted(definitions)
        return [Wanted(self.tree_key, w.body) for w in wanted] if self.stack.tree else wanted

    @property
    def tree_key(self) -> str:
        return f"tree {self.stack.name}"

    def read(self, live: Live, wanted: list[Wanted]) -> dict[str, Any]:
        found = super().read(live, wanted)
        if not self.stack.tree and self.tree_key not in found:
            self._check_unseen_tree(live)
        return found

    def _check_unseen_tree(self, live: Live) -> None:
        """Rules of the stack that select its tree, which Grafana does not list: the feature
        toggle went off since. Planned without it, the branch would go back into the default
        tree and the stack's tree stay behind, unseen."""
        rules = live.get(f"{PROVISIONING}/alert-rules") or []
        if any(
            rule_owner(rule) == self.stack.name
            and (rule.get("notification_settings") or {}).get("policy") == self.stack.name
            for rule in rules
        ):
            raise ProvisioningError(
                f"the stack's rules select its policy tree {self.stack.name!r}, which Grafana "
                f"does not list (is the feature toggle {MULTIPLE_POLICIES} off?): turn it on "
                "and apply with policy_tree: shared to move the routes back into the default "
                "tree, or keep policy_tree: own"
            )

    def _index(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        found = {}
        default = _default_tree(items)
        branch = self._branch(default)
        if default is not None and branch is not None:
            found[self.key] = {"tree": default, "branch": branch}
        own = next((t for t in items if t["metadata"]["name"] == self.stack.name), None)
        if own is not None:  # a tree of that name holding no branch of ours is someone else's
            found[self.tree_key] = {"tree": own, "branch": self._branch(own)}
        return found

    def _branch(self, tree: dict[str, Any] | None) -> dict[str, Any] | None:
        routes = map(_legacy_route, _routes(tree or {}))
        return next((r for r in routes if self._is_branch(r)), None)

    def owner(self, live: Any) -> str | None:
        return self.stack.name if live["branch"] is not None else None

    def actual(self, live: Any, wanted: Wanted | None) -> Any:
        branch = normal_route(live["branch"] or {})
        return {"branch": branch, "provenance": provenance(live["tree"])}

    def write(self, client: GrafanaClient, wanted: Wanted, live: Any) -> None:
        if live is not None:
            self._put(client, live["tree"], [_k8s_route(wanted.body)])
            return
        default = _default_tree(self.resources.items(client))
        if default is None:
            raise GrafanaError(f"Grafana has no default policy tree at {self.resources.path}")
        if wanted.key == self.key:
            self._put(client, default, [_k8s_route(wanted.body)])
            return
        spec = _spec(default, [_k8s_route(wanted.body)])
        self.resources.write(client, spec, None, self.stack.provenance, name=self.stack.tree)

    def delete(self, client: GrafanaClient, key: str, live: Any) -> list[str]:
        if key == self.tree_key and len(_routes(live["tree"])) == 1:
            self.resources.delete(client, live["tree"])
        else:
            self._put(client, live["tree"], [])
        return []

    def top_routes(self, source: Live | GrafanaClient) -> list[dict[str, Any]]:
        return [
            _legacy_route(r) for r in _routes(_default_tree(self.resources.items(source)) or {})
        ]

    def release(self, client: GrafanaClient, theirs: Lookalike) -> list[str]:
        tree = _default_tree(self.resources.items(client))
        routes = _routes(tree or {})
        kept = without_route(routes, theirs.live, _legacy_route)
        if tree is not None and len(kept) < len(routes):
            spec = _spec(tree, kept)
            # A stack with a tree of its own holds nothing in the default one: as it was.
            mode = provenance(tree) if self.stack.tree else self.stack.provenance
            self.resources.write(client, spec, tree, mode)
        return []

    def _put(self, client: GrafanaClient, tree: dict[str, Any], ours: list[dict[str, Any]]) -> None:
        others = [r for r in _routes(tree) if not self._is_branch(_legacy_route(r))]
        self.resources.write(client, _spec(tree, ours + others), tree, self.stack.provenance)


def _default_tree(trees: list[dict[str, Any]]) -> dict[str, Any] | None:
    return next((t for t in trees if t["metadata"]["name"] in GRAFANA_TREES), None)


def _spec(tree: dict[str, Any], routes: list[dict[str, Any]]) -> dict[str, Any]:
    """A tree's spec: ``tree``'s root settings (its defaults) over ``routes``."""
    return {"defaults": (tree.get("spec") or {}).get("defaults"), "routes": routes}


def _routes(tree: dict[str, Any]) -> list[dict[str, Any]]:
    return list((tree.get("spec") or {}).get("routes") or [])


def _legacy_route(route: dict[str, Any]) -> dict[str, Any]:
    """A spec route in the legacy API's shape (matchers as object_matchers)."""
    body = {k: v for k, v in route.items() if k not in ("matchers", "routes")}
    body["object_matchers"] = [
        [m["label"], m["type"], m["value"]] for m in route.get("matchers") or []
    ]
    body["routes"] = [_legacy_route(child) for child in route.get("routes") or []]
    return body


def _k8s_route(route: dict[str, Any]) -> dict[str, Any]:
    """A route the legacy kind renders, as the spec takes it (RoutingTreeRoute: matchers
    [{label, type, value}], continue always present)."""
    body = {k: v for k, v in route.items() if k not in ("object_matchers", "routes")}
    body["continue"] = bool(route.get("continue"))
    matchers = route.get("object_matchers") or []
    if matchers:
        body["matchers"] = [{"label": n, "type": t, "value": v} for n, t, v in matchers]
    if route.get("routes"):
        body["routes"] = [_k8s_route(child) for child in route["routes"]]
    return body
