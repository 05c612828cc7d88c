"""The public model: what definitions (dashboards/, alerting/) build. Plain objects; the
machinery that reads, compares and writes them lives beside this package, never in it."""

from provisioning.errors import DefinitionError
from provisioning.model.dashboards import GENERAL, Dashboard, DataSource, Folder, prometheus
from provisioning.model.notifications import (
    ContactPoint,
    Email,
    Integration,
    Matcher,
    MuteTiming,
    Other,
    Route,
    Slack,
    Telegram,
    Template,
    TimeInterval,
    Webhook,
)
from provisioning.model.rules import Math, Query, Raw, Reduce, Rule, RuleGroup, Threshold
from provisioning.model.values import Env, Values

Definition = (
    DataSource | Folder | Dashboard | Template | ContactPoint | MuteTiming | Route | RuleGroup
)

__all__ = [
    "GENERAL",
    "ContactPoint",
    "Dashboard",
    "DataSource",
    "Definition",
    "DefinitionError",
    "Email",
    "Env",
    "Folder",
    "Integration",
    "Matcher",
    "Math",
    "MuteTiming",
    "Other",
    "Query",
    "Raw",
    "Reduce",
    "Route",
    "Rule",
    "RuleGroup",
    "Slack",
    "Telegram",
    "Template",
    "Threshold",
    "TimeInterval",
    "Values",
    "Webhook",
    "prometheus",
]
