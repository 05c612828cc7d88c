"""Tunables from one YAML file, overridable from the environment; secrets from the
environment only."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path
from typing import Any, get_type_hints

import yaml

from provisioning.errors import ProvisioningError

DEFAULT_FILE = Path(__file__).resolve().parent.parent / "grafana.yaml"
# One overlay per target (dev, staging, prod...): environments/NAME.yaml, merged over
# DEFAULT_FILE by `provision.py --env NAME`.
ENVIRONMENTS = DEFAULT_FILE.parent / "environments"
ENV_PREFIX = "PROVISION__"
# Prometheus's durations (model.ParseDuration): units largest first, each at most once, so
# "90s" and "1m30s", the spelling Grafana answers with, are both read.
SECONDS = {"y": 31_536_000, "w": 604_800, "d": 86_400, "h": 3_600, "m": 60, "s": 1, "ms": 0.001}
DURATION = re.compile("^" + "".join(rf"(?:(\d+){unit})?" for unit in SECONDS) + "$")
# The definitions' sections, which moved under ``values`` when definitions became modules.
DEFINITION_SECTIONS = ("prometheus", "folder", "dashboard", "alerting", "telegram", "policy")
# Short environment overrides, kept from the first releases (Compose sets them).
SHORT_OVERRIDES = {
    "GRAFANA_URL": ("grafana", "url"),
    "PROMETHEUS_URL": ("values", "prometheus", "url"),
}
# A stack's name goes into uids and label values: short, lower case, no "_" or ":"
# (they separate it from the rest of a uid or a name).
STACK_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,19}$")
# Where the stack's routes live: a branch of Grafana's default policy tree, or a routing tree
# of its own named after the stack (Grafana 13 with alertingMultiplePolicies; README says why
# the branch is the default).
POLICY_TREES = ("shared", "own")
# The default tree's name and its alias (routingtree_ext.go, apps/NOTES.md §b): reserved.
GRAFANA_TREES = ("user-defined", "default")


class SettingsError(ProvisioningError):
    """A setting is missing or malformed; the message names it."""


@dataclass(frozen=True)
class GrafanaSettings:
    url: str
    org_id: int
    timeout_seconds: float
    retries: int
    ui_editable: bool
    policy_tree: str  # one of POLICY_TREES

    @property
    def own_tree(self) -> bool:
        return self.policy_tree == "own"


@dataclass(frozen=True)
class Settings:
    grafana: GrafanaSettings
    stack: str  # the owner marker on everything this toolkit writes (see the README)
    values: dict[str, Any]  # handed to the definitions as they are


@dataclass(frozen=True)
class Credentials:
    """Grafana's, read from the environment (or NAME_FILE)."""

    token: str | None
    user: str | None
    password: str | None

    def __repr__(self) -> str:  # never print a secret, even by accident
        return "Credentials(...)"


def load_settings(
    path: Path = DEFAULT_FILE,
    environ: dict[str, str] | None = None,
    environment: str | None = None,
) -> Settings:
    """The bundled defaults (``DEFAULT_FILE``), then the overlay of ``environment``
    (``ENVIRONMENTS/NAME.yaml``), then the keys ``path`` sets, then the environment
    variables' overrides: each layer changes only what it names."""
    environ = dict(os.environ if environ is None else environ)
    overrides: dict[str, Any] = {}
    for name, value in environ.items():
        if name.startswith(ENV_PREFIX):
            *sections, key = name[len(ENV_PREFIX) :].lower().split("__")
            _at(overrides, sections)[key] = _parse(value, name)
    for name, where in SHORT_OVERRIDES.items():
        if environ.get(name):
            *sections, key = where
            _at(overrides, sections)[key] = environ[name]
    layers = [_read(DEFAULT_FILE)]
    if environment:
        layers.append(_read(environment_file(environment)))
    if path.resolve() != DEFAULT_FILE:  # the defaults again would undo the overlay
        layers.append(_read(path))
    data = functools.reduce(_merge, [*layers, overrides])
    settings: Settings = _build(Settings, data, "")
    if not STACK_NAME.match(settings.stack):
        raise SettingsError(
            f"stack: {settings.stack!r} must be 1-20 lower-case letters, digits or '-'"
        )
    if settings.grafana.policy_tree not in POLICY_TREES:
        raise SettingsError(
            f"grafana.policy_tree: {settings.grafana.policy_tree!r} must be one of "
            + " or ".join(POLICY_TREES)
        )
    if settings.grafana.own_tree and settings.stack in GRAFANA_TREES:
        raise SettingsError(
            f"stack: {settings.stack!r} names Grafana's default policy tree, so it cannot "
            "name the stack's own tree (policy_tree: own): choose another name"
        )
    if settings.grafana.own_tree and settings.stack.endswith("-"):
        raise SettingsError(  # a tree's name is a DNS subdomain (grafana/grafana#119516)
            f"stack: {settings.stack!r} names the stack's own tree (policy_tree: own), which "
            "must end with a letter or a digit"
        )
    return settings


