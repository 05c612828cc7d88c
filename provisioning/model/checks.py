"""Checks a model object makes of its own arguments when it is built, so a mistake is one
line naming the object (provisioning.discover adds the file and line) and never reaches
Grafana, which would refuse it halfway through an apply."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from provisioning.errors import DefinitionError


def one_of(where: str, value: Any, allowed: Collection[Any]) -> None:
    """``value`` is one of ``allowed`` (a Literal's get_args, or a table's keys)."""
    if value not in allowed:
        choices = ", ".join(repr(choice) for choice in allowed)
        raise DefinitionError(f"{where}: {value!r} is none of {choices}")


def of_type(where: str, value: Any, kind: type | tuple[type, ...], what: str) -> None:
    """``value`` is a ``kind`` and not a bool (to Python a bool is an int, here it is not)."""
    if isinstance(value, bool) or not isinstance(value, kind):
        raise DefinitionError(f"{where}: expected {what}, got {value!r}")
