"""Taking over objects made by hand that look like the stack's (``Kind.lookalikes``), as the
plan decides it (README, "Taking over a Grafana set up by hand"). The toolkit keeps no state:
an object taken over ends at the definition's key with the stack's mark, so every reference to
it is the definitions' own on every later plan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from provisioning.changes import ADOPT, CANDIDATE, DELETE, REPLACE, Change
from provisioning.kinds import Dashboards, DataSources, Folders, Kind, Live, RuleGroups, Wanted
from provisioning.kinds.base import Lookalike

# What apply says when a look-alike holds what a definition needs and no flag says what to do.
BLOCKED = (
    "made by hand and looking like ours: --adopt takes it over, --replace puts ours in its place"
)


@dataclass(frozen=True)
class Takeover:
    """What becomes of one definition and the look-alikes of it."""

    adoption: Change | None  # one of them made ours in place; None: compare with ``current``
    current: Any  # what the definition is compared with (their object at our key: nothing)
    spared: frozenset[str]  # the look-alikes' keys: what they hold is no clash
    released: list[Change]  # each of the others: moved in by our write, else deleted after it


def take_over(
    kind: Kind, item: Wanted, current: Any, alikes: list[Lookalike], mode: str
) -> Takeover:
    """The look-alike ``adopted`` chooses is made ours in place; the others go after every
    write, but those our write itself moves in (``Kind.moves``)."""
    moved = [_moved(kind, item, a) for a in alikes if kind.moves(item, a)]
    alikes = [a for a in alikes if not kind.moves(item, a)]
    keys = frozenset(a.key for a in alikes) | {c.key for c in moved}
    chosen = adopted(kind, item, current, alikes, mode)
    if chosen is not None:
        theirs, taken = chosen
        notes = [f"takes over {theirs.name} in place ({theirs.why})"]
        adoption = Change(
            kind, item.key, ADOPT, item, taken, kind.actual(taken, item),
            kind.expected(item), notes + _hint(kind, item, theirs, in_place=True),
        )  # fmt: skip
        others = [_release(kind, item, a) for a in alikes if a is not theirs]
        return Takeover(adoption, None, keys, moved + others)
    mine = current is not None and kind.owner(current) == kind.stack.name
    held = current is not None and not mine and kind.made_of(current, keys)
    ours = None if item.key in keys or held else current
    return Takeover(None, ours, keys, moved + [_release(kind, item, a) for a in alikes])


def adopted(
    kind: Kind, item: Wanted, current: Any, alikes: list[Lookalike], mode: str
) -> tuple[Lookalike, Any] | None:
    """The look-alike that ``mode`` makes ours in place, with the live object a write takes
    over: the first one Grafana lets become ours (``mode`` ADOPT, or a kind where two cannot
    sit side by side, or one at our own key), unless ours exists. One at most: the others
    go."""
    if current is not None and kind.owner(current) == kind.stack.name:
        return None
    for theirs in alikes:
        if mode == ADOPT or kind.replaced_in_place or theirs.key == item.key:
            taken = kind.adoptable(item, theirs)
            if taken is not None:
                return theirs, taken
    return None


def candidates_of(kind: Kind, item: Wanted, current: Any, alikes: list[Lookalike]) -> list[Change]:
    """The look-alikes only shown: what --adopt and --replace would do with each, as
    ``take_over`` decides it."""
    staying = [a for a in alikes if not kind.moves(item, a)]
    chosen = {mode: adopted(kind, item, current, staying, mode) for mode in (ADOPT, REPLACE)}
    found = []
    for theirs in alikes:
        in_place = {
            mode: kind.moves(item, theirs) or (pick is not None and pick[0] is theirs)
            for mode, pick in chosen.items()
        }
        beside = f"{_ours(kind, item)} is written and this one deleted"
        notes = [f"made by hand, looks like {_ours(kind, item)} ({theirs.why})"]
        notes += [
            f"--{mode}: " + ("it becomes ours in place" if in_place[mode] else beside)
            for mode in (ADOPT, REPLACE)
        ]
        told = [
            f"--{mode}" for mode in (ADOPT, REPLACE) if _hint(kind, item, theirs, in_place[mode])
        ]
        if told:  # said of one flag only when it holds for that one alone
            notes.append((f"{told[0]}: " if len(told) == 1 else "") + theirs.hint)
        found.append(
            Change(kind, theirs.key, CANDIDATE, None, theirs.live, None, None, notes, theirs)
        )
    return found


def takeover_hint(titles: list[str]) -> str:
    """The way out, for a plan stopped by a clash, when look-alikes are in Grafana."""
    if not titles:
        return ""
    return (
        f". Made by hand and looking like ours: {'; '.join(titles)}: `plan --adopt` shows how "
        "`apply --adopt` takes them over, `plan --replace` how `apply --replace` puts ours in "
        "their place"
    )


def stranded(
    live: Live, changes: list[Change], moving: list[tuple[DataSources, Wanted, Lookalike]]
) -> None:
    """A data source taken over from another uid leaves that uid: adopted, it moves to ours;
    replaced, it goes. What the stack does not own, is not taken over too and queries the old
    uid would point nowhere (a rule's DatasourceError, a broken panel): the change names each
    and stops apply before any write; a candidate says so in its notes."""
    taken = _taken(changes)
    for kind, item, theirs in moving:
        name = theirs.live.get("name")
        gone = None if name == item.body.get("name") else name
        users = [
            who
            for label, key, who in kind.referrers(live, theirs.key, gone)
            if (label, key) not in taken
        ]
        if not users:
            continue
        for change in changes:
            if change.kind is not kind or not (
                change.theirs is theirs or change.live is theirs.live
            ):
                continue
            if change.action == CANDIDATE:
                change.notes.append(
                    f"--adopt and --replace stop while these query uid {theirs.key}: "
                    + ", ".join(users)
                )
                continue
            fate = f"moves to uid {item.key}" if change.action == ADOPT else "is deleted"
            change.stop = (
                f"data source {name!r} (uid {theirs.key}) {fate}, leaving {', '.join(users)} "
                f"querying a uid that is gone: make {theirs.key} the definition's uid (it then "
                f"stays where it is), or point them at {item.key} or remove them first"
            )
            change.notes.append(f"apply stops: {change.stop}")


def emptied(
    folders: Folders, live: Live, changes: list[Change], defined: set[str], taking: bool
) -> list[Change]:
    """Folders made by hand that hold nothing but dashboards and rules being taken over
    (``taking``; else only candidates): left empty, they go after them (never one that
    ``defined`` names, nor one holding anything else by then: ``Folders.delete``)."""
    taken = _taken(changes)
    where = set()
    for change in (c for c in changes if c.theirs is not None or c.action == ADOPT):
        if isinstance(change.kind, RuleGroups):
            where.add(change.live.get("folderUID"))
        elif isinstance(change.kind, Dashboards):
            where.add((change.live.get("meta") or {}).get("folderUid"))
    found = []
    for uid in sorted(where - defined - {"", None}):
        current = folders.fetch(live.client, uid)
        if current is None or folders.owner(current) or not folders.contents(live, uid) <= taken:
            continue
        title = folders.actual(current, None)["title"]
        theirs = Lookalike(uid, current, f"folder {title!r} (uid {uid})", "made by hand")
        fate = "deleted after them" if taking else "--adopt and --replace delete it after them"
        note = f"made by hand, holds only objects taken over: {fate}, left empty"
        action = DELETE if taking else CANDIDATE
        found.append(Change(folders, uid, action, None, current, None, None, [note], theirs))
    return found


def _taken(changes: list[Change]) -> set[tuple[str, str]]:
    """(kind label, key) of each object made by hand that the plan takes over, or would
    with --adopt or --replace (candidates)."""
    return {
        (c.kind.label, c.theirs.key if c.theirs is not None else c.key)
        for c in changes
        if c.theirs is not None or c.action == ADOPT
    }


def _moved(kind: Kind, item: Wanted, theirs: Lookalike) -> Change:
    """A look-alike that the write of ``item`` makes ours, checked after the writes."""
    notes = [f"made by hand ({theirs.why}); the write of {_ours(kind, item)} moves it in"]
    return Change(kind, theirs.key, ADOPT, None, theirs.live, None, None, notes, theirs)


def _release(kind: Kind, item: Wanted, theirs: Lookalike) -> Change:
    notes = [f"made by hand ({theirs.why}); replaced by {_ours(kind, item)}"]
    notes += _hint(kind, item, theirs, in_place=False)
    return Change(kind, theirs.key, DELETE, None, theirs.live, None, None, notes, theirs)


def _hint(kind: Kind, item: Wanted, theirs: Lookalike, in_place: bool) -> list[str]:
    """``theirs.hint`` when it holds for this fate: it tells what taking the look-alike over
    does the way Grafana would for it alone, in place where it can (``Kind.adoptable``: a data
    source's uid moves), else by ours written and theirs deleted (a dashboard's links go)."""
    holds = in_place == (kind.moves(item, theirs) or kind.adoptable(item, theirs) is not None)
    return [theirs.hint] if theirs.hint and holds else []


def _ours(kind: Kind, item: Wanted) -> str:
    """How the plan names the definition's object (a contact point by its name)."""
    return f"{kind.label} {kind.title(item.key, item.body)}"
