"""Data sources, folders and dashboards (API-NOTES §2-4)."""

from __future__ import annotations

from typing import Any

from provisioning import ownership
from provisioning.client import GrafanaClient, GrafanaError
from provisioning.kinds.base import (
    PROVISIONING,
    Clash,
    Kept,
    Kind,
    Live,
    Lookalike,
    Stack,
    Tested,
    Wanted,
    project,
)
from provisioning.kinds.rules import RuleGroups, rule_owner
from provisioning.model.dashboards import Dashboard, DataSource, Folder

SEARCH_PAGE = 5000  # the most hits a search answers at once (api/search.go)


class DataSources(Kind):
    label, model, api = "data source", DataSource, "/api/datasources"

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
        # At its own uid: an adopted one moves to ours in this PUT (datasources/service/
        # store.go UpdateDataSource writes the body's uid), keeping its id and secrets.
        client.request("PUT", f"/api/datasources/uid/{live['uid']}", json=body)

    def delete(self, client: GrafanaClient, key: str, live: Any) -> list[str]:
        client.request("DELETE", f"/api/datasources/uid/{key}", missing_ok=True)
        return []

    def test(self, client: GrafanaClient, key: str) -> Tested | None:
        """The UI's "Save & test": Grafana queries the data source (Prometheus: ``1+1``) and
        answers 200 or, when it failed, 400 with its reason (api/datasources.go
        checkDatasourceHealth); a plugin with no health check answers neither."""
        path = f"/api/datasources/uid/{key}/health"
        try:  # not repeated: a plugin that is down says so at once (503), no retry budget
            answer = client.request("GET", path, repeatable=False) or {}
        except GrafanaError as exc:
            if exc.status == 400 and isinstance(exc.body, dict):
                return Tested(False, str(exc.body.get("message") or exc.body))
            if exc.status in (404, 501):  # no such plugin, or no health check in it
                return None
            return Tested(None, str(exc))
        return Tested(True, str(answer.get("message") or answer))

    def clash(self, wanted: Wanted, live: Live) -> Clash | None:
        name = wanted.body["name"]
        other = next((d for d in live.get("/api/datasources") or [] if d["name"] == name), None)
        if other is None:
            return None
        return Clash(other["uid"], f"its name {name!r} is taken by data source {other['uid']!r}")

    def lookalikes(self, wanted: Wanted, live: Live) -> list[Lookalike]:
        """Made by hand (unmarked, not from a file), of the same type, with the same URL or
        name."""
        body, found = wanted.body, []
        for other in live.get("/api/datasources") or []:
            if self.owner(other) or other.get("readOnly") or other["type"] != body["type"]:
                continue
            same = [
                f"{field} {other[field]!r}"
                for field in ("url", "name")
                if str(other.get(field) or "").rstrip("/") == str(body.get(field)).rstrip("/")
            ]
            if not same:
                continue
            uid = other["uid"]
            hint = (
                ""
                if uid == wanted.key
                else f"its uid becomes {wanted.key} (to keep {uid}, make it the definition's uid)"
            )
            full = self.fetch(live.client, uid)
            if full is not None:
                name = f"data source {other['name']!r} (uid {uid})"
                found.append(Lookalike(uid, full, name, "same " + " and ".join(same), hint))
        return found

    def adoptable(self, wanted: Wanted, theirs: Lookalike) -> Any:
        return theirs.live  # a PUT moves it to our uid (see write)

    def referrers(self, live: Live, uid: str, name: str | None) -> list[tuple[str, str, str]]:
        """What the stack does not own and queries data source ``uid`` (or, in a dashboard,
        its ``name``), as (kind label, key, how a person knows it): alert rules (a query's
        datasourceUid) and dashboards (a panel's, a target's or a variable's datasource)."""
        found = [
            (RuleGroups.label, r["uid"], f"alert rule {r['title']!r} (uid {r['uid']})")
            for r in live.get(f"{PROVISIONING}/alert-rules") or []
            if rule_owner(r) != self.stack.name
            and any(q.get("datasourceUid") == uid for q in r.get("data") or [])
        ]
        mark = ownership.tag(self.stack.name)
        for hit in every_dashboard(live):
            if mark in (hit.get("tags") or []):
                continue
            board = Dashboards(self.stack).fetch(live.client, hit["uid"]) or {}
            if _queries(board.get("dashboard"), uid, name):
                title = f"dashboard {hit.get('title')!r} (uid {hit['uid']})"
                found.append((Dashboards.label, hit["uid"], title))
        return found


