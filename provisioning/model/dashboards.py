"""Data sources, folders and dashboards, as plain objects (API-NOTES §2-4)."""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from grafanalib.core import Dashboard as GrafanalibDashboard

from provisioning.errors import DefinitionError
from provisioning.grafanalib import plain


@dataclass(frozen=True, kw_only=True)
class DataSource:
    """Any data source: its ``type`` and ``json_data`` as Grafana's data source API takes
    them. Use ``prometheus()`` for the usual case."""

    uid: str
    name: str
    type: str
    url: str = ""
    access: str = "proxy"
    is_default: bool = False  # other teams' default data source stays theirs
    json_data: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "uid": self.uid,
            "name": self.name,
            "type": self.type,
            "access": self.access,
            "url": self.url,
            "isDefault": self.is_default,
            "jsonData": dict(self.json_data),
        }


def prometheus(
    *, uid: str, name: str, url: str, scrape_interval: str = "15s", http_method: str = "POST"
) -> DataSource:
    """A Prometheus data source; ``scrape_interval`` is the smallest step Grafana asks for."""
    json_data = {"httpMethod": http_method, "timeInterval": scrape_interval}
    return DataSource(uid=uid, name=name, type="prometheus", url=url, json_data=json_data)


@dataclass(frozen=True)
class Folder:
    uid: str
    title: str

    def to_json(self) -> dict[str, Any]:
        return {"uid": self.uid, "title": self.title}


# Grafana's root, "General": a dashboard's place when it is in no folder. It is not a folder
# to define (Grafana has none to create) and holds no rules (Grafana needs a folder for them).
GENERAL = Folder("", "General")


@dataclass(frozen=True)
class Dashboard:
    """A dashboard in a folder: a grafanalib ``Dashboard`` or its JSON model (a dict with
    a ``uid``)."""

    definition: GrafanalibDashboard | Mapping[str, Any]
    folder: Folder

    def to_json(self) -> dict[str, Any]:
        """The dashboard's JSON model (``id`` null: Grafana saves by uid), a fresh copy."""
        return copy.deepcopy(self._json)

    @property
    def uid(self) -> str:
        return str(self._json["uid"])

    @functools.cached_property
    def _json(self) -> dict[str, Any]:
        try:
            body = plain(self.definition)
        except (TypeError, ValueError) as exc:
            raise DefinitionError(f"dashboard: not JSON ({exc})") from None
        if not isinstance(body, dict) or not body.get("uid"):
            raise DefinitionError("dashboard: its JSON needs a uid (stable links and alerts)")
        if not str(body.get("title") or "").strip():  # Grafana: "Dashboard title cannot be empty"
            raise DefinitionError(f"dashboard {body['uid']}: its JSON needs a title")
        return body | {"id": None}
