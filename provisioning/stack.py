"""The whole Grafana side, assembled from its definitions, in the order it is applied."""

from __future__ import annotations

from typing import Any

from alerting.notifications import CONTACT_POINT_UID_PREFIX as UID_PREFIX
from alerting.notifications import build_contact_point, build_template, managed_routes
from alerting.rules import build_rule_group
from dashboards.drift import build_dashboard
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
from provisioning.settings import Secrets, Settings


def datasource_body(settings: Settings) -> dict[str, Any]:
    prometheus = settings.prometheus
    return {
        "uid": prometheus.datasource_uid,
        "name": prometheus.datasource_name,
        "type": "prometheus",
        "access": "proxy",
        "url": prometheus.url,
        "isDefault": False,  # other teams' default data source stays theirs
        "jsonData": {"httpMethod": "POST", "timeInterval": prometheus.scrape_interval},
    }


def dashboard_body(settings: Settings) -> dict[str, Any]:
    dashboard = build_dashboard(
        uid=settings.dashboard.uid,
        title=settings.dashboard.title,
        datasource_uid=settings.prometheus.datasource_uid,
        folder_uid=settings.folder.uid,
        refresh=settings.dashboard.refresh,
    )
    return {"dashboard": dashboard, "folderUid": settings.folder.uid}


def build_stack(settings: Settings, secrets: Secrets) -> list[Resource]:
    """Every resource, in dependency order: data source, folder, dashboard, template,
    contact point, policy routes, rule group (destroy goes the other way)."""
    provenance = "" if settings.grafana.ui_editable else "api"
    return [
        DataSource(datasource_body(settings)),
        Folder({"uid": settings.folder.uid, "title": settings.folder.title}),
        Dashboard(dashboard_body(settings)),
        Template(build_template(settings), provenance),
        ContactPoint(build_contact_point(settings, secrets), provenance, uid_prefix=UID_PREFIX),
        PolicyRoutes({"routes": managed_routes(settings)}, provenance),
        RuleGroup(build_rule_group(settings), provenance),
    ]