class Folders(Kind):
    """A folder has no field to carry a mark: it is the stack's while it holds the stack's
    dashboards or rules. A folder defined with the uid and title of an existing one is shared,
    and is deleted only when it is the stack's and empty."""

    label, model, api, shared, holds = "folder", Folder, "/api/folders", True, True

    def render(self, definition: Folder) -> Wanted:
        return Wanted(definition.uid, definition.to_json())

    def read(self, live: Live, wanted: list[Wanted]) -> dict[str, Any]:
        """Each wanted or held one read by itself: the list has no version to write with."""
        mine = self.holding(live)
        keys = ({w.key for w in wanted} | mine) & self.listed(live)
        return {
            key: self.fetch(live.client, key) | {"owner": self.stack.name if key in mine else None}
            for key in sorted(keys)
        }

    def listed(self, live: Live) -> set[str]:
        """The uids of the folders Grafana lists (at the root, where the stack's are)."""
        return {f["uid"] for f in live.get("/api/folders", {"limit": 1000}) or []}

    def holding(self, live: Live) -> set[str]:
        """The folders holding the stack's dashboards or rules."""
        dashboards = Dashboards.owned(live, self.stack)
        rules = live.get(f"{PROVISIONING}/alert-rules") or []
        return {d.get("folderUid") or "" for d in dashboards} | {
            r["folderUID"] for r in rules if rule_owner(r) == self.stack.name
        }

    def owner(self, live: Any) -> str | None:
        return live.get("owner")

    def contents(self, live: Live, key: str) -> set[tuple[str, str]]:
        """What folder ``key`` holds, as (kind label, key): dashboards, folders and rules."""
        hits, rules = _held(live, key)
        return {
            (Dashboards.label if hit.get("type") == "dash-db" else self.label, hit["uid"])
            for hit in hits
        } | {(RuleGroups.label, r["uid"]) for r in rules}

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
        kept = self.kept(client, key)
        if kept:
            raise Kept(kept)
        client.request(
            "DELETE", f"/api/folders/{key}", params={"forceDeleteRules": "false"}, missing_ok=True
        )
        return []

    def keeps(self, live: Live, key: str) -> list[str]:
        return self.kept(live, key, besides=self.stack.name)

    @staticmethod
    def kept(source: Live | GrafanaClient, key: str, besides: str | None = None) -> list[str]:
        """The note for a folder that holds dashboards, folders or rules (but those of the
        stack ``besides``, which go first); none if it holds nothing else."""
        hits, held_rules = _held(source, key)
        left = [
            hit
            for hit in hits
            if besides is None or ownership.tag(besides) not in (hit.get("tags") or [])
        ]
        rules = [r for r in held_rules if besides is None or rule_owner(r) != besides]
        if not (left or rules):
            return []
        titles = sorted(str(hit.get("title")) for hit in [*left, *rules])
        return [f"it still holds objects that others made ({', '.join(titles)})"]

    def clash(self, wanted: Wanted, live: Live) -> Clash | None:
        title = wanted.body["title"]
        folders = live.get("/api/folders", {"limit": 1000}) or []
        other = next((f for f in folders if f.get("title") == title), None)
        if other is None:
            return None
        return Clash(other["uid"], f"its title {title!r} is taken by folder {other['uid']!r}")


