"""Taking over objects made by hand that look like the stack's (``Kind.lookalikes``), as the
plan decides it (README, "Taking over a Grafana set up by hand"). The toolkit keeps no state:
an object taken over ends at the definition's key with the stack's mark, so every reference to
it is the definitions' own on every later plan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from provisioning.changes import ADOPT, CANDIDATE, DELETE, Change
from provisioning.kinds import Kind, Wanted
from provisioning.kinds.base import Lookalike


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
    """The first look-alike that Grafana lets become ours in place is adopted (``mode``
    ADOPT, or a kind where two cannot sit side by side, or one at our own key), unless ours
    exists; the others go after every write, but those our write itself moves in
    (``Kind.moves``)."""
    moved = [_moved(kind, item, a) for a in alikes if kind.moves(item, a)]
    alikes = [a for a in alikes if not kind.moves(item, a)]
    mine = current is not None and kind.owner(current) == kind.stack.name
    keys = frozenset(a.key for a in alikes) | {c.key for c in moved}
    for theirs in [] if mine else alikes:
        if mode == ADOPT or kind.replaced_in_place or theirs.key == item.key:
            taken = kind.adoptable(item, theirs)
            if taken is not None:
                notes = [f"takes over {theirs.name} in place ({theirs.why})"]
                adoption = Change(
                    kind, item.key, ADOPT, item, taken, kind.actual(taken, item),
                    kind.expected(item), notes + ([theirs.hint] if theirs.hint else []),
                )  # fmt: skip
                others = [_release(kind, item, a) for a in alikes if a is not theirs]
                return Takeover(adoption, None, keys, moved + others)
    held = current is not None and not mine and kind.made_of(current, keys)
    ours = None if item.key in keys or held else current
    return Takeover(None, ours, keys, moved + [_release(kind, item, a) for a in alikes])


def candidate(kind: Kind, item: Wanted, theirs: Lookalike) -> Change:
    """A look-alike only shown: what --adopt and --replace would do with it."""
    beside = f"{kind.label} {item.key} is written and this one deleted"
    in_place = kind.adoptable(item, theirs) is not None or kind.moves(item, theirs)
    same = theirs.key == item.key or kind.replaced_in_place or kind.moves(item, theirs)
    notes = [
        f"made by hand, looks like {kind.label} {item.key} ({theirs.why})",
        "--adopt: " + ("it becomes ours in place" if in_place else beside),
        "--replace: " + ("it becomes ours in place" if in_place and same else beside),
    ]
    notes += [theirs.hint] if theirs.hint else []
    return Change(kind, theirs.key, CANDIDATE, None, theirs.live, None, None, notes, theirs)


def takeover_hint(titles: list[str]) -> str:
    """The way out, for a plan stopped by a clash, when look-alikes are in Grafana."""
    if not titles:
        return ""
    return (
        f". Made by hand and looking like ours: {'; '.join(titles)}: `plan --adopt` shows how "
        "`apply --adopt` takes them over, `plan --replace` how `apply --replace` puts ours in "
        "their place"
    )


def _moved(kind: Kind, item: Wanted, theirs: Lookalike) -> Change:
    """A look-alike that the write of ``item`` makes ours, checked after the writes."""
    notes = [f"made by hand ({theirs.why}); the write of {kind.label} {item.key} moves it in"]
    return Change(kind, theirs.key, ADOPT, None, theirs.live, None, None, notes, theirs)


def _release(kind: Kind, item: Wanted, theirs: Lookalike) -> Change:
    notes = [f"made by hand ({theirs.why}); replaced by {kind.label} {item.key}"]
    notes += [theirs.hint] if theirs.hint else []
    return Change(kind, theirs.key, DELETE, None, theirs.live, None, None, notes, theirs)
