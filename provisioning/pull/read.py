"""What Grafana holds that no stack owns, read through the kinds (their lists, ``read`` and
``fetch``) in one shape per kind whatever API the version serves: the shape of Grafana's
legacy API, which the conversions to the model read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from provisioning import ownership
from provisioning.kinds import (
    ContactPoints,
    Dashboards,
    DataSources,
    Folders,
    Kind,
    Live,
    MuteTimings,
    Routes,
    RuleGroups,
    Templates,
    Wanted,
)
from provisioning.kinds.apps_folders import parent
from provisioning.kinds.apps_notifications import AppContactPoints
from provisioning.kinds.base import PROVISIONING
from provisioning.kinds.notifications import ROOT_RECEIVER

SYSTEM = "system"  # the provenance of what Grafana itself makes (its default templates)
REDACTED = "[REDACTED]"  # what the legacy API answers for a secret setting (API-NOTES §0.3)


@dataclass
class LiveIntegration:
    """One integration of a contact point: its settings without the secret ones, and the
    names of those Grafana holds secret (it never answers their values)."""

    type: str
    settings: dict[str, Any]
    secret: list[str]
    disable_resolve_message: bool


@dataclass
class Foreign:
    """Grafana's objects that carry no stack's mark, each in the legacy API's shape."""

    datasources: list[dict[str, Any]] = field(default_factory=list)
    folders: dict[str, dict[str, Any]] = field(default_factory=dict)  # uid -> uid/title/parent
    dashboards: list[dict[str, Any]] = field(default_factory=list)  # {dashboard, meta}
    templates: list[dict[str, Any]] = field(default_factory=list)
    mute_timings: list[dict[str, Any]] = field(default_factory=list)
    contact_points: dict[str, list[LiveIntegration]] = field(default_factory=dict)
    routes: list[dict[str, Any]] = field(default_factory=list)
    rule_groups: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # one line per object not pulled


def read_foreign(live: Live, kinds: list[Kind]) -> Foreign:
    """Every object of Grafana that no stack owns (made by hand or by another tool)."""
    found = Foreign()
    for kind in kinds:
        if isinstance(kind, DataSources):
            found.datasources = _datasources(live, kind, found.skipped)
        elif isinstance(kind, Dashboards):
            found.dashboards = _dashboards(live, kind, found.skipped)
        elif isinstance(kind, Templates | MuteTimings):
            unowned = [
                obj
                for obj in kind.read(live, []).values()
                if kind.owner(obj) is None and obj.get("provenance") != SYSTEM
            ]
            if isinstance(kind, Templates):
                found.templates = unowned
            else:
                found.mute_timings = unowned
        elif isinstance(kind, ContactPoints | AppContactPoints):
            found.contact_points = _contact_points(live, kind, found.skipped)
        elif isinstance(kind, Routes):
            found.routes = [r for r in kind.top_routes(live) if not _stack_branch(r)]
        elif isinstance(kind, RuleGroups):
            found.rule_groups = _rule_groups(live, kind, found.skipped)
    folders = next(k for k in kinds if isinstance(k, Folders))
    found.folders = _folders(live, folders, found)
    return found


def _every(live: Live, kind: Kind, keys: list[str]) -> dict[str, Any]:
    """The objects at ``keys``, through the kind's own read."""
    return kind.read(live, [Wanted(key, {}) for key in keys])


def _datasources(live: Live, kind: DataSources, skipped: list[str]) -> list[dict[str, Any]]:
    listed = [d["uid"] for d in live.get("/api/datasources") or []]
    found = []
    for uid, source in _every(live, kind, listed).items():
        if source is None or kind.owner(source) is not None:
            continue
        if source.get("readOnly"):
            skipped.append(f"data source {source['name']!r} ({uid}): provisioned from a file, "
                           "which is its code: not pulled")  # fmt: skip
            continue
        found.append(source)
    return found


