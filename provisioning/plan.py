"""Plan and apply, in the manner of Terraform: compare each definition with live Grafana,
show the differences, then write only what differs."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from provisioning.changes import (
    ADOPT,
    CANDIDATE,
    CREATE,
    DELETE,
    KEEP,
    NO_WRITE,
    SYMBOLS,
    UNCHANGED,
    UPDATE,
    Change,
)
from provisioning.client import GrafanaClient, GrafanaError
from provisioning.errors import ProvisioningError
from provisioning.kinds import (
    ContactPoints,
    DataSources,
    Folders,
    Kind,
    Live,
    Routes,
    RuleGroups,
    Wanted,
)
from provisioning.kinds.base import Kept, Lookalike, Tested
from provisioning.model import Definition
from provisioning.takeover import (
    BLOCKED,
    candidates_of,
    emptied,
    stranded,
    take_over,
    takeover_hint,
)

# Refusals that a write which already took effect meets when it is sent again.
SETTLED_BY_READING = frozenset({404, 409, 412, 500})
COUNTED = {CREATE: "to create", UPDATE: "to update", DELETE: "to delete", UNCHANGED: "unchanged"}
COUNTED_IF_ANY = {
    ADOPT: "to adopt",
    CANDIDATE: "to take over (--adopt or --replace)",
    KEEP: "kept (holding what others made)",
}
FOLDED_LINES = 20  # a longer diff is folded away in the markdown plan


class CollisionError(ProvisioningError):
    """Definitions name objects that someone else owns; nothing was written."""


def make_plan(
    client: GrafanaClient,
    definitions: list[Definition],
    kinds: list[Kind],
    destroy: bool = False,
    takeover: str = "",
) -> list[Change]:
    """What apply (or destroy) would do; reads only. Objects the stack owns that no
    definition names any more are deleted (kept, a KEEP with the reason, while one holds
    what others made: a folder); objects others own are never touched, and a
    definition naming one stops the plan.

    Order: rule groups that go, first (their rules' uids may move to a new group), and any
    object of the stack holding the name or title a renamed definition takes; then every
    create and update, each kind after those it refers to; then the other deletions, in
    reverse. An integration replaced by one with new secrets is deleted right after its
    successor is written: a rotated secret cannot move into the integration in place (its uid
    carries the fingerprint), and Grafana refuses to delete the last integration of a contact
    point that a route uses.

    Objects made by hand that look like a definition's (``Kind.lookalikes``) are listed as
    candidates; ``takeover`` ADOPT makes each ours in place where Grafana can
    (``Kind.adoptable``), REPLACE (and ADOPT where it cannot) writes ours and then deletes
    theirs, after every write."""
    live = Live(client)
    first: list[Change] = []
    writes: list[Change] = []
    last: list[Change] = []
    collisions: list[str] = []
    candidates: dict[tuple[str, str], Change] = {}
    taken_over: dict[tuple[str, str], Change] = {}  # each look-alike once: moved in, else gone
    moving: list[tuple[DataSources, Wanted, Lookalike]] = []
    folders: set[str] = set()  # the defined folders' uids
    for kind in kinds:
        stack = kind.stack
        wanted = [] if destroy else kind.wanted(definitions)
        found = kind.read(live, wanted)
        keys = {w.key for w in wanted}
        folders |= keys if isinstance(kind, Folders) else set()
        doomed = {
            key: _going(kind, key, current, live)
            for key, current in found.items()
            if key not in keys and kind.owner(current) == stack.name
        }
        for item in wanted:
            current = found.get(item.key)
            alikes = kind.lookalikes(item, live)
            if alikes and takeover:
                decision = take_over(kind, item, current, alikes, takeover)
                change = decision.adoption or _compare(
                    kind, item, decision.current, live, collisions, doomed, first, decision.spared
                )
                for release in decision.released:
                    key = (kind.label, release.key)
                    if key not in taken_over or release.action == ADOPT:
                        taken_over[key] = release
            else:
                candidates |= {
                    (kind.label, c.key): c for c in candidates_of(kind, item, current, alikes)
                }
                theirs = frozenset(a.key for a in alikes)
                change = _compare(
                    kind, item, current, live, collisions, doomed, first, theirs, taking=False
                )
            if isinstance(kind, DataSources):  # leaving its uid: what queries it must follow
                moving += [(kind, item, a) for a in alikes if a.key != item.key]
            if change is not None:
                writes.append(change)
        for change in doomed.values():
            if isinstance(kind, RuleGroups):
                first.append(change)
            elif isinstance(kind, ContactPoints) and change.live.get("name") in _names(wanted):
                writes.append(change)  # replaced by a rotation: right after its successor
            else:
                last.append(change)
    last += taken_over.values()
    if collisions:
        raise CollisionError(
            "stopped, nothing written: "
            + "; ".join(collisions)
            + ". Rename ours in the definitions, or remove theirs in Grafana (or give it to "
            "this stack: a definition takes over only what carries the stack's mark)"
            + takeover_hint([c.title for c in candidates.values()])
        )
    changes = first + writes + last[::-1]
    shown = list(candidates.values())
    if destroy:
        return changes
    stranded(live, changes + shown, moving)
    for kind in (k for k in kinds if isinstance(k, Folders)):  # left empty: they go last
        (changes if takeover else shown).extend(
            emptied(kind, live, changes + shown, folders, taking=bool(takeover))
        )
    _check_provenance(changes)
    return changes + shown


def _going(kind: Kind, key: str, current: Any, live: Live) -> Change:
    """The deletion of the stack's object at ``key``, which no definition names; it is kept
    instead, with the reason as its note, when it holds what others made (a folder)."""
    kept = kind.keeps(live, key)
    action = KEEP if kept else DELETE
    return Change(kind, key, action, None, current, kind.actual(current, None), None, kept)


def _compare(
    kind: Kind,
    item: Wanted,
    current: Any,
    live: Live,
    collisions: list[str],
    doomed: dict[str, Change],
    first: list[Change],
    spared: frozenset[str] = frozenset(),
    taking: bool = True,
) -> Change | None:
    """The change ``item`` needs, or None after adding to ``collisions``. A create whose
    name or title an object of the stack holds that goes (in ``doomed``) moves that object's
    deletion to ``first``. What look-alikes hold (keys ``spared``; a clash naming no object
    is theirs) is no clash: being taken over (``taking``), they go after it; only shown as
    candidates, the change is planned but stops apply (``Change.stop``)."""
    after = kind.expected(item)
    notes = [
        f"not compared: {', '.join(fields)} ({name} is not set; apply needs it)"
        for name, fields in item.unresolved.items()
    ]
    name = f"{kind.label} {kind.title(item.key, item.body)}"
    held = ""  # what look-alikes hold that the write needs
    if current is None:
        clash = kind.clash(item, live)
        if clash is not None and clash.key in doomed and not kind.holds:
            first.append(doomed.pop(clash.key))
            clash = None
        if clash is not None and spared and (clash.key is None or clash.key in spared):
            held, clash = clash.message, None
        problem = clash.message if clash else kind.takes(item, live, spared)
        if problem:
            collisions.append(f"{name}: {problem}")
            return None
        change = Change(kind, item.key, CREATE, item, None, None, after, notes)
    else:
        before = kind.actual(current, item)
        owner = kind.owner(current)
        if owner != kind.stack.name:
            if kind.shared and before == after:  # the same folder, defined by two stacks
                return Change(kind, item.key, UNCHANGED, item, current, before, after, notes)
            if taking or not (item.key in spared or kind.made_of(current, spared)):
                who = f"stack {owner!r}" if owner else "someone else (made by hand or another tool)"
                collisions.append(f"{name} exists and belongs to {who}")
                return None
            held = "it exists"
        taken = kind.takes(item, live, spared)
        if taken:
            collisions.append(f"{name}: {taken}")
            return None
        action = UPDATE if before != after else UNCHANGED
        change = Change(kind, item.key, action, item, current, before, after, notes)
    if not taking and spared:
        held = held or kind.takes(item, live) or ""
        if held:
            change.stop = f"{name}: {held}, {BLOCKED}"
            change.notes.append(f"apply stops: {held}, {BLOCKED}")
    return change


def _names(wanted: list[Wanted]) -> set[str]:
    return {w.body.get("name") for w in wanted}


def apply(
    client: GrafanaClient, changes: list[Change], progress: Callable[[str], None]
) -> list[Change]:
    """Write each change in order; returns those written. A failure stops at once: every
    write is one whole object, so a rerun picks up where this one stopped. A deletion found
    holding what others made meanwhile becomes a KEEP, and is not among those written.
    A plan holding a stop (``Change.stop``) writes nothing."""
    held = stops(changes)
    if held:
        raise CollisionError(f"stopped, nothing written: {held}")
    done = []
    for change in changes:
        if change.action in NO_WRITE:
            continue
        progress(f"{SYMBOLS[change.action]} {change.action} {change.title} ...")
        _make(client, change)
        if change.action == KEEP:
            progress("  kept: " + "; ".join(change.notes))
            continue
        done.append(change)
        progress("  done" + "".join(f"; {note}" for note in change.notes))
    return done


def tested(client: GrafanaClient, done: list[Change]) -> list[tuple[Change, Tested]]:
    """Grafana's own test of each object written that has one (a data source's "Save &
    test"), after every write: a failed test is said, and undoes nothing."""
    results = []
    for change in done:
        result = change.kind.test(client, change.key) if change.wanted is not None else None
        if result is not None:
            results.append((change, result))
    return results


def _make(client: GrafanaClient, change: Change) -> None:
    """Make one change. A write can be refused because an earlier try of it landed and only
    its answer was lost: the client's repeat then meets a duplicate (409; 500 for a contact
    point's uid) or a newer version (409, 412). Grafana is read again: when it matches the
    definition, the change is made; when the object went meanwhile, appeared as the stack's, or
    a versioned update was stale (``_stale``), it is written once more from what is there."""
    kind, wanted = change.kind, change.wanted
    if wanted is None:
        try:  # finding nothing is done
            if change.theirs is not None:
                change.notes += kind.release(client, change.theirs)
            else:
                change.notes += kind.delete(client, change.key, change.live)
        except Kept as kept:
            change.action = KEEP
            change.notes += kept.notes
        return
    try:
        kind.write(client, wanted, change.live)
        return
    except GrafanaError as exc:
        if exc.status not in SETTLED_BY_READING:
            raise
        refused = exc
    live = kind.fetch(client, change.key)
    if live is not None and kind.actual(live, wanted) == change.after:
        return
    if change.action == ADOPT:  # never a second one beside theirs: a rerun plans again
        raise refused
    went = live is None and change.live is not None
    appeared = live is not None and change.live is None and kind.owner(live) == kind.stack.name
    if went or appeared or _stale(kind, refused, live):
        kind.write(client, wanted, live)
        return
    raise refused  # someone else's appeared meanwhile: never changed


def _stale(kind: Kind, refused: GrafanaError, live: Any) -> bool:
    """A versioned update refused as stale (409): someone wrote the object since it was
    read. Read again, it is planned once more: still the stack's and still different, it is
    written with the version just read."""
    return (
        refused.status == 409
        and kind.versioned
        and live is not None
        and kind.owner(live) == kind.stack.name
    )


def render(changes: list[Change]) -> str:
    lines = []
    for change in changes:
        lines.append(f"{SYMBOLS[change.action]} {change.title}: {change.action}")
        lines += [f"    {line.rstrip()}" for line in change.diff()]
        lines += [f"    note: {note}" for note in change.notes]
    lines.append(f"Plan: {summary(changes)}.")
    held = stops(changes)
    lines += [f"Apply stops, nothing written: {held}"] if held else []
    return "\n".join(lines)


def stops(changes: list[Change]) -> str:
    """Why apply would stop before any write; empty when it goes ahead."""
    return "; ".join(stop_reasons(changes))


def stop_reasons(changes: list[Change]) -> list[str]:
    """Each reason apply would stop before any write, once (the JSON plan's ``stops``)."""
    return list(dict.fromkeys(c.stop for c in changes if c.stop))


def counted(changes: list[Change]) -> dict[str, str]:
    """The actions a plan counts: always the four, adoptions and candidates when any."""
    present = {c.action for c in changes}
    return COUNTED | {a: words for a, words in COUNTED_IF_ANY.items() if a in present}


def summary(changes: list[Change]) -> str:
    return ", ".join(
        f"{sum(c.action == action for c in changes)} {words}"
        for action, words in counted(changes).items()
    )


def markdown(changes: list[Change], title: str) -> str:
    """The plan as a pull-request comment: a table of actions per kind, then each change,
    its diff folded away when longer than ``FOLDED_LINES``. Diffs never hold a secret (they
    compare through fingerprints)."""
    kinds = list(dict.fromkeys(c.kind.label for c in changes))
    actions = counted(changes)
    lines = [
        f"### {title}",
        "",
        "| kind | " + " | ".join(actions) + " |",
        "|---" * (len(actions) + 1) + "|",
    ]
    for label in kinds:
        mine = [c for c in changes if c.kind.label == label]
        counts = [str(sum(c.action == action for c in mine)) for action in actions]
        lines.append(f"| {label} | " + " | ".join(counts) + " |")
    lines += ["", f"**Plan: {summary(changes)}.**"]
    held = stops(changes)
    lines += ["", f"**Apply stops, nothing written:** {held}"] if held else []
    for change in (c for c in changes if c.action != UNCHANGED):
        lines += ["", f"`{SYMBOLS[change.action]}` {change.action} **{change.title}**"]
        lines += [f"> {note}" for note in change.notes]
        diff = change.diff()
        if not diff:
            continue
        fence = "`" * max(
            3, 1 + max(len(run) for run in re.findall(r"`+", "\n".join(diff)) or [""])
        )
        block = [f"{fence}diff", *(line.rstrip() for line in diff), fence]
        if len(diff) > FOLDED_LINES:
            block = [f"<details><summary>{len(diff)} lines of diff</summary>", "", *block, "",
                     "</details>"]  # fmt: skip
        lines += ["", *block]
    return "\n".join(lines) + "\n"


def as_json(changes: list[Change]) -> list[dict[str, Any]]:
    return [
        {
            "kind": c.kind.label,
            "name": c.key,
            "action": c.action,
            "diff": c.diff(),
            "notes": list(c.notes),
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
        and c.kind.locks
        and isinstance(c.before, dict)
        and c.before.get("provenance") == "api"
        and c.after.get("provenance") == ""
    ]
    if not stuck:
        return
    names = ", ".join(c.title for c in stuck)
    tree = any(isinstance(c.kind, Routes) and c.key == c.kind.key for c in stuck)  # the default
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
