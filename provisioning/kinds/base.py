"""What every kind of Grafana object shares: the stack that writes, an object as wanted, a
clash, the plan's shared reads, and the interface each kind implements (the kinds are in the
modules beside this one, in the model's layout).

A kind keeps no state between reading and writing: everything a write needs travels in the
``Wanted`` and the live object that the plan carries."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from provisioning.client import GrafanaClient
from provisioning.model import Definition
from provisioning.settings import SettingsError, duration_seconds

PROVISIONING = "/api/v1/provisioning"
NOT_COMPARED = "(not compared)"


@dataclass(frozen=True)
class Stack:
    """Who writes (the stack's name marks what it owns), where, and how."""

    name: str
    org_id: int = 1
    provenance: str = "api"  # what objects should carry: "api" locked, "" UI-editable
    environ: Mapping[str, str] = field(default_factory=dict)
    own_tree: bool = False  # its routes in a routing tree of its own, not the default one

    @property
    def tree(self) -> str:
        """The routing tree of its own, named after it; "" when its routes are a branch of
        Grafana's default tree."""
        return self.name if self.own_tree else ""

    @property
    def namespace(self) -> str:
        """The org's namespace in the app-platform APIs: default for org 1 (apps/NOTES.md §b)."""
        return "default" if self.org_id == 1 else f"org-{self.org_id}"


@dataclass
class Wanted:
    """One object as the definitions want it. ``unresolved``: settings read from environment
    variables that are not set (NAME -> fields); they are not compared and apply needs them."""

    key: str
    body: dict[str, Any]
    unresolved: dict[str, list[str]] = field(default_factory=dict)
    secret: frozenset[str] = frozenset()  # settings compared through the key only


@dataclass(frozen=True)
class Lookalike:
    """An object that carries no stack's mark (made by hand) and looks like one the stack
    defines: a candidate to take over (README, "Taking over a Grafana set up by hand")."""

    key: str  # where Grafana keeps it: its uid (a rule's, an integration's) or its route
    live: Any  # as read
    name: str  # how a person knows it
    why: str  # what makes it look like ours
    hint: str = ""  # what else to know before taking it over


@dataclass(frozen=True)
class Clash:
    """An object under another key holding what a create needs (a name, a title)."""

    key: str | None  # None: not one object of this kind (a contact point's name)
    message: str


class Kept(Exception):
    """A deletion that did not happen: the object holds what others made (``notes`` say
    what), and it stays."""

    def __init__(self, notes: list[str]) -> None:
        super().__init__("; ".join(notes))
        self.notes = notes


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


@dataclass(frozen=True)
class Tested:
    """What Grafana answered when asked to test an object: whether it passed (None: it
    could not test it), and why."""

    passed: bool | None
    message: str


class Kind:
    """How one kind of object is read, compared, written and deleted."""

    label: ClassVar[str]
    model: ClassVar[type]
    api: str  # which of Grafana's APIs it goes through, for the plan's header
    locks: ClassVar[bool] = False  # carries provenance, which Grafana never unlocks
    shared: ClassVar[bool] = False  # one defined alike by another stack is not a collision
    holds: ClassVar[bool] = False  # holds other objects: it cannot go before they move out
    versioned: ClassVar[bool] = False  # an update names the version read: 409 when stale
    # Two cannot share what a look-alike shares with ours (a receiver's name): --replace
    # takes it over in place too.
    replaced_in_place: ClassVar[bool] = False

    def __init__(self, stack: Stack) -> None:
        self.stack = stack

    def wanted(self, definitions: Iterable[Definition]) -> list[Wanted]:
        mine = [d for d in definitions if isinstance(d, self.model)]
        return unique(self.label, [self.render(d) for d in mine])

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
        """Remove it (gone already is fine); returns notes for the person. Raises ``Kept``
        when it holds what others made and so stays."""
        raise NotImplementedError

    def test(self, client: GrafanaClient, key: str) -> Tested | None:
        """Grafana's own test of the object at ``key``, just written (a data source's "Save &
        test"); None: Grafana has none for this kind."""
        return None

    def keeps(self, live: Live, key: str) -> list[str]:
        """Why the stack's object at ``key``, which no definition names, stays instead of
        going (it holds what others made: the stack's own go before it); none: it goes."""
        return []

    def clash(self, wanted: Wanted, live: Live) -> Clash | None:
        """What, held by someone else under another key, keeps a create from working."""
        return None

    def takes(self, wanted: Wanted, live: Live, spared: frozenset[str] = frozenset()) -> str | None:
        """What a write, create or update, would take from someone else's object (but the
        look-alikes at keys ``spared``, being taken over)."""
        return None

    def title(self, key: str, body: Any) -> str:
        """How the plan names the object."""
        return key

    def lookalikes(self, wanted: Wanted, live: Live) -> list[Lookalike]:
        """Objects made by hand (no stack's mark) that look like ``wanted``."""
        return []

    def made_of(self, live: Any, keys: frozenset[str]) -> bool:
        """Whether ``live`` holds nothing but the look-alikes at ``keys`` (a rule group of
        theirs at our key): taking those over takes it over."""
        return False

    def moves(self, wanted: Wanted, theirs: Lookalike) -> bool:
        """Whether the write of ``wanted`` itself makes ``theirs`` ours (a rule whose uid a
        group names moves into it)."""
        return False

    def adoptable(self, wanted: Wanted, theirs: Lookalike) -> Any:
        """``theirs`` as the live object a write of ``wanted`` takes over in place (None:
        Grafana cannot turn it into ours, so ours is made and theirs goes)."""
        return None

    def release(self, client: GrafanaClient, theirs: Lookalike) -> list[str]:
        """Remove someone else's object that one of ours takes the place of."""
        return self.delete(client, theirs.key, theirs.live)


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


def without_provenance(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_provenance(v) for k, v in value.items() if k != "provenance"}
    if isinstance(value, list):
        return [without_provenance(v) for v in value]
    return value


def unique(label: str, items: list[Wanted]) -> list[Wanted]:
    """Each key once: the same object defined twice counts once, two different ones under
    one key are an error."""
    seen: dict[str, Wanted] = {}
    for item in items:
        if item.key in seen and seen[item.key].body != item.body:
            raise SettingsError(f"two different definitions of {label} {item.key!r}")
        seen.setdefault(item.key, item)
    return list(seen.values())