class Dashboards(Kind):
    label, model, api = "dashboard", Dashboard, "/api/dashboards"

    @staticmethod
    def owned(live: Live, stack: Stack) -> list[dict[str, Any]]:
        """The search hits of the stack's dashboards (marked by their tag)."""
        mark = ownership.tag(stack.name)
        return [h for h in every_dashboard(live) if mark in (h.get("tags") or [])]

    def render(self, definition: Dashboard) -> Wanted:
        dashboard = definition.to_json()
        tags = [t for t in dashboard.get("tags") or [] if not t.startswith(ownership.LABEL)]
        dashboard["tags"] = [*tags, ownership.tag(self.stack.name)]
        return Wanted(
            str(dashboard["uid"]), {"dashboard": dashboard, "folderUid": definition.folder.uid}
        )

    def read(self, live: Live, wanted: list[Wanted]) -> dict[str, Any]:
        keys = {hit["uid"] for hit in self.owned(live, self.stack)}
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
        title, folder = wanted.body["dashboard"].get("title", ""), wanted.body["folderUid"]
        other = next(
            (
                h
                for h in every_dashboard(live)
                if h.get("title") == title and (h.get("folderUid") or "") == folder
            ),
            None,
        )
        if other is None:
            return None
        return Clash(other["uid"], f"its title {title!r} is taken by dashboard {other['uid']!r}")

    def lookalikes(self, wanted: Wanted, live: Live) -> list[Lookalike]:
        """Unmarked ones of the same title, in any folder (from the one list of every
        dashboard, shared by all: no search per definition)."""
        title = wanted.body["dashboard"].get("title", "")
        found = []
        for hit in every_dashboard(live):
            marked = any(t.startswith(ownership.tag("")) for t in hit.get("tags") or [])
            if marked or hit.get("title") != title:
                continue
            uid = hit["uid"]
            full = self.fetch(live.client, uid)
            if full is None or (full.get("meta") or {}).get("provisioned"):
                continue
            where = hit.get("folderTitle") or "General"
            hint = (
                ""
                if uid == wanted.key
                else f"a dashboard's uid cannot change: links to /d/{uid} and its version "
                f"history go with it (to keep them, make {uid} the definition's uid: adopt then "
                "updates it in place)"
            )
            name = f"dashboard {title!r} (uid {uid}, in {where})"
            found.append(Lookalike(uid, full, name, "same title", hint))
        return found

    def adoptable(self, wanted: Wanted, theirs: Lookalike) -> Any:
        return theirs.live if theirs.key == wanted.key else None


def every_dashboard(live: Live) -> list[dict[str, Any]]:
    """Every dashboard's search hit, page by page; read once per plan, shared by all. A page
    that brings nothing new ends it too (a proxy that drops ``page`` would loop forever)."""
    hits: dict[str, dict[str, Any]] = {}
    page = 1
    while True:
        query = {"type": "dash-db", "limit": SEARCH_PAGE, "page": page}
        found = live.get("/api/search", query) or []
        new = {hit["uid"]: hit for hit in found if hit["uid"] not in hits}
        hits |= new
        if len(found) < SEARCH_PAGE or not new:
            return list(hits.values())
        page += 1


def _held(
    source: Live | GrafanaClient, key: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """What folder ``key`` holds: its search hits (dashboards, folders) and its rules."""
    hits = source.get("/api/search", {"folderUIDs": key}) or []
    rules = [r for r in source.get(f"{PROVISIONING}/alert-rules") or [] if r["folderUID"] == key]
    return hits, rules


def _queries(node: Any, uid: str, name: str | None) -> bool:
    """Whether some ``datasource`` in a dashboard's JSON names data source ``uid`` (an
    object with its uid, or the uid or ``name`` as a string, as older dashboards do)."""
    if isinstance(node, list):
        return any(_queries(item, uid, name) for item in node)
    if not isinstance(node, dict):
        return False
    source = node.get("datasource")
    if isinstance(source, dict):
        source = source.get("uid")
    if isinstance(source, str) and source in (uid, name):
        return True
    return any(_queries(value, uid, name) for value in node.values())


def _without_ids(dashboard: Any) -> Any:
    if not isinstance(dashboard, dict):
        return dashboard
    return {k: v for k, v in dashboard.items() if k not in ("id", "version")}
