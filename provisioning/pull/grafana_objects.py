"""Data sources, folders and dashboards read from Grafana, as model objects. What the model
has no field for is named in a note, never dropped silently."""

from __future__ import annotations

from typing import Any

from provisioning.model import GENERAL, DataSource, Folder

# A data source's fields besides the model's, and the value Grafana gives them when unset.
UNMODELLED_DATASOURCE_FIELDS = {
    "basicAuth": False,
    "basicAuthUser": "",
    "user": "",
    "database": "",
    "withCredentials": False,
}
# What Grafana keeps about a dashboard in its JSON model but assigns itself.
ASSIGNED_DASHBOARD_FIELDS = ("id", "version")


def datasource(live: dict[str, Any], notes: list[str]) -> DataSource:
    lost = [
        key
        for key, unset in UNMODELLED_DATASOURCE_FIELDS.items()
        if live.get(key) not in (None, unset)
    ]
    secure = sorted(k for k, held in (live.get("secureJsonFields") or {}).items() if held)
    if secure:
        lost.append(f"its secure settings ({', '.join(secure)})")
    if lost:
        notes.append(
            f"data source {live['name']!r} ({live['uid']}): not pulled, the model has no field "
            f"for them: {', '.join(lost)}; set them in Grafana after apply"
        )
    return DataSource(
        uid=live["uid"],
        name=live["name"],
        type=live["type"],
        url=live.get("url") or "",
        access=live.get("access") or "proxy",
        is_default=bool(live.get("isDefault")),
        json_data=dict(live.get("jsonData") or {}),
    )


def folder(live: dict[str, Any], notes: list[str]) -> Folder:
    if live["parent"]:
        notes.append(
            f"folder {live['title']!r} ({live['uid']}): inside folder {live['parent']!r}, which "
            "the model cannot say: pulled as a folder at the top"
        )
    return Folder(uid=live["uid"], title=live["title"])


def dashboard_json(live: dict[str, Any]) -> dict[str, Any]:
    """The dashboard's JSON model without what Grafana assigns (its uid stays: links,
    bookmarks and rules name it)."""
    board = live.get("dashboard") or {}
    return {k: v for k, v in board.items() if k not in ASSIGNED_DASHBOARD_FIELDS}


def dashboard_folder(live: dict[str, Any], folders: dict[str, Folder]) -> Folder:
    uid = (live.get("meta") or {}).get("folderUid") or ""
    return folders[uid] if uid else GENERAL
