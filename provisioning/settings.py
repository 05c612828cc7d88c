"""Tunables from one YAML file, overridable from the environment; secrets from the
environment only."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path
from typing import Any, get_type_hints

import yaml

DEFAULT_FILE = Path(__file__).resolve().parent.parent / "grafana.yaml"
ENV_PREFIX = "PROVISION__"
# Prometheus's durations (model.ParseDuration): units largest first, each at most once, so
# "90s" and "1m30s", the spelling Grafana answers with, are both read.
SECONDS = {"y": 31_536_000, "w": 604_800, "d": 86_400, "h": 3_600, "m": 60, "s": 1, "ms": 0.001}
DURATION = re.compile("^" + "".join(rf"(?:(\d+){unit})?" for unit in SECONDS) + "$")
# Settings that moved out of this file, and where they are now: one source of truth each.
MOVED = {
    "alerting.alpha": "alpha is set in the drift config (data/drift.yaml) and published by "
    "every run as drift_dataset_alpha, which the alert rule compares with; remove it here",
    "alerting.use_adjusted_p_value": "the alert rule compares the adjusted p-value, as the "
    "engine does (correction: none in data/drift.yaml makes it the raw one); remove it here",
    "alerting.stale_after": "a dataset is stale after two intervals of the DAG's schedule "
    "(DRIFT_SCHEDULE), published by every scheduled run; remove it here",
}


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names it."""


@dataclass(frozen=True)
class GrafanaSettings:
    url: str
    public_url: str
    org_id: int
    timeout_seconds: float
    retries: int
    ui_editable: bool


@dataclass(frozen=True)
class PrometheusSettings:
    url: str
    datasource_uid: str
    datasource_name: str
    scrape_interval: str


@dataclass(frozen=True)
class FolderSettings:
    uid: str
    title: str


@dataclass(frozen=True)
class DashboardSettings:
    uid: str
    title: str
    refresh: str


@dataclass(frozen=True)
class AlertingSettings:
    group: str
    interval: str
    pending_period: str


@dataclass(frozen=True)
class TelegramSettings:
    contact_point: str
    parse_mode: str
    disable_notifications: bool
    message_template: str


@dataclass(frozen=True)
class PolicySettings:
    group_by: list[str]
    group_wait: str
    group_interval: str
    repeat_interval: str


@dataclass(frozen=True)
class Settings:
    grafana: GrafanaSettings
    prometheus: PrometheusSettings
    folder: FolderSettings
    dashboard: DashboardSettings
    alerting: AlertingSettings
    telegram: TelegramSettings
    policy: PolicySettings


@dataclass(frozen=True)
class Secrets:
    """Read from the environment (or NAME_FILE) at the moment they are needed."""

    telegram_bot_token: str | None
    telegram_chat_id: str | None
    grafana_token: str | None
    grafana_user: str | None
    grafana_password: str | None

    def __repr__(self) -> str:  # never print a secret, even by accident
        return "Secrets(...)"


def load_settings(path: Path = DEFAULT_FILE, environ: dict[str, str] | None = None) -> Settings:
    """The bundled defaults (``DEFAULT_FILE``), then the keys ``path`` sets, then the
    environment's overrides: a partial file changes only what it names."""
    environ = dict(os.environ if environ is None else environ)
    overrides: dict[str, Any] = {}
    for name, value in environ.items():
        if name.startswith(ENV_PREFIX):
            section, _, key = name[len(ENV_PREFIX) :].lower().partition("__")
            overrides.setdefault(section, {})[key] = _parse(value, name)
    for name, (section, key) in {
        "GRAFANA_URL": ("grafana", "url"),
        "PROMETHEUS_URL": ("prometheus", "url"),
    }.items():
        if environ.get(name):
            overrides.setdefault(section, {})[key] = environ[name]
    data = _merge(_merge(_read(DEFAULT_FILE), _read(path)), overrides)
    return _build(Settings, data, "")


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


def load_secrets(environ: dict[str, str] | None = None) -> Secrets:
    environ = dict(os.environ if environ is None else environ)

    def secret(name: str) -> str | None:
        if environ.get(name):
            return environ[name]
        if environ.get(f"{name}_FILE"):
            try:
                return Path(environ[f"{name}_FILE"]).read_text().strip() or None
            except OSError as exc:
                raise SettingsError(f"{name}_FILE: cannot read ({exc.strerror})") from None
        return None

    return Secrets(
        telegram_bot_token=secret("TELEGRAM_BOT_TOKEN"),
        telegram_chat_id=secret("TELEGRAM_CHAT_ID"),
        grafana_token=secret("GRAFANA_TOKEN"),
        grafana_user=secret("GRAFANA_USER"),
        grafana_password=secret("GRAFANA_PASSWORD"),
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
        if _path(where, key) in MOVED:
            raise SettingsError(f"{_path(where, key)}: {MOVED[_path(where, key)]}")
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
    if kind == list[str] and isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise SettingsError(f"{path}: expected {getattr(kind, '__name__', kind)}, got {value!r}")


def _path(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key
