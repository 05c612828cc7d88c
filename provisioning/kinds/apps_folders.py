"""Folders through folder.grafana.app (GA as v1 in Grafana 13), over the same storage as
/api/folders: a folder made through one is the same folder through the other. The spec round
trips (only the title is trimmed), and a folder that still holds anything is refused deletion
by Grafana itself (pkg/registry/apis/folders: validate.go, cascade_delete_storage.go).

Dashboards stay on /api/dashboards on every version, deprecated in 13's OpenAPI spec but
neither disabled nor sending deprecation headers: dashboard.grafana.app/v1 rewrites every spec
it stores or serves (uid, version and id removed; migrated to the newest schemaVersion, then
Grafana's frontend defaults), so comparing a definition with it would show a change on every
plan, and on every dashboard after an upgrade from 11 or 12 (README, "Supported versions")."""

from __future__ import annotations

from typing import Any

from provisioning.client import GrafanaClient, GrafanaError
from provisioning.kinds.base import Clash, Kept, Live, Stack, Wanted
from provisioning.kinds.dashboards import Folders
from provisioning.server import FOLDERS

NOT_EMPTY = "folder.not-empty"  # Status details.uid of a refused delete
PARENT = "grafana.app/folder"  # the annotation naming a nested folder's parent


class AppFolders(Folders):
    """Folders as Kubernetes objects: metadata.name is the uid, spec.title the title,
    writes carry the resourceVersion read (409 when someone changed it since: the folder is
    read again and, still the stack's and still different, written once more)."""

    versioned = True

    def __init__(self, stack: Stack, version: str) -> None:
        super().__init__(stack)
        self.api = f"{FOLDERS}/{version}"

    @property
    def collection(self) -> str:
        return f"/apis/{self.api}/namespaces/{self.stack.namespace}/folders"

    def read(self, live: Live, wanted: list[Wanted]) -> dict[str, Any]:
        """One list: each item has its resourceVersion."""
        mine = self.holding(live)
        return {
            item["metadata"]["name"]: item | {"owner": self.stack.name if name in mine else None}
            for item in self._items(live)
            if (name := item["metadata"]["name"]) in mine | {w.key for w in wanted}
        }

    def _items(self, live: Live) -> list[dict[str, Any]]:
        return (live.get(self.collection) or {}).get("items") or []

    def listed(self, live: Live) -> set[str]:
        return {item["metadata"]["name"] for item in self._items(live) if not parent(item)}

    def actual(self, live: Any, wanted: Wanted | None) -> Any:
        return {"title": (live.get("spec") or {}).get("title")}

    def fetch(self, client: GrafanaClient, key: str) -> Any:
        item = client.get(f"{self.collection}/{key}", missing_ok=True)
        if item is None:
            return None
        return item | {"owner": self.stack.name if key in self.holding(Live(client)) else None}

    def write(self, client: GrafanaClient, wanted: Wanted, live: Any) -> None:
        spec = {"title": wanted.body["title"]}
        if live is None:
            body = {"apiVersion": self.api, "kind": "Folder", "metadata": {"name": wanted.key}}
            client.request("POST", self.collection, json=body | {"spec": spec})
            return
        # The object as read (its parent, annotations, resourceVersion and the rest of its
        # spec, such as a description: a PUT replaces the whole spec), with our title.
        spec = (live.get("spec") or {}) | spec
        body = {k: v for k, v in live.items() if k not in ("owner", "status")} | {"spec": spec}
        client.request("PUT", f"{self.collection}/{wanted.key}", json=body)

    def delete(self, client: GrafanaClient, key: str, live: Any) -> list[str]:
        try:
            client.request("DELETE", f"{self.collection}/{key}", missing_ok=True)
        except GrafanaError as exc:
            if ((exc.body or {}).get("details") or {}).get("uid") != NOT_EMPTY:
                raise
            raise Kept(self.kept(client, key) or ["Grafana refused: it is not empty"]) from exc
        return []

    def clash(self, wanted: Wanted, live: Live) -> Clash | None:
        title = wanted.body["title"]
        # Titles are unique among one parent's folders; the stack's are at the root.
        other = next(
            (
                i
                for i in self._items(live)
                if (i.get("spec") or {}).get("title") == title and not parent(i)
            ),
            None,
        )
        if other is None:
            return None
        uid = other["metadata"]["name"]
        return Clash(uid, f"its title {title!r} is taken by folder {uid!r}")


def parent(item: dict[str, Any]) -> str:
    """A folder's parent uid; empty at the root."""
    return ((item.get("metadata") or {}).get("annotations") or {}).get(PARENT) or ""
