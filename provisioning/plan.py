"""Plan and apply, in the manner of Terraform: compare each definition with live Grafana,
show the differences, then write only what differs."""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from provisioning.client import GrafanaClient, GrafanaError
from provisioning.resources import PolicyRoutes, Resource, RuleGroup

CREATE, UPDATE, DELETE, UNCHANGED = "create", "update", "delete", "unchanged"
# Refusals that a write which already took effect meets when it is sent again.
SETTLED_BY_READING = frozenset({404, 409, 412, 500})
SYMBOLS = {CREATE: "+", UPDATE: "~", DELETE: "-", UNCHANGED: "="}


@dataclass
class Change:
    resource: Resource
    action: str
    live: Any
    before: Any  # the live object as compared (None: it does not exist)
    after: Any  # the definition as compared (None: it goes)

    @property
    def title(self) -> str:
        return f"{self.resource.kind} {self.resource.name}"

    def diff(self) -> list[str]:
        if self.action != UPDATE:
            return []
        return list(
            difflib.unified_diff(_lines(self.before), _lines(self.after), "live", "defined", n=2)
        )[2:]


def make_plan(
    client: GrafanaClient, resources: list[Resource], destroy: bool = False
) -> list[Change]:
    """What apply (or destroy) would do; reads only.

    Objects that a resource replaced (an integration holding an older bot token) are deleted
    right after it is created, or first of all when it exists already. A rotated token cannot
    move into the integration in place (its uid carries the token's fingerprint, and Grafana
    keeps a uid), and Grafana refuses to delete the last integration of a contact point that
    a route uses: so the new integration comes first, and both deliver only until the very next
    request deletes the old one (the client retries it on faults). If an apply stops in
    between, the next one deletes the old integration before anything else."""
    changes: list[Change] = []
    stale: list[Change] = []  # replaced by an integration that exists: deleted first
    for resource in reversed(resources) if destroy else resources:
        live = resource.read(client)
        before = None if live is None else resource.comparable(live)
        if destroy:
            action = UNCHANGED if live is None else DELETE
            after = None
        else:
            after = resource.comparable(None)
            action = CREATE if live is None else UPDATE if before != after else UNCHANGED
        changes.append(Change(resource, action, live, before, after))
        orphans = [
            Change(orphan, DELETE, orphan_live, orphan.comparable(orphan_live), None)
            for orphan, orphan_live in resource.orphans()
        ]
        (changes if live is None else stale).extend(orphans)
    changes = stale + changes
    if not destroy:
        _check_provenance(changes)
    return changes


def apply(
    client: GrafanaClient, changes: list[Change], progress: Callable[[str], None]
) -> list[Change]:
    """Write each change in order; returns those written. A failure stops at once: every
    write is one whole object, so a rerun picks up where this one stopped."""
    done = []
    for change in changes:
        if change.action == UNCHANGED:
            continue
        progress(f"{SYMBOLS[change.action]} {change.action} {change.title} ...")
        _make(client, change)
        done.append(change)
        progress("  done" + "".join(f"; {note}" for note in change.resource.notes))
    return done


def _make(client: GrafanaClient, change: Change) -> None:
    """Make one change. A write can be refused because an earlier try of it landed and only
    its answer was lost: the client's repeat then meets a duplicate (409; 500 for a contact
    point's uid) or a newer version (409, 412). Grafana is read again: when it matches the
    definition, the change is made; when the object appeared or went meanwhile, it is written
    once more from what is there; a create refused for an object someone else made is one
    line naming that object."""
    resource = change.resource
    if change.action == DELETE:
        resource.delete(client, change.live)  # a delete finding nothing is done
        return
    try:
        resource.write(client, change.live)
        return
    except GrafanaError as exc:
        if exc.status not in SETTLED_BY_READING:
            raise
        refused = exc
    live = resource.read(client)
    if live is not None and resource.comparable(live) == change.after:
        return
    if (live is None) != (change.live is None):
        resource.write(client, live)
        return
    clash = resource.clash(client) if live is None else None
    if clash:
        raise GrafanaError(f"cannot create {change.title}: {clash}") from None
    raise refused


def render(changes: list[Change]) -> str:
    lines = []
    for change in changes:
        lines.append(f"{SYMBOLS[change.action]} {change.title}: {change.action}")
        lines += [f"    {line.rstrip()}" for line in change.diff()]
        lines += [f"    note: {note}" for note in change.resource.notes]
    counts = {action: sum(c.action == action for c in changes) for action in SYMBOLS}
    lines.append(
        f"Plan: {counts[CREATE]} to create, {counts[UPDATE]} to update, "
        f"{counts[DELETE]} to delete, {counts[UNCHANGED]} unchanged."
    )
    return "\n".join(lines)


def as_json(changes: list[Change]) -> list[dict[str, Any]]:
    return [
        {
            "kind": c.resource.kind,
            "name": c.resource.name,
            "action": c.action,
            "diff": c.diff(),
            "notes": list(c.resource.notes),
        }
        for c in changes
    ]


def _check_provenance(changes: list[Change]) -> None:
    """Grafana refuses to unlock a locked (provenance "api") template, contact point or
    policy tree (API-NOTES §0.2); only rule groups may change either way. Say so before
    anything is written, with the way out."""
    stuck = [
        c
        for c in changes
        if c.action == UPDATE
        and not isinstance(c.resource, RuleGroup)
        and isinstance(c.before, dict)
        and c.before.get("provenance") == "api"
        and c.after.get("provenance") == ""
    ]
    if not stuck:
        return
    names = ", ".join(c.title for c in stuck)
    tree = any(isinstance(c.resource, PolicyRoutes) for c in stuck)
    raise GrafanaError(
        f"cannot make {names} editable in the UI: Grafana never unlocks an object "
        "provisioned as locked. Run `provision.py destroy` with ui_editable: false, then "
        "`apply` with ui_editable: true"
        + (
            "; the policy tree stays locked until it is reset with "
            "DELETE /api/v1/provisioning/policies, which also removes routes others made"
            if tree
            else ""
        )
    )


def _lines(value: Any) -> list[str]:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False).splitlines()
