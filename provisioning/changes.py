"""One change a plan makes to one object, and the actions a plan knows."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from typing import Any

from provisioning.kinds import Kind, Wanted
from provisioning.kinds.base import Lookalike

CREATE, UPDATE, DELETE, UNCHANGED = "create", "update", "delete", "unchanged"
# Taking over what was made by hand: a look-alike made ours in place; one only shown.
ADOPT, CANDIDATE = "adopt", "candidate"
REPLACE = "replace"  # the other way to take over: ours made, theirs deleted
KEEP = "keep"  # the stack's, named by no definition, but holding what others made: it stays
NO_WRITE = frozenset({UNCHANGED, CANDIDATE, KEEP})
SYMBOLS = {
    CREATE: "+",
    UPDATE: "~",
    DELETE: "-",
    UNCHANGED: "=",
    ADOPT: ">",
    CANDIDATE: "?",
    KEEP: "!",
}


@dataclass
class Change:
    kind: Kind
    key: str
    action: str
    wanted: Wanted | None  # None: it goes
    live: Any
    before: Any  # the live object as compared (None: it does not exist)
    after: Any  # the definition as compared (None: it goes)
    notes: list[str] = field(default_factory=list)
    theirs: Lookalike | None = None  # a look-alike made by hand that this change is about
    stop: str = ""  # why apply stops, before any write, while this plan holds it

    @property
    def title(self) -> str:
        if self.theirs is not None and self.wanted is None:
            return self.theirs.name
        body = self.wanted.body if self.wanted else self.live
        return f"{self.kind.label} {self.kind.title(self.key, body)}"

    def diff(self) -> list[str]:
        if self.action not in (UPDATE, ADOPT):
            return []
        return list(
            difflib.unified_diff(_lines(self.before), _lines(self.after), "live", "defined", n=2)
        )[2:]


def _lines(value: Any) -> list[str]:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False).splitlines()