def environments(folder: Path = ENVIRONMENTS) -> list[str]:
    """The names of the environments defined, one overlay file each."""
    return sorted(path.stem for path in folder.glob("*.yaml"))


def environment_file(name: str, folder: Path = ENVIRONMENTS) -> Path:
    """The overlay of the environment ``name``; an unknown name is refused, listing the
    known ones (so no name reaches outside ``folder``)."""
    known = environments(folder)
    if name not in known:
        listed = ", ".join(known) or "none is defined"
        raise SettingsError(
            f"unknown environment {name!r}: {folder.name}/ defines {listed} (one NAME.yaml each)"
        )
    return folder / f"{name}.yaml"


def _at(tree: dict[str, Any], sections: list[str]) -> dict[str, Any]:
    for section in sections:
        tree = tree.setdefault(section, {})
    return tree


def _read(path: Path) -> dict[str, Any]:
    try:
        data = _parse(path.read_text(), str(path))
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read settings ({exc.strerror})") from None
    if not isinstance(data, dict | None):
        raise SettingsError(f"{path}: expected a mapping of settings")
    return data or {}


def _parse(text: str, where: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SettingsError(f"{where}: not valid YAML ({' '.join(str(exc).split())})") from None


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``override`` over ``base``: mappings merge key by key, any other value replaces."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def read_env(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The variable ``name``, else the content of the file ``NAME_FILE`` names; None when
    neither is set."""
    environ = os.environ if environ is None else environ
    if environ.get(name):
        return environ[name]
    if environ.get(f"{name}_FILE"):
        try:
            return Path(environ[f"{name}_FILE"]).read_text().strip() or None
        except OSError as exc:
            raise SettingsError(f"{name}_FILE: cannot read ({exc.strerror})") from None
    return None


def load_credentials(environ: Mapping[str, str] | None = None) -> Credentials:
    return Credentials(
        token=read_env("GRAFANA_TOKEN", environ),
        user=read_env("GRAFANA_USER", environ),
        password=read_env("GRAFANA_PASSWORD", environ),
    )


def duration_seconds(text: str) -> float:
    """'10s' -> 10, '1m30s' -> 90, '2h' -> 7200."""
    match = DURATION.match(text)
    if not match or not any(match.groups()):
        raise SettingsError(f"{text!r} is not a duration such as 10s, 5m or 2h")
    counts = zip(match.groups(), SECONDS.values(), strict=True)
    return sum(int(count) * seconds for count, seconds in counts if count)


def _build(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise SettingsError(f"{where or 'settings'}: expected a mapping")
    hints = get_type_hints(cls)
    names = {f.name for f in fields(cls)}
    unknown = set(data) - names
    for key in sorted(unknown, key=str):
        if not where and key in DEFINITION_SECTIONS:
            raise SettingsError(
                f"{key}: the definitions' settings live under values: now (values.{key})"
            )
    if unknown:
        listed = ", ".join(_path(where, k) for k in sorted(unknown, key=str))
        raise SettingsError(f"unknown setting(s): {listed}")
    values = {}
    for name in names:
        path = _path(where, name)
        if name not in data:
            raise SettingsError(f"missing setting: {path}")
        kind, value = hints[name], data[name]
        if is_dataclass(kind):
            values[name] = _build(kind, value, path)
        else:
            values[name] = _coerce(kind, value, path)
    return cls(**values)


def _coerce(kind: Any, value: Any, path: str) -> Any:
    if kind is bool and isinstance(value, bool):
        return value
    if kind is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if kind is str and isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value)
    if kind == dict[str, Any] and isinstance(value, dict | None):
        return dict(value or {})
    if kind == list[str] and isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise SettingsError(f"{path}: expected {getattr(kind, '__name__', kind)}, got {value!r}")


def _path(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key
