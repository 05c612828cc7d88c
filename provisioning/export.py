"""The same definitions as Grafana file-provisioning files (API-NOTES §6), for those who
provision Grafana from files: mount the directory at /etc/grafana/provisioning."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from alerting.notifications import CONTACT_POINT_UID_PREFIX
from provisioning.files import write_files
from provisioning.resources import (
    ContactPoint,
    Dashboard,
    DataSource,
    Folder,
    PolicyRoutes,
    Resource,
    RuleGroup,
    Template,
)
from provisioning.settings import Settings

# Where Grafana reads the dashboard JSON when the export is mounted at its provisioning path.
DASHBOARDS_PATH = "/etc/grafana/provisioning/dashboards/drift"
SECRET_REFERENCES = {"bottoken": "$TELEGRAM_BOT_TOKEN", "chatid": "$TELEGRAM_CHAT_ID"}
ROOT_RECEIVER = "grafana-default-email"


def export(resources: list[Resource], settings: Settings, directory: Path) -> list[Path]:
    """Write the files; returns their paths. Secrets are $ENV references, never values."""
    by_type = {type(r): r for r in resources}
    org = settings.grafana.org_id
    dashboard = by_type[Dashboard].body["dashboard"]
    files = {
        "datasources/drift.yaml": {
            "apiVersion": 1,
            "datasources": [
                by_type[DataSource].body | {"orgId": org, "editable": settings.grafana.ui_editable}
            ],
        },
        "dashboards/drift.yaml": {
            "apiVersion": 1,
            "providers": [
                {
                    "name": "drift",
                    "orgId": org,
                    "folder": by_type[Folder].body["title"],
                    "folderUid": by_type[Folder].body["uid"],
                    "type": "file",
                    "disableDeletion": False,
                    "allowUiUpdates": settings.grafana.ui_editable,
                    "options": {"path": DASHBOARDS_PATH},
                }
            ],
        },
        "alerting/drift.yaml": _alerting(by_type, settings),
    }
    texts = {
        name: yaml.dump(content, Dumper=_Dumper, sort_keys=False, allow_unicode=True)
        for name, content in files.items()
    }
    texts[f"dashboards/drift/{dashboard['uid']}.json"] = (
        json.dumps(dashboard, indent=2, sort_keys=True) + "\n"
    )
    return write_files(directory, texts)


def _alerting(by_type: dict[type, Any], settings: Settings) -> dict[str, Any]:
    org = settings.grafana.org_id
    template, contact_point = by_type[Template].body, by_type[ContactPoint].body
    group = by_type[RuleGroup].body
    routes = by_type[PolicyRoutes].body["routes"]
    receiver = {
        # The token is an $ENV reference here, so the uid cannot carry its fingerprint.
        "uid": CONTACT_POINT_UID_PREFIX,
        "type": contact_point["type"],
        "settings": _escape_dollars(contact_point["settings"]) | SECRET_REFERENCES,
        "disableResolveMessage": contact_point["disableResolveMessage"],
    }
    return {
        "apiVersion": 1,
        "templates": [
            {
                "orgId": org,
                "name": template["name"],
                "template": _escape_dollars(template["template"]),
            }
        ],
        "contactPoints": [{"orgId": org, "name": contact_point["name"], "receivers": [receiver]}],
        # A file's policy tree replaces the whole tree: ours under the default receiver.
        "policies": [{"orgId": org, "receiver": ROOT_RECEIVER, "routes": routes}],
        "groups": [
            {
                "orgId": org,
                "name": group["title"],
                "folder": by_type[Folder].body["title"],  # files name the folder by title
                "interval": settings.alerting.interval,
                "rules": [_escape_dollars(_file_rule(rule)) for rule in group["rules"]],
            }
        ],
    }


def _file_rule(rule: dict[str, Any]) -> dict[str, Any]:
    annotations = dict(rule.get("annotations") or {})
    dashboard_uid = annotations.pop("__dashboardUid__", None)
    panel_id = annotations.pop("__panelId__", None)
    return {
        "uid": rule["uid"],
        "title": rule["title"],
        "condition": rule["condition"],
        "data": rule["data"],
        "dashboardUid": dashboard_uid,
        "panelId": int(panel_id) if panel_id is not None else None,
        "noDataState": rule["noDataState"],
        "execErrState": rule["execErrState"],
        "for": rule["for"],
        "annotations": annotations,
        "labels": rule["labels"],
        "isPaused": rule["isPaused"],
    }


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (the template) as readable literal blocks."""


_Dumper.add_representer(
    str,
    lambda dumper, text: dumper.represent_scalar(
        "tag:yaml.org,2002:str", text, style="|" if "\n" in text else None
    ),
)


def _escape_dollars(value: Any) -> Any:
    """Grafana expands $VAR in provisioning files; $$ keeps a literal $ ($labels, $1)."""
    if isinstance(value, dict):
        return {k: _escape_dollars(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_escape_dollars(v) for v in value]
    return value.replace("$", "$$") if isinstance(value, str) else value
