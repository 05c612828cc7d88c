"""Checks a model object makes of its own arguments when it is built, so a mistake is one
line naming the object (provisioning.discover adds the file and line) and never reaches
Grafana, which would refuse it halfway through an apply."""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from provisioning.errors import DefinitionError

# Grafana's uid rule (pkg/util/shortid_generator.go ValidateUID): at most 40 characters of Go's
# ^[a-zA-Z0-9\-\_]*$, whose $ ends the text (no trailing newline: hence fullmatch). Grafana
# makes up an empty uid; a definition's must be stable, so it has at least one character.
_UID = re.compile(r"[a-zA-Z0-9_-]{1,40}")
UID_RULE = "1-40 letters, digits, '-' or '_'"  # said in every message about a uid


def is_uid(value: Any) -> bool:
    """``value`` is a uid Grafana accepts and keeps as it is."""
    return isinstance(value, str) and _UID.fullmatch(value) is not None


def one_of(where: str, value: Any, allowed: Collection[Any]) -> None:
    """``value`` is one of ``allowed`` (a Literal's get_args, or a table's keys)."""
    if value not in allowed:
        choices = ", ".join(repr(choice) for choice in allowed)
        raise DefinitionError(f"{where}: {value!r} is none of {choices}")


def of_type(where: str, value: Any, kind: type | tuple[type, ...], what: str) -> None:
    """``value`` is a ``kind`` and not a bool (to Python a bool is an int, here it is not)."""
    if isinstance(value, bool) or not isinstance(value, kind):
        raise DefinitionError(f"{where}: expected {what}, got {value!r}")


def above_zero(where: str, value: Any, what: str) -> None:
    """``value`` is a whole number above 0 (not a bool)."""
    of_type(where, value, int, what)
    if value <= 0:
        raise DefinitionError(f"{where}: expected {what}, got {value!r}")
