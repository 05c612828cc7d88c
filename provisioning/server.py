"""Which Grafana answers: its version (``/api/health``) and the API groups it serves
(``/apis`` discovery). Each kind of object then goes through the API that Grafana serves for
it (apps/NOTES.md §d): chosen from what is served, not from the version number alone."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from provisioning.client import GrafanaClient, GrafanaError

OLDEST_MAJOR = 11
# Named routing trees (grafana/grafana#117061): Grafana 13's feature toggle.
MULTIPLE_POLICIES = "alertingMultiplePolicies"
# The app-platform API groups the toolkit can use (apps/NOTES.md §b).
NOTIFICATIONS = "notifications.alerting.grafana.app"
FOLDERS = "folder.grafana.app"
# Kubernetes API versions: v1 (GA) > v1beta2 > v1beta1 > v1alpha1; v0alpha1 is alpha.
API_VERSION = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")
STABILITY = {"alpha": 0, "beta": 1, None: 2}


@dataclass(frozen=True)
class Server:
    version: str
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # served versions
    features: frozenset[str] = frozenset()  # feature toggles on, when asked for

    def release(self) -> tuple[int, int]:
        """The major and minor version ("12.4.3" is (12, 4))."""
        found = re.match(r"^(\d+)\.(\d+)", self.version)
        return (int(found.group(1)), int(found.group(2))) if found else (0, 0)

    def served(self, group: str, at_least: str) -> str | None:
        """The most mature version of ``group`` served at ``at_least`` stability ("beta" or
        "ga") or above; None when there is none."""
        floor = STABILITY["beta" if at_least == "beta" else None]
        ranked = [(_rank(v), v) for v in self.groups.get(group, ()) if _rank(v)[0] >= floor]
        return max(ranked)[1] if ranked else None


def _rank(version: str) -> tuple[int, int, int]:
    found = API_VERSION.match(version)
    if not found:
        return (-1, 0, 0)
    major, stability, minor = found.groups()
    return (STABILITY[stability], int(major), int(minor or 0))


def read_server(client: GrafanaClient, health: Mapping[str, Any], features: bool = False) -> Server:
    """The version from the health answer (or, when Grafana hides it, the frontend
    settings), the groups from discovery, the feature toggles on (from the frontend settings)
    when ``features``; Grafana older than 11 is refused in one line."""
    version = health.get("version")
    settings: Mapping[str, Any] = {}
    if not version or features:
        settings = client.get("/api/frontend/settings", missing_ok=True) or {}
    version = version or (settings.get("buildInfo") or {}).get("version")
    if not version:
        raise GrafanaError(f"Grafana at {client.url} does not say its version; check hide_version")
    major = re.match(r"^(\d+)\.", str(version))
    if major is None or int(major.group(1)) < OLDEST_MAJOR:
        raise GrafanaError(
            f"Grafana {version} at {client.url} is too old: this toolkit supports 11.6, 12.4 "
            "and 13.x"
        )
    discovery = client.get("/apis", missing_ok=True) or {}
    groups = {
        group["name"]: tuple(v["version"] for v in group.get("versions") or [])
        for group in discovery.get("groups") or []
    }
    toggles = frozenset(k for k, on in (settings.get("featureToggles") or {}).items() if on)
    return Server(str(version), groups, toggles)
