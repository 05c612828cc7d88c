"""Each kind of Grafana object this toolkit manages: how to read it, how to compare it with
its definition, and how to write or delete it through the HTTP API (API-NOTES §2-5)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import quote

from provisioning.client import GrafanaClient, GrafanaError
from provisioning.settings import SettingsError, duration_seconds

PROVISIONING = "/api/v1/provisioning"
SENSITIVE = "(sensitive)"


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


@dataclass
class Resource:
    """One managed object. ``body`` is what the API takes; secrets in it are never shown."""

    kind: ClassVar[str]
    body: dict[str, Any]
    provenance: str = "api"  # what the object should carry: "api" locked, "" UI-editable
    notes: list[str] = field(default_factory=list)  # said next to the plan, e.g. a warning

    @property
    def name(self) -> str:
        return str(self.body.get("uid") or self.body.get("name"))

    def read(self, client: GrafanaClient) -> Any:
        """The live object, or None when it does not exist."""
        raise NotImplementedError

    def comparable(self, live: Any) -> Any:
        """What is compared for ``live`` (None: the definition itself)."""
        raise NotImplementedError

    def write(self, client: GrafanaClient, live: Any) -> None:
        raise NotImplementedError

    def delete(self, client: GrafanaClient, live: Any) -> None:
        """Remove it; gone already is fine (a repeat after the first delete's answer was lost)."""
        raise NotImplementedError

    def clash(self, client: GrafanaClient) -> str | None:
        """What, made by someone else, keeps this object from being created (it holds the
        name or title), said for a person; None when nothing is known to."""
        return None

    def orphans(self) -> list[tuple[Resource, Any]]:
        """Objects that ``read`` found this toolkit made earlier and no longer defines, each
        with its live form: they are deleted."""
        return []


class DataSource(Resource):
    kind = "data source"

    def read(self, client: GrafanaClient) -> Any:
        return client.get(f"/api/datasources/uid/{self.name}", missing_ok=True)

    def comparable(self, live: Any) -> Any:
        return project(self.body if live is None else live, self.body)

    def write(self, client: GrafanaClient, live: Any) -> None:
        if live is None:
            client.request("POST", "/api/datasources", json=self.body)
            return
        if live.get("readOnly"):
            raise GrafanaError(
                f"data source {self.name} is provisioned from a file (read-only): remove it "
                "from Grafana's provisioning files or pick another uid"
            )
        body = {**self.body, "version": live.get("version")}
        client.request("PUT", f"/api/datasources/uid/{self.name}", json=body)

    def delete(self, client: GrafanaClient, live: Any) -> None:
        client.request("DELETE", f"/api/datasources/uid/{self.name}", missing_ok=True)

    def clash(self, client: GrafanaClient) -> str | None:
        name = self.body["name"]
        other = client.get(f"/api/datasources/name/{quote(name, safe='')}", missing_ok=True)
        if not other or other.get("uid") == self.name:
            return None
        return (
            f"its name {name!r} is taken by data source {other.get('uid')!r}, which this tool "
            "does not manage; rename or remove it, or choose another name in grafana.yaml"
        )


class Folder(Resource):
    kind = "folder"

    def read(self, client: GrafanaClient) -> Any:
        return client.get(f"/api/folders/{self.name}", missing_ok=True)

    def comparable(self, live: Any) -> Any:
        return {"title": (self.body if live is None else live).get("title")}

    def write(self, client: GrafanaClient, live: Any) -> None:
        if live is None:
            client.request("POST", "/api/folders", json=self.body)
        else:
            body = {"title": self.body["title"], "version": live.get("version")}
            client.request("PUT", f"/api/folders/{self.name}", json=body)

    def delete(self, client: GrafanaClient, live: Any) -> None:
        # Deleting a folder deletes everything in it (API-NOTES §3): only an empty one goes.
        left = client.get("/api/search", params={"folderUIDs": self.name})
        if left:
            titles = ", ".join(sorted(str(hit.get("title")) for hit in left))
            self.notes.append(f"kept: it still holds dashboards that others made ({titles})")
            return
        client.request(
            "DELETE",
            f"/api/folders/{self.name}",
            params={"forceDeleteRules": "false"},
            missing_ok=True,
        )

    def clash(self, client: GrafanaClient) -> str | None:
        title = self.body["title"]
        folders = client.get("/api/folders", params={"limit": 1000}) or []
        other = next((f for f in folders if f.get("title") == title), None)
        if other is None or other.get("uid") == self.name:
            return None
        return (
            f"its title {title!r} is taken by folder {other.get('uid')!r}, which this tool "
            "does not manage; rename or remove it, or choose another title in grafana.yaml"
        )


class Dashboard(Resource):
    kind = "dashboard"

    @property
    def folder_uid(self) -> str:
        return str(self.body["folderUid"])

    @property
    def name(self) -> str:
        return str(self.body["dashboard"]["uid"])

    def read(self, client: GrafanaClient) -> Any:
        return client.get(f"/api/dashboards/uid/{self.name}", missing_ok=True)

    def comparable(self, live: Any) -> Any:
        desired = {"folderUid": self.folder_uid, "dashboard": _without_ids(self.body["dashboard"])}
        if live is None:
            return desired
        meta = live.get("meta") or {}
        actual = {"folderUid": meta.get("folderUid"), "dashboard": live.get("dashboard")}
        return project(actual, desired)

    def write(self, client: GrafanaClient, live: Any) -> None:
        if live and (live.get("meta") or {}).get("provisioned"):
            raise GrafanaError(
                f"dashboard {self.name} is provisioned from a file: Grafana refuses API "
                "changes to it; remove it from the provisioning files first"
            )
        body = {
            "dashboard": {**self.body["dashboard"], "id": None},
            "folderUid": self.folder_uid,
            "overwrite": True,
            "message": "provision.py apply",
        }
        client.request("POST", "/api/dashboards/db", json=body)

    def delete(self, client: GrafanaClient, live: Any) -> None:
        client.request("DELETE", f"/api/dashboards/uid/{self.name}", missing_ok=True)


class Template(Resource):
    kind = "notification template"

    def read(self, client: GrafanaClient) -> Any:
        return client.get(f"{PROVISIONING}/templates/{self.name}", missing_ok=True)

    def comparable(self, live: Any) -> Any:
        source = self.body | {"provenance": self.provenance} if live is None else live
        # Grafana trims the whitespace around a template (as it stores it).
        template = (source.get("template") or "").strip()
        return {"template": template, "provenance": source.get("provenance") or ""}

    def write(self, client: GrafanaClient, live: Any) -> None:
        body = {
            "template": self.body["template"].strip(),
            "version": (live or {}).get("version", ""),
        }
        client.request("PUT", f"{PROVISIONING}/templates/{self.name}", json=body)

    def delete(self, client: GrafanaClient, live: Any) -> None:
        client.request("DELETE", f"{PROVISIONING}/templates/{self.name}", missing_ok=True)


@dataclass
class ContactPoint(Resource):
    """One integration of a contact point. Grafana answers "[REDACTED]" for the bot token,
    so the uid carries the comparison: it ends with a fingerprint of the token
    (``alerting.notifications.contact_point_uid``). A new token makes a new integration, and
    the one holding the old token goes; no one needs the permission to read secrets."""

    kind: ClassVar[str] = "contact point"
    secret_keys: ClassVar[tuple[str, ...]] = ("bottoken",)
    uid_prefix: str = ""  # the uid without its fingerprint
    _stale: list[dict[str, Any]] = field(default_factory=list)

    def read(self, client: GrafanaClient) -> Any:
        found = client.get(f"{PROVISIONING}/contact-points", params={"name": self.body["name"]})
        ours = [cp for cp in found or [] if str(cp.get("uid")).startswith(self.uid_prefix + "-")]
        self._stale = [cp for cp in ours if cp["uid"] != self.name]
        return next((cp for cp in ours if cp["uid"] == self.name), None)

    def comparable(self, live: Any) -> Any:
        desired = self.body | {"provenance": self.provenance}
        source = desired if live is None else live
        result = project(source, desired) | {"provenance": source.get("provenance") or ""}
        if "settings" in result:  # the token is compared through the uid, never shown
            masked = dict.fromkeys(self.secret_keys, SENSITIVE)
            result["settings"] = (result["settings"] or {}) | masked
        return result

    def write(self, client: GrafanaClient, live: Any) -> None:
        if live is None:
            client.request("POST", f"{PROVISIONING}/contact-points", json=self.body)
        else:
            client.request("PUT", f"{PROVISIONING}/contact-points/{self.name}", json=self.body)

    def delete(self, client: GrafanaClient, live: Any) -> None:
        client.request("DELETE", f"{PROVISIONING}/contact-points/{self.name}", missing_ok=True)

    def orphans(self) -> list[tuple[Resource, Any]]:
        """Our integrations holding an older bot token, as read by ``read``."""
        return [
            (ContactPoint({"uid": stale["uid"], "name": stale.get("name")}), stale)
            for stale in self._stale
        ]


class PolicyRoutes(Resource):
    """Our routes inside the policy tree, which the API treats as one object (API-NOTES
    §0.4): the tree is read, our routes are replaced or put first, the rest stays."""

    kind = "notification policy"
    _tree: dict[str, Any]

    @property
    def name(self) -> str:
        return "routes " + ", ".join(_matcher_text(r) for r in self.body["routes"])

    def read(self, client: GrafanaClient) -> Any:
        self._tree = client.get(f"{PROVISIONING}/policies", missing_ok=True) or {}
        ours = [r for r in self._tree.get("routes") or [] if self._is_ours(r)]
        return {"tree": self._tree, "routes": ours} if ours else None

    def _is_ours(self, route: dict[str, Any]) -> bool:
        mine = [_matchers(r) for r in self.body["routes"]]
        return _matchers(route) in mine

    def comparable(self, live: Any) -> Any:
        routes = self.body["routes"] if live is None else live["routes"]
        provenance = self.provenance if live is None else live["tree"].get("provenance") or ""
        shape = self.body["routes"][0]
        return {
            "routes": [_normal_route(project(r, shape)) for r in routes],
            "provenance": provenance,
        }

    def write(self, client: GrafanaClient, live: Any) -> None:
        self._put(client, self._tree, self.body["routes"])  # the tree as read for the plan

    def delete(self, client: GrafanaClient, live: Any) -> None:
        self._put(client, live["tree"], [])

    def _put(self, client: GrafanaClient, tree: dict[str, Any], ours: list[dict[str, Any]]) -> None:
        others = [r for r in tree.get("routes") or [] if not self._is_ours(r)]
        body = {k: v for k, v in tree.items() if k != "provenance"} | {"routes": ours + others}
        body.setdefault("receiver", "grafana-default-email")
        client.request("PUT", f"{PROVISIONING}/policies", json=_without_provenance(body))


class RuleGroup(Resource):
    kind = "rule group"

    @property
    def name(self) -> str:
        return f"{self.body['folderUid']}/{self.body['title']}"

    def read(self, client: GrafanaClient) -> Any:
        path = f"{PROVISIONING}/folder/{self.body['folderUid']}/rule-groups/{self.body['title']}"
        return client.get(path, missing_ok=True)

    def comparable(self, live: Any) -> Any:
        source = self.body if live is None else live
        shapes = {rule["uid"]: rule for rule in self.body["rules"]}
        rules = []
        for rule in source.get("rules") or []:
            shape = shapes.get(rule.get("uid"), {"uid": None, "title": None})
            normal = project(rule, shape)
            if "for" in normal:
                normal["for"] = same_duration(normal["for"])
            provenance = self.provenance if live is None else rule.get("provenance") or ""
            rules.append(normal | {"provenance": provenance})
        return {"interval": source.get("interval"), "rules": rules}

    def write(self, client: GrafanaClient, live: Any) -> None:
        path = f"{PROVISIONING}/folder/{self.body['folderUid']}/rule-groups/{self.body['title']}"
        if live is not None and _without_provenance(self.comparable(live)) == _without_provenance(
            self.comparable(None)
        ):
            # Grafana ignores a PUT identical but for provenance (its delta is empty), so a
            # change of mode re-creates the group; its alerts start from "normal" again.
            client.request("DELETE", path, missing_ok=True)
        client.request("PUT", path, json=self.body)

    def delete(self, client: GrafanaClient, live: Any) -> None:
        path = f"{PROVISIONING}/folder/{self.body['folderUid']}/rule-groups/{self.body['title']}"
        client.request("DELETE", path, missing_ok=True)


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


def _matchers(route: dict[str, Any]) -> list[list[str]]:
    return [list(m) for m in route.get("object_matchers") or []]


def _matcher_text(route: dict[str, Any]) -> str:
    return " ".join(f'{name}{op}"{value}"' for name, op, value in _matchers(route))


def _normal_route(route: Any) -> Any:
    """Durations as durations; Grafana leaves out ``continue`` when it is false."""
    if not isinstance(route, dict):
        return route
    timing = ("group_wait", "group_interval", "repeat_interval")
    normal = {k: same_duration(v) if k in timing else v for k, v in route.items()}
    return normal | {"continue": bool(route.get("continue"))}
