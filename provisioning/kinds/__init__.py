"""Each kind of Grafana object the toolkit manages: the bodies the definitions ask for, what
Grafana holds (one list per kind, a read per object where the list is not enough), who owns
what it holds, what is compared, and how to write or delete it."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from provisioning.errors import ProvisioningError
from provisioning.kinds.apps_folders import AppFolders
from provisioning.kinds.apps_notifications import (
    AppContactPoints,
    AppMuteTimings,
    AppRoutes,
    AppTemplates,
)
from provisioning.kinds.base import Clash, Kind, Live, Stack, Wanted
from provisioning.kinds.dashboards import Dashboards, DataSources, Folders
from provisioning.kinds.notifications import ContactPoints, MuteTimings, Routes, Templates
from provisioning.kinds.rules import RuleGroups
from provisioning.model import Definition
from provisioning.server import FOLDERS, MULTIPLE_POLICIES, NOTIFICATIONS, Server

# In the order they are written: each refers only to kinds before it.
KINDS: tuple[Callable[[Stack], Kind], ...] = (
    DataSources,
    Folders,
    Dashboards,
    Templates,
    MuteTimings,
    ContactPoints,
    Routes,
    RuleGroups,
)


def kinds_for(server: Server, own_tree: bool = False) -> tuple[Callable[[Stack], Kind], ...]:
    """The kinds, each through the API that ``server`` serves for it, from discovery: the
    notifications at a beta or GA version of their app-platform group, folders at GA, the
    legacy API otherwise. Rules stay on the rule-group API everywhere (their replacement,
    rules.alerting.grafana.app, is still v0alpha1), data sources too (not deprecated), and
    dashboards (apps_folders.py says why). A stack with a routing tree of its own
    (``own_tree``) needs the routing trees of the app platform and named trees turned on."""
    through: dict[Callable[[Stack], Kind], Callable[[Stack], Kind]] = {
        RuleGroups: partial(RuleGroups, grafana=server.release())
    }
    folders = server.served(FOLDERS, "ga")
    if folders:
        through[Folders] = partial(AppFolders, version=folders)
    notifications = server.served(NOTIFICATIONS, "beta")
    if own_tree and not (notifications and MULTIPLE_POLICIES in server.features):
        raise ProvisioningError(
            f"policy_tree: own needs Grafana 13 with the feature toggle {MULTIPLE_POLICIES} "
            f"on, and Grafana {server.version} "
            + ("does not have it on" if notifications else "has no named routing trees")
            + ": turn it on ([feature_toggles] enable = "
            f"{MULTIPLE_POLICIES}), or set grafana.policy_tree: shared"
        )
    if notifications:
        through |= {
            Templates: partial(AppTemplates, version=notifications),
            MuteTimings: partial(AppMuteTimings, version=notifications),
            ContactPoints: partial(AppContactPoints, version=notifications),
            Routes: partial(AppRoutes, version=notifications),
        }
    return tuple(through.get(make, make) for make in KINDS)


def unresolved(definitions: list[Definition], stack: Stack) -> list[str]:
    """The environment variables that definitions read and that are not set."""
    return sorted(
        {
            name
            for make in KINDS
            for item in make(stack).wanted(definitions)
            for name in item.unresolved
        }
    )


__all__ = [
    "KINDS",
    "Clash",
    "ContactPoints",
    "Dashboards",
    "DataSources",
    "Folders",
    "Kind",
    "Live",
    "MuteTimings",
    "Routes",
    "RuleGroups",
    "Stack",
    "Templates",
    "Wanted",
    "kinds_for",
    "unresolved",
]
