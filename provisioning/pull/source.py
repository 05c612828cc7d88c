"""Model objects as Python source: each a call of its class with the fields that differ from
the class's defaults, by keyword; objects the module names (a folder, a mute timing) by their
name; long texts split so that every line stays under the line length. ``ruff format`` then
lays the calls out (``write.py``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from provisioning.model import GENERAL, Env

PIECE = 50  # the longest piece of a text split over lines


@dataclass(frozen=True)
class Code:
    """Source text written as it is (a call of a helper of the module), and the model's
    names it refers to."""

    text: str
    uses: tuple[str, ...] = ()


@dataclass
class Source:
    """Renders values; ``named``: objects the module defines once, by identity; ``used``:
    the model's names the source refers to (the module imports them)."""

    named: dict[int, str] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)

    def __call__(self, value: Any) -> str:
        if id(value) in self.named:
            return self.named[id(value)]
        if value is GENERAL:
            self.used.add("GENERAL")
            return "GENERAL"
        if isinstance(value, Code):
            self.used.update(value.uses)
            return value.text
        if isinstance(value, Env):
            self.used.add("Env")
            return f"Env({value.name!r})"
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return self._call(value)
        if isinstance(value, str):
            return text(value)
        if isinstance(value, Mapping):
            items = ", ".join(f"{self(k)}: {self(v)}" for k, v in value.items())
            return f"{{{items}}}"
        if isinstance(value, tuple) and all(isinstance(v, str | int | float) for v in value):
            return f"({', '.join(map(self, value))}{',' if len(value) == 1 else ''})"
        if isinstance(value, list | tuple):
            return f"[{', '.join(map(self, value))}]"
        return repr(value)

    def _call(self, value: Any) -> str:
        name = type(value).__name__
        self.used.add(name)
        arguments = []
        for item in dataclasses.fields(value):
            current = getattr(value, item.name)
            if item.init and not _is_default(item, current):
                arguments.append(f"{item.name}={self(current)}")
        return f"{name}({', '.join(arguments)})"


def _is_default(item: dataclasses.Field[Any], value: Any) -> bool:
    if item.default is not dataclasses.MISSING:
        default = item.default
    elif item.default_factory is not dataclasses.MISSING:
        default = item.default_factory()
    else:
        return False
    return bool(value == default or (_empty(value) and _empty(default)))


def _empty(value: Any) -> bool:
    """An empty collection: () as a default and [] as a value say the same."""
    return isinstance(value, list | tuple | Mapping) and not value


def text(value: str) -> str:
    """A string literal; a long one as pieces that Python joins (split after a space), which
    ruff lays out one per line, or joins again where they fit."""
    if len(value) <= PIECE:
        return repr(value)
    pieces, rest = [], value
    while len(rest) > PIECE:
        cut = rest.rfind(" ", PIECE // 2, PIECE) + 1 or PIECE
        pieces.append(rest[:cut])
        rest = rest[cut:]
    pieces.append(rest)
    return " ".join(repr(piece) for piece in pieces)
