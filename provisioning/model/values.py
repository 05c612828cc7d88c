"""What reaches a definition from outside the code: the ``values`` of grafana.yaml, and
values read from the environment (secrets, chat ids) only when the toolkit needs them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from provisioning.errors import DefinitionError


@dataclass(frozen=True)
class Env:
    """A value taken from the environment variable ``name`` (or the file named by
    ``NAME_FILE``) when it is needed: secrets never sit in definitions. An integration's
    secret fields must be given this way."""

    name: str

    def __str__(self) -> str:
        return f"${self.name}"


class Values(Mapping[str, Any]):
    """A read-only section of grafana.yaml's ``values``; a missing key or a value of the
    wrong type is a DefinitionError naming its path (e.g. ``values.folder.uid``)."""

    def __init__(self, data: Mapping[str, Any], where: str = "values") -> None:
        self._data, self._where = dict(data), where

    def __getitem__(self, key: str) -> Any:
        if key not in self._data:
            raise DefinitionError(f"missing setting: {self._where}.{key}")
        value = self._data[key]
        return Values(value, f"{self._where}.{key}") if isinstance(value, Mapping) else value

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    # Mapping's own two catch KeyError, which a missing key is not here: an optional
    # setting is read as ``values.get("team", {})`` or tested with ``"team" in values``.
    def __contains__(self, key: object) -> bool:
        return key in self._data

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self._data else default

    def section(self, key: str) -> Values:
        value = self[key]
        if not isinstance(value, Values):
            raise DefinitionError(f"{self._where}.{key}: expected a mapping, got {value!r}")
        return value

    def text(self, key: str) -> str:
        return self._typed(key, str, "text")

    def flag(self, key: str) -> bool:
        return self._typed(key, bool, "true or false")

    def number(self, key: str) -> float:
        value = self[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise DefinitionError(f"{self._where}.{key}: expected a number, got {value!r}")
        return value

    def texts(self, key: str) -> list[str]:
        value = self[key]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise DefinitionError(f"{self._where}.{key}: expected a list of texts, got {value!r}")
        return list(value)

    def _typed(self, key: str, kind: type, what: str) -> Any:
        value = self[key]
        if not isinstance(value, kind):
            raise DefinitionError(f"{self._where}.{key}: expected {what}, got {value!r}")
        return value