def _dashboards(live: Live, kind: Dashboards, skipped: list[str]) -> list[dict[str, Any]]:
    hits = live.get("/api/search", {"type": "dash-db", "limit": 5000}) or []
    found = []
    for uid, board in _every(live, kind, [hit["uid"] for hit in hits]).items():
        if kind.owner(board) is not None:
            continue
        if (board.get("meta") or {}).get("provisioned"):
            title = (board.get("dashboard") or {}).get("title")
            skipped.append(f"dashboard {title!r} ({uid}): provisioned from a file, which is its "
                           "code: not pulled")  # fmt: skip
            continue
        found.append(board)
    return found


def _folders(live: Live, kind: Folders, found: Foreign) -> dict[str, dict[str, Any]]:
    """The folders holding what is pulled, and every other one no stack holds."""
    listed = kind.listed(live)
    holding = {(b.get("meta") or {}).get("folderUid") or "" for b in found.dashboards}
    holding |= {g["folderUid"] for g in found.rule_groups}
    read = _every(live, kind, sorted((listed | holding) - {""}))
    folders = {}
    for uid, folder in read.items():
        if folder is None or (uid not in holding and kind.owner(folder) is not None):
            continue
        title = kind.actual(folder, None)["title"]
        folders[uid] = {
            "uid": uid,
            "title": title,
            "parent": folder.get("parentUid") or parent(folder),
        }
    return folders


def _contact_points(
    live: Live, kind: ContactPoints | AppContactPoints, skipped: list[str]
) -> dict[str, list[LiveIntegration]]:
    """Each contact point's integrations that no stack marks, by its name. Grafana's own
    default contact point is left out while it is as Grafana made it."""
    points: dict[str, list[LiveIntegration]] = {}
    if isinstance(kind, AppContactPoints):
        for receiver in kind.resources.items(live):
            spec = receiver.get("spec") or {}
            for item in spec.get("integrations") or []:
                secret = [k for k, held in (item.get("secureFields") or {}).items() if held]
                points.setdefault(spec.get("title"), []).extend(_integration(item, secret))
    else:
        for item in kind.read(live, []).values():
            settings = item.get("settings") or {}
            secret = [k for k, v in settings.items() if v == REDACTED]
            points.setdefault(item["name"], []).extend(_integration(item, secret))
    default = points.pop(ROOT_RECEIVER, None)
    if default and [i.settings for i in default] != [{"addresses": "<example@email.com>"}]:
        skipped.append(f"contact point {ROOT_RECEIVER!r}: Grafana's default, which every "
                       "Grafana has: not pulled (edit it in Grafana)")  # fmt: skip
    return {name: parts for name, parts in points.items() if parts}


def _integration(item: dict[str, Any], secret: list[str]) -> list[LiveIntegration]:
    """The integration, or none when a stack marks it as its own."""
    if ownership.integration_owner(item.get("uid")) is not None:
        return []
    settings = {k: v for k, v in (item.get("settings") or {}).items() if k not in secret}
    resolve = bool(item.get("disableResolveMessage"))
    return [LiveIntegration(item.get("type", ""), settings, sorted(secret), resolve)]


def _stack_branch(route: dict[str, Any]) -> bool:
    """A branch of the policy tree that a stack owns (its one matcher, managed_by=<stack>)."""
    matchers = [list(m) for m in route.get("object_matchers") or []]
    return len(matchers) == 1 and matchers[0][:2] == [ownership.LABEL, "="]


def _rule_groups(live: Live, kind: RuleGroups, skipped: list[str]) -> list[dict[str, Any]]:
    rules = live.get(f"{PROVISIONING}/alert-rules") or []
    keys = sorted({f"{rule['folderUID']}/{rule['ruleGroup']}" for rule in rules})
    found = []
    for key, group in _every(live, kind, keys).items():
        if group is None:
            continue
        owners = {(r.get("labels") or {}).get(ownership.LABEL) for r in group.get("rules") or []}
        if owners == {None}:
            found.append(group)
        elif None in owners:
            skipped.append(f"rule group {key}: holds rules of a stack and rules made by hand: "
                           "not pulled")  # fmt: skip
    return found
