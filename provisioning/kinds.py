"""Each kind of Grafana object the toolkit manages: the bodies the definitions ask for, what
Grafana holds (one list per kind, a read per object where the list is not enough), who owns
what it holds, what is compared, and how to write or delete (API-NOTES §2-5).

A kind keeps no state between reading and writing: everything a write needs travels in the
``Wanted`` and the live object that the plan carries."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import quote

from provisioning import ownership
from provisioning.client import GrafanaClient, GrafanaError
from provisioning.model import Definition, Env
from provisioning.model.dashboards import Dashboard, DataSource, Folder
from provisioning.model.notifications import ContactPoint, MuteTiming, Route, Template
from provisioning.model.rules import RuleGroup
from provisioning.settings import SettingsError, duration_seconds, read_env

PROVISIONING = "/api/v1/provisioning"
NOT_COMPARED = "(not compared)"
ROOT_RECEIVER = "grafana-default-email"


@dataclass(frozen=True)
class Stack:
    """Who writes (the stack's name marks what it owns), where, and how."""

    name: str
    org_id: int = 1
    provenance: str = "api"  # what objects should carry: "api" locked, "" UI-editable
    environ: Mapping[str, str] = field(default_factory=dict)


@dataclass
class Wanted:
    """One object as the definitions want it. ``unresolved``: settings read from environment
    variables that are not set (NAME -> fields); they are not compared and apply needs them."""

    key: str
    body: dict[str, Any]
    unresolved: dict[str, list[str]] = field(default_factory=dict)
    secret: frozenset[str] = frozenset()  # settings compared through the key only


@dataclass(frozen=True)
class Clash:
    """An object under another key holding what a create needs (a name, a title)."""

    key: str | None  # None: not one object of this kind (a contact point's name)
    message: str


class Live:
    """What Grafana holds, read once per plan: each list request is made once and shared by
    the kinds that need it."""

    def __init__(self, client: GrafanaClient) -> None:
        self.client = client
        self._cache: dict[tuple[str, str], Any] = {}

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        key = (path, repr(sorted((params or {}).items())))
        if key not in self._cache:
            self._cache[key] = self.client.get(path, params=params)
        return self._cache[key]


class Kind:
    """How one kind of object is read, compared, written and deleted."""

    label: ClassVar[str]
    model: ClassVar[type]
    locks: ClassVar[bool] = False  # carries provenance, which Grafana never unlocks
    shared: ClassVar[bool] = False  # one defined alike by another stack is not a collision
    holds: ClassVar[bool] = False  # holds other objects: it cannot go before they move out

    def __init__(self, stack: Stack) -> None:
        self.stack = stack

    def wanted(self, definitions: Iterable[Definition]) -> list[Wanted]:
        mine = [d for d in definitions if isinstance(d, self.model)]
        return _unique(self.label, [self.render(d) for d in mine])

    def render(self, definition: Any) -> Wanted:
        raise NotImplementedError

    def read(self, live: Live, wanted: list[Wanted]) -> dict[str, Any]:
        """Grafana's objects at the wanted keys and every object of the stack, by key."""
        raise NotImplementedError

    def owner(self, live: Any) -> str | None:
        """The stack that owns ``live`` (None: made by hand, or by another tool)."""
        raise NotImplementedError

    def expected(self, wanted: Wanted) -> Any:
        """What is compared of the definition."""
        raise NotImplementedError

    def actual(self, live: Any, wanted: Wanted | None) -> Any:
        """What is compared of the live object (in the shape of ``wanted``, if any)."""
        raise NotImplementedError

    def fetch(self, client: GrafanaClient, key: str) -> Any:
        """The live object at ``key`` now, bypassing the plan's reads (None: absent)."""
        raise NotImplementedError

    def write(self, client: GrafanaClient, wanted: Wanted, live: Any) -> None:
        raise NotImplementedError

    def delete(self, client: GrafanaClient, key: str, live: Any) -> list[str]:
        """Remove it (gone already is fine); returns notes for the person."""
        raise NotImplementedError

    def clash(self, wanted: Wanted, live: Live) -> Clash | None:
        """What, held by someone else under another key, keeps a create from working."""
        return None

    def takes(self, wanted: Wanted, live: Live) -> str | None:
        """What a write, create or update, would take from someone else's object."""
        return None

    def title(self, key: str, body: Any) -> str:
        """How the plan names the object."""
        return key


# --- data sources, folders, dashboards --------------------------------------------------------


class DataSources(Kind):
    label, model = "data source", DataSource

    def render(self, definition: DataSource) -> Wanted:
        body = definition.to_json()
        body["jsonData"] = body["jsonData"] | {ownership.LABEL: self.stack.name}
        return Wanted(definition.uid, body)

    def read(self, live: Live, wanted: list[Wanted]) -> dict[str, Any]:
        """Each wanted or owned one read by itself: the list has no version to write with."""
        listed = live.get("/api/datasources") or []
        keys = {w.key for w in wanted} | {
            d["uid"] for d in listed if self.owner(d) == self.stack.name
        }
        keys &= {d["uid"] for d in listed}
        return {key: self.fetch(live.client, key) for key in sorted(keys)}

    def owner(self, live: Any) -> str | None:
        return (live.get("jsonData") or {}).get(ownership.LABEL)

    def expected(self, wanted: Wanted) -> Any:
        return wanted.body

    def actual(self, live: Any, wanted: Wanted | None) -> Any:
        return live if wanted is None else project(live, wanted.body)

    def fetch(self, client: GrafanaClient, key: str) -> Any:
        return client.get(f"/api/datasources/uid/{key}", missing_ok=True)

    def write(self, client: GrafanaClient, wanted: Wanted, live: Any) -> None:
        if live is None:
            client.request("POST", "/api/datasources", json=wanted.body)
            return
        if live.get("readOnly"):
            raise GrafanaError(
                f"data source {wanted.key} is provisioned from a file (read-only): remove it "
                "from Grafana's provisioning files or pick another uid"
            )
        body = wanted.body | {"version": live.get("version")}  # refused if edited since read
        client.request("PUT", f"/api/datasources/uid/{wanted.key}", json=body)

    def delete(self, client: GrafanaClient, key: str, live: Any) -> list[str]:
        client.request("DELETE", f"/api/datasources/uid/{key}", missing_ok=True)
        return []

    def clash(self, wanted: Wanted, live: Live) -> Clash | None:
        name = wanted.body["name"]
        other = next((d for d in live.get("/api/datasources") or [] if d["name"] == name), None)
        if other is None:
            return None
        return Clash(other["uid"], f"its name {name!r} is taken by data source {other['uid']!r}")


class Folders(Kind):
    """A folder has no field to carry a mark: it is the stack's while it holds the stack's
    dashboards or rules. A folder defined with the uid and title of an existing one is shared,
    and is deleted only when it is the stack's and empty."""

    label, model, shared, holds = "folder", Folder, True, True

    def render(self, definition: Folder) -> Wanted:
        return Wanted(definition.uid, definition.to_json())

    def read(self, live: Live, wanted: list[Wanted]) -> dict[str, Any]:
        """Each wanted or held one read by itself: the list has no version to write with."""
        mine = self.holding(live)
        listed = {f["uid"] for f in live.get("/api/folders", {"limit": 1000}) or []}
        keys = ({w.key for w in wanted} | mine) & listed
        return {
            key: self.fetch(live.client, key) | {"owner": self.stack.name if key in mine else None}
            for key in sorted(keys)
        }

    def holding(self, live: Live) -> set[str]:
        """The folders holding the stack's dashboards or rules."""
        dashboards = live.get("/api/search", Dashboards.search(self.stack)) or []
        rules = live.get(f"{PROVISIONING}/alert-rules") or []
        return {d.get("folderUid") or "" for d in dashboards} | {
            r["folderUID"] for r in rules if _rule_owner(r) == self.stack.name
        }

    def owner(self, live: Any) -> str | None:
        return live.get("owner")

    def expected(self, wanted: Wanted) -> Any:
        return {"title": wanted.body["title"]}

    def actual(self, live: Any, wanted: Wanted | None) -> Any:
        return {"title": live.get("title")}

    def fetch(self, client: GrafanaClient, key: str) -> Any:
        return client.get(f"/api/folders/{key}", missing_ok=True)

    def write(self, client: GrafanaClient, wanted: Wanted, live: Any) -> None:
        if live is None:
            client.request("POST", "/api/folders", json=wanted.body)
        else:
            body = {"title": wanted.body["title"], "version": live.get("version")}
            client.request("PUT", f"/api/folders/{wanted.key}", json=body)

    def delete(self, client: GrafanaClient, key: str, live: Any) -> list[str]:
        # Deleting a folder deletes everything in it (API-NOTES §3): only an empty one goes.
        left = client.get("/api/search", params={"folderUIDs": key})
        rules = [
            r for r in client.get(f"{PROVISIONING}/alert-rules") or [] if r["folderUID"] == key
        ]
        if left or rules:
            titles = sorted(str(hit.get("title")) for hit in [*left, *rules])
            return [f"kept: it still holds objects that others made ({', '.join(titles)})"]
        client.request(
            "DELETE", f"/api/folders/{key}", params={"forceDeleteRules": "false"}, missing_ok=True
        )
        return []

    def clash(self, wanted: Wanted, live: Live) -> Clash | None:
        title = wanted.body["title"]
        folders = live.get("/api/folders", {"limit": 1000}) or []
        other = next((f for f in folders if f.get("title") == title), None)
        if other is None:
            return None
        return Clash(other["uid"], f"its title {title!r} is taken by folder {other['uid']!r}")


class Dashboards(Kind):
    label, model = "dashboard", Dashboard

    @staticmethod
    def search(stack: Stack) -> dict[str, Any]:
        return {"type": "dash-db", "tag": ownership.tag(stack.name), "limit": 5000}

    def render(self, definition: Dashboard) -> Wanted:
        dashboard = definition.to_json()
        tags = [t for t in dashboard.get("tags") or [] if not t.startswith(ownership.LABEL)]
        dashboard["tags"] = [*tags, ownership.tag(self.stack.name)]
        return Wanted(
            str(dashboard["uid"]), {"dashboard": dashboard, "folderUid": definition.folder.uid}
        )

    def read(self, live: Live, wanted: list[Wanted]) -> dict[str, Any]:
        keys = {hit["uid"] for hit in live.get("/api/search", self.search(self.stack)) or []}
        keys |= {w.key for w in wanted}
        found = {key: self.fetch(live.client, key) for key in sorted(keys)}
        return {key: value for key, value in found.items() if value is not None}

    def owner(self, live: Any) -> str | None:
        tags = (live.get("dashboard") or {}).get("tags") or []
        prefix = ownership.tag("")
        return next((t[len(prefix) :] for t in tags if t.startswith(prefix)), None)

    def expected(self, wanted: Wanted) -> Any:
        body = wanted.body
        return {"folderUid": body["folderUid"], "dashboard": _without_ids(body["dashboard"])}

    def actual(self, live: Any, wanted: Wanted | None) -> Any:
        meta = live.get("meta") or {}
        actual = {"folderUid": meta.get("folderUid") or "", "dashboard": live.get("dashboard")}
        return actual if wanted is None else project(actual, self.expected(wanted))

    def fetch(self, client: GrafanaClient, key: str) -> Any:
        return client.get(f"/api/dashboards/uid/{key}", missing_ok=True)

    def write(self, client: GrafanaClient, wanted: Wanted, live: Any) -> None:
        if live and (live.get("meta") or {}).get("provisioned"):
            raise GrafanaError(
                f"dashboard {wanted.key} is provisioned from a file: Grafana refuses API "
                "changes to it; remove it from the provisioning files first"
            )
        body = wanted.body | {"overwrite": True, "message": "provision.py apply"}
        client.request("POST", "/api/dashboards/db", json=body)

    def delete(self, client: GrafanaClient, key: str, live: Any) -> list[str]:
        client.request("DELETE", f"/api/dashboards/uid/{key}", missing_ok=True)
        return []

    def clash(self, wanted: Wanted, live: Live) -> Clash | None:
        title = wanted.body["dashboard"].get("title", "")
        hits = live.client.get(
            "/api/search",
            params={"type": "dash-db", "query": title, "folderUIDs": wanted.body["folderUid"]},
        )
        other = next((h for h in hits or [] if h.get("title") == title), None)
        if other is None:
            return None
        return Clash(other["uid"], f"its title {title!r} is taken by dashboard {other['uid']!r}")


# --- notifications ----------------------------------------------------------------------------


class Templates(Kind):
    label, model, locks = "notification template", Template, True

    def render(self, definition: Template) -> Wanted:
        name = ownership.name(self.stack.name, definition.name)
        return Wanted(name, {"name": name, "template": definition.text.strip()})

    def read(self, live: Live, wanted: list[Wanted]) -> dict[str, Any]:
        return {t["name"]: t for t in live.get(f"{PROVISIONING}/templates") or []}

    def owner(self, live: Any) -> str | None:
        return ownership.name_owner(live["name"])

    def expected(self, wanted: Wanted) -> Any:
        return {"template": wanted.body["template"], "provenance": self.stack.provenance}

    def actual(self, live: Any, wanted: Wanted | None) -> Any:
        # Grafana trims the whitespace around a template (as it stores it).
        text = (live.get("template") or "").strip()
        return {"template": text, "provenance": live.get("provenance") or ""}

    def fetch(self, client: GrafanaClient, key: str) -> Any:
        return client.get(f"{PROVISIONING}/templates/{quote(key, safe='')}", missing_ok=True)

    def write(self, client: GrafanaClient, wanted: Wanted, live: Any) -> None:
        body = {"template": wanted.body["template"], "version": (live or {}).get("version", "")}
        client.request("PUT", f"{PROVISIONING}/templates/{quote(wanted.key, safe='')}", json=body)

    def delete(self, client: GrafanaClient, key: str, live: Any) -> list[str]:
        path = f"{PROVISIONING}/templates/{quote(key, safe='')}"
        client.request("DELETE", path, missing_ok=True)
        return []


class MuteTimings(Kind):
    label, model, locks = "mute timing", MuteTiming, True

    def render(self, definition: MuteTiming) -> Wanted:
        name = ownership.name(self.stack.name, definition.name)
        intervals = [interval.to_json() for interval in definition.intervals]
        return Wanted(name, {"name": name, "time_intervals": intervals})

    def read(self, live: Live, wanted: list[Wanted]) -> dict[str, Any]:
        return {m["name"]: m for m in live.get(f"{PROVISIONING}/mute-timings") or []}

    def owner(self, live: Any) -> str | None:
        return ownership.name_owner(live["name"])

    def expected(self, wanted: Wanted) -> Any:
        intervals = [_interval(i) for i in wanted.body["time_intervals"]]
        return {"time_intervals": intervals, "provenance": self.stack.provenance}

    def actual(self, live: Any, wanted: Wanted | None) -> Any:
        intervals = [_interval(i) for i in live.get("time_intervals") or []]
        return {"time_intervals": intervals, "provenance": live.get("provenance") or ""}

    def fetch(self, client: GrafanaClient, key: str) -> Any:
        return client.get(f"{PROVISIONING}/mute-timings/{quote(key, safe='')}", missing_ok=True)

    def write(self, client: GrafanaClient, wanted: Wanted, live: Any) -> None:
        if live is None:
            client.request("POST", f"{PROVISIONING}/mute-timings", json=wanted.body)
            return
        body = wanted.body | {"version": live.get("version", "")}
        path = f"{PROVISIONING}/mute-timings/{quote(wanted.key, safe='')}"
        client.request("PUT", path, json=body)

    def delete(self, client: GrafanaClient, key: str, live: Any) -> list[str]:
        path = f"{PROVISIONING}/mute-timings/{quote(key, safe='')}"
        client.request("DELETE", path, missing_ok=True)
        return []


class ContactPoints(Kind):
    """Each integration of a contact point is one object. Grafana answers "[REDACTED]" for
    a secret setting, so the uid carries the comparison: it ends with a fingerprint of the
    integration's secrets. New secrets make a new integration, and the one holding the old
    ones goes; no one needs the permission to read secrets."""

    label, model, locks = "contact point", ContactPoint, True

    def render(self, definition: ContactPoint) -> Wanted:
        raise NotImplementedError  # a contact point is several objects: see ``wanted``

    def wanted(self, definitions: Iterable[Definition]) -> list[Wanted]:
        points = [d for d in definitions if isinstance(d, ContactPoint)]
        _unique(self.label, [Wanted(p.name, {"name": p.name, "p": p}) for p in points])
        return [
            self._integration(point, index, integration)
            for point in points
            for index, integration in enumerate(point.integrations)
        ]

    def _integration(self, point: ContactPoint, index: int, integration: Any) -> Wanted:
        prefix = ownership.integration_prefix(self.stack.name, point.name, index, integration.kind)
        settings, unresolved, secrets = {}, {}, []
        secret_fields = getattr(integration, "secret_fields", ()) or integration.secret
        for key, value in integration.settings().items():
            if isinstance(value, Env):
                resolved = read_env(value.name, self.stack.environ)
                if resolved is None:
                    unresolved.setdefault(value.name, []).append(key)
                    value = NOT_COMPARED
                else:
                    value = resolved
            if key in secret_fields:
                secrets.append(f"{key}={value}")
            settings[key] = value
        # Without every secret the fingerprint is unknown: the key is then the prefix.
        secret_unknown = any(k in secret_fields for keys in unresolved.values() for k in keys)
        key = prefix if secret_unknown else prefix + ownership.digest(prefix, *secrets)
        body = {
            "uid": key,
            "name": point.name,
            "type": integration.kind,
            "disableResolveMessage": integration.disable_resolve_message,
            "settings": settings,
        }
        return Wanted(key, body, unresolved, frozenset(secret_fields))

    def read(self, live: Live, wanted: list[Wanted]) -> dict[str, Any]:
        found = {cp["uid"]: cp for cp in live.get(f"{PROVISIONING}/contact-points") or []}
        # An integration whose fingerprint is unknown here is found by its prefix.
        for item in wanted:
            if item.key not in found:
                match = [uid for uid in found if uid.startswith(item.key)]
                if len(match) == 1 and len(item.key) < len(match[0]):
                    found[item.key] = found.pop(match[0])
        return found

    def owner(self, live: Any) -> str | None:
        found = ownership.INTEGRATION_UID.match(str(live.get("uid")))
        return found.group(1) if found else None

    def expected(self, wanted: Wanted) -> Any:
        return self._masked(wanted.body | {"provenance": self.stack.provenance}, wanted)

    def actual(self, live: Any, wanted: Wanted | None) -> Any:
        shape = live if wanted is None else wanted.body | {"provenance": ""}
        result = project(live, shape) | {"provenance": live.get("provenance") or ""}
        return self._masked(result, wanted)

    @staticmethod
    def _masked(body: dict[str, Any], wanted: Wanted | None) -> dict[str, Any]:
        """Secrets compare through the uid and are never shown; settings from environment
        variables that are not set are not compared."""
        settings = dict(body.get("settings") or {})
        for key, value in ((wanted.body if wanted else body).get("settings") or {}).items():
            if value == NOT_COMPARED:
                settings[key] = NOT_COMPARED
        for key in set(settings) & (wanted.secret if wanted else set()):
            settings[key] = "(secret)"
        return {k: v for k, v in body.items() if k != "uid"} | {"settings": settings}

    def title(self, key: str, body: Any) -> str:
        return f"{body.get('name')} ({body.get('type')} {key})"

    def fetch(self, client: GrafanaClient, key: str) -> Any:
        found = client.get(f"{PROVISIONING}/contact-points") or []
        return next((cp for cp in found if cp["uid"] == key), None)

    def write(self, client: GrafanaClient, wanted: Wanted, live: Any) -> None:
        if live is None:
            client.request("POST", f"{PROVISIONING}/contact-points", json=wanted.body)
        else:
            path = f"{PROVISIONING}/contact-points/{wanted.key}"
            client.request("PUT", path, json=wanted.body)

    def delete(self, client: GrafanaClient, key: str, live: Any) -> list[str]:
        client.request("DELETE", f"{PROVISIONING}/contact-points/{key}", missing_ok=True)
        return []

    def clash(self, wanted: Wanted, live: Live) -> Clash | None:
        name = wanted.body["name"]
        points = live.get(f"{PROVISIONING}/contact-points") or []
        other = [
            cp for cp in points if cp.get("name") == name and self.owner(cp) != self.stack.name
        ]
        if not other:
            return None
        return Clash(None, f"its name {name!r} is taken by a contact point this stack does not own")


class Routes(Kind):
    """The stack's routes sit in one branch of the policy tree, first under the root, that
    matches the stack's label (every rule of the stack carries it): the stack's alerts go
    there and nowhere else, other branches stay as they are. The API writes the whole tree
    (API-NOTES §0.4): it is read, the branch is replaced, the rest is written back."""

    label, model, locks = "notification policy", Route, True

    def wanted(self, definitions: Iterable[Definition]) -> list[Wanted]:
        routes = [d for d in definitions if isinstance(d, Route)]
        if not routes:
            return []
        branch = {
            "object_matchers": [[ownership.LABEL, "=", self.stack.name]],
            "routes": [self._route(route) for route in routes],
        }
        return [Wanted(self.key, branch)]

    @property
    def key(self) -> str:
        return f"branch {ownership.LABEL}={self.stack.name}"

    def _route(self, route: Route) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if route.receiver_name:
            body["receiver"] = route.receiver_name
        if route.matcher_list:
            body["object_matchers"] = [m.to_json() for m in route.matcher_list]
        if route.group_by is not None:
            body["group_by"] = list(route.group_by)
        for key in ("group_wait", "group_interval", "repeat_interval"):
            if getattr(route, key) is not None:
                body[key] = getattr(route, key)
        if route.continue_matching:
            body["continue"] = True
        for key, intervals in (
            ("mute_time_intervals", route.mute_timings),
            ("active_time_intervals", route.active_timings),
        ):
            if intervals:
                body[key] = [self._interval_name(i) for i in intervals]
        if route.routes:
            body["routes"] = [self._route(child) for child in route.routes]
        return body

    def _interval_name(self, interval: MuteTiming | str) -> str:
        if isinstance(interval, MuteTiming):
            return ownership.name(self.stack.name, interval.name)
        return interval

    def read(self, live: Live, wanted: list[Wanted]) -> dict[str, Any]:
        tree = live.get(f"{PROVISIONING}/policies") or {}
        branch = next((r for r in tree.get("routes") or [] if self._is_branch(r)), None)
        return {} if branch is None else {self.key: {"tree": tree, "branch": branch}}

    def _is_branch(self, route: dict[str, Any]) -> bool:
        return _matchers(route) == [[ownership.LABEL, "=", self.stack.name]]

    def owner(self, live: Any) -> str | None:
        return self.stack.name

    def expected(self, wanted: Wanted) -> Any:
        return {"branch": _normal_route(wanted.body), "provenance": self.stack.provenance}

    def actual(self, live: Any, wanted: Wanted | None) -> Any:
        provenance = live["tree"].get("provenance") or ""
        return {"branch": _normal_route(live["branch"]), "provenance": provenance}

    def fetch(self, client: GrafanaClient, key: str) -> Any:
        tree = client.get(f"{PROVISIONING}/policies", missing_ok=True) or {}
        branch = next((r for r in tree.get("routes") or [] if self._is_branch(r)), None)
        return None if branch is None else {"tree": tree, "branch": branch}

    def write(self, client: GrafanaClient, wanted: Wanted, live: Any) -> None:
        tree = live["tree"] if live else client.get(f"{PROVISIONING}/policies") or {}
        self._put(client, tree, [wanted.body])

    def delete(self, client: GrafanaClient, key: str, live: Any) -> list[str]:
        self._put(client, live["tree"], [])
        return []

    def _put(self, client: GrafanaClient, tree: dict[str, Any], ours: list[dict[str, Any]]) -> None:
        others = [r for r in tree.get("routes") or [] if not self._is_branch(r)]
        body = {k: v for k, v in tree.items() if k != "provenance"} | {"routes": ours + others}
        body.setdefault("receiver", ROOT_RECEIVER)
        client.request("PUT", f"{PROVISIONING}/policies", json=_without_provenance(body))


# --- rules ------------------------------------------------------------------------------------


class RuleGroups(Kind):
    """A rule group is written whole. Each rule carries the stack's label, which marks it
    the stack's and routes its alerts into the stack's branch of the policy tree."""

    label, model = "rule group", RuleGroup

    def render(self, definition: RuleGroup) -> Wanted:
        folder, name = definition.folder, definition.name
        rules = []
        for rule in definition.rules:
            body = rule.to_json(folder, name)
            body["orgID"] = self.stack.org_id
            body["labels"] = body["labels"] | {ownership.LABEL: self.stack.name}
            body["notification_settings"] = None  # routed by the policy tree
            rules.append(body)
        try:
            interval = int(duration_seconds(definition.interval))
        except SettingsError as exc:
            raise SettingsError(f"rule group {name}: interval: {exc}") from None
        body = {"title": name, "folderUid": folder.uid, "interval": interval, "rules": rules}
        return Wanted(f"{folder.uid}/{name}", body)

    def read(self, live: Live, wanted: list[Wanted]) -> dict[str, Any]:
        groups: dict[str, Any] = {}
        for rule in live.get(f"{PROVISIONING}/alert-rules") or []:
            key = f"{rule['folderUID']}/{rule['ruleGroup']}"
            groups.setdefault(key, {"rules": []})["rules"].append(rule)
        keys = {w.key for w in wanted if w.key in groups}
        keys |= {k for k, g in groups.items() if self.owner(g) == self.stack.name}
        return {key: self.fetch(live.client, key) for key in sorted(keys)}

    def owner(self, live: Any) -> str | None:
        owners = {_rule_owner(rule) for rule in live.get("rules") or []}
        return owners.pop() if len(owners) == 1 else None

    def expected(self, wanted: Wanted) -> Any:
        rules = [_rule(rule, rule) for rule in wanted.body["rules"]]
        interval = wanted.body["interval"]
        return {"interval": interval, "rules": rules, "provenance": self.stack.provenance}

    def actual(self, live: Any, wanted: Wanted | None) -> Any:
        rules = live.get("rules") or []
        shapes = wanted.body["rules"] if wanted else rules
        if len(shapes) != len(rules):
            shapes = rules
        provenance = ",".join(sorted({r.get("provenance") or "" for r in rules}))
        return {
            "interval": live.get("interval"),
            "rules": [_rule(rule, shape) for rule, shape in zip(rules, shapes, strict=True)],
            "provenance": provenance,
        }

    def fetch(self, client: GrafanaClient, key: str) -> Any:
        folder, _, group = key.partition("/")
        path = f"{PROVISIONING}/folder/{folder}/rule-groups/{quote(group, safe='')}"
        return client.get(path, missing_ok=True)

    def write(self, client: GrafanaClient, wanted: Wanted, live: Any) -> None:
        folder, _, group = wanted.key.partition("/")
        path = f"{PROVISIONING}/folder/{folder}/rule-groups/{quote(group, safe='')}"
        if live is not None:
            actual, expected = self.actual(live, wanted), self.expected(wanted)
            if _without_provenance(actual) == _without_provenance(expected):
                # Grafana ignores a PUT identical but for provenance (its delta is empty), so
                # a change of mode re-creates the group; its alerts start from "normal" again.
                client.request("DELETE", path, missing_ok=True)
        client.request("PUT", path, json=wanted.body)

    def delete(self, client: GrafanaClient, key: str, live: Any) -> list[str]:
        folder, _, group = key.partition("/")
        path = f"{PROVISIONING}/folder/{folder}/rule-groups/{quote(group, safe='')}"
        client.request("DELETE", path, missing_ok=True)
        return []

    def takes(self, wanted: Wanted, live: Live) -> str | None:
        # Grafana moves a rule whose uid a group names into that group, from any other.
        uids = {rule["uid"] for rule in wanted.body["rules"]}
        theirs = sorted(
            f"{rule['uid']} (in {rule['folderUID']}/{rule['ruleGroup']})"
            for rule in live.get(f"{PROVISIONING}/alert-rules") or []
            if rule["uid"] in uids and _rule_owner(rule) != self.stack.name
        )
        return f"rule uids taken by rules it does not own: {', '.join(theirs)}" if theirs else None


# In the order they are written: each refers only to kinds before it.
KINDS: tuple[Callable[[Stack], Kind], ...] = (
    DataSources,
    Folders,
    Dashboards,
    Templates,
    MuteTimings,
    ContactPoints,
    Routes,
    RuleGroups,
)


def unresolved(definitions: list[Definition], stack: Stack) -> list[str]:
    """The environment variables that definitions read and that are not set."""
    return sorted(
        {
            name
            for make in KINDS
            for item in make(stack).wanted(definitions)
            for name in item.unresolved
        }
    )


# --- comparison helpers -----------------------------------------------------------------------


def project(value: Any, shape: Any) -> Any:
    """``value`` reduced to the keys that ``shape`` has: fields the server adds (ids,
    versions, defaults) do not count as differences, while every field we set does."""
    if isinstance(shape, dict) and isinstance(value, dict):
        return {key: project(value.get(key), sub) for key, sub in shape.items()}
    if isinstance(shape, list) and isinstance(value, list) and len(shape) == len(value):
        return [project(v, s) for v, s in zip(value, shape, strict=True)]
    return value


def same_duration(text: Any) -> Any:
    """'60s' and '1m' are the same duration; Grafana answers with its own spelling."""
    try:
        return duration_seconds(text) if isinstance(text, str) else text
    except SettingsError:
        return text


# What Grafana assumes for a rule field left out, so that an edit in the UI shows.
RULE_DEFAULTS: dict[str, Any] = {
    "for": 0,
    "keep_firing_for": 0,
    "isPaused": False,
    "notification_settings": None,
    "missing_series_evals_to_resolve": None,
    "labels": {},
    "annotations": {},
}


def _rule(rule: dict[str, Any], shape: dict[str, Any]) -> dict[str, Any]:
    """Every field of a rule that changes its behaviour, with Grafana's defaults filled in;
    the queries reduced to what the definition sets."""
    result = {
        key: rule.get(key)
        for key in ("uid", "title", "condition", "noDataState", "execErrState", "folderUID")
    }
    for key, default in RULE_DEFAULTS.items():
        value = rule.get(key)
        result[key] = default if value in (None, "") else value
    result["for"] = same_duration(result["for"]) or 0
    result["keep_firing_for"] = same_duration(result["keep_firing_for"]) or 0
    result["data"] = project(rule.get("data"), shape.get("data"))
    return result


def _interval(interval: dict[str, Any]) -> dict[str, Any]:
    keys = ("times", "weekdays", "days_of_month", "months", "years", "location")
    return {key: interval.get(key) or None for key in keys}


def _matchers(route: dict[str, Any]) -> list[list[str]]:
    return [list(m) for m in route.get("object_matchers") or []]


def _normal_route(route: dict[str, Any]) -> dict[str, Any]:
    """Every field of a route that changes behaviour, unset ones as Grafana treats them
    (inherited: None; lists: empty), durations as seconds, children likewise."""
    timing = ("group_wait", "group_interval", "repeat_interval")
    return {
        "receiver": route.get("receiver") or None,
        # Grafana answers matchers sorted (by name, value, operator): order means nothing.
        "object_matchers": sorted(
            _matchers(route) + [[m] for m in route.get("matchers") or []],
            key=lambda m: (m[0], m[-1], m[1:-1]),
        ),
        "group_by": route.get("group_by"),
        **{key: same_duration(route.get(key)) for key in timing},
        "continue": bool(route.get("continue")),
        "mute_time_intervals": list(route.get("mute_time_intervals") or []),
        "active_time_intervals": list(route.get("active_time_intervals") or []),
        "routes": [_normal_route(child) for child in route.get("routes") or []],
    }


def _rule_owner(rule: dict[str, Any]) -> str | None:
    return (rule.get("labels") or {}).get(ownership.LABEL)


def _without_ids(dashboard: Any) -> Any:
    if not isinstance(dashboard, dict):
        return dashboard
    return {k: v for k, v in dashboard.items() if k not in ("id", "version")}


def _without_provenance(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_provenance(v) for k, v in value.items() if k != "provenance"}
    if isinstance(value, list):
        return [_without_provenance(v) for v in value]
    return value


def _unique(label: str, items: list[Wanted]) -> list[Wanted]:
    """Each key once: the same object defined twice counts once, two different ones under
    one key are an error."""
    seen: dict[str, Wanted] = {}
    for item in items:
        if item.key in seen and seen[item.key].body != item.body:
            raise SettingsError(f"two different definitions of {label} {item.key!r}")
        seen.setdefault(item.key, item)
    return list(seen.values())
