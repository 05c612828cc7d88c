"""``provision.py pull``: what Grafana holds that no stack owns (made by hand, or by another
tool), written as definition modules in the public model, so that a team can move a
hand-made setup into code. Applied to an empty Grafana, the modules make the same objects;
planned against the Grafana they came from, they change no object's content (only the
stack's marks, once adopted).

Grafana's uids are kept (data sources, folders, dashboards, rules): links, bookmarks and
the rules' references keep working. Secrets are never read (Grafana does not answer them):
each becomes an ``Env`` whose generated name ``pull`` lists. What the model cannot hold is
said, one line per object, in ``notes``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from provisioning.client import GrafanaClient
from provisioning.kinds import Kind, Live
from provisioning.model import GENERAL, Dashboard, Folder, MuteTiming
from provisioning.pull import grafana_objects, notifications, rules
from provisioning.pull.modules import Module, slug
from provisioning.pull.read import Foreign, read_foreign
from provisioning.pull.source import Code
from provisioning.pull.write import PullError, write


@dataclass
class Pulled:
    written: list[str]  # paths under the definitions directory
    notes: list[str]  # one line per object (or part of one) not pulled as it is
    environment: dict[str, str]  # NAME -> what secret it holds


def pull(
    client: GrafanaClient, kinds: list[Kind], root: Path, folder: str | None, force: bool
) -> Pulled:
    """Write the foreign objects of Grafana (those in ``folder``, a title or uid: its
    dashboards and rule groups; None: every one) as modules under ``root``."""
    foreign = read_foreign(Live(client), kinds)
    notes = list(foreign.skipped)
    folders = {uid: grafana_objects.folder(f, notes) for uid, f in foreign.folders.items()}
    if folder is not None:
        chosen = _folder(folder, folders)
        foreign = _in_folder(foreign, chosen.uid)
        folders = {chosen.uid: chosen} if chosen is not GENERAL else {}
    secrets = notifications.Secrets()
    modules = _folder_modules(foreign, folders, notes, everything=folder is None)
    if folder is None:
        modules += _top_modules(foreign, notes, secrets)
    if not modules:
        return Pulled([], notes, {})
    written = write(root, modules, force)
    return Pulled(written, notes, secrets.names)


def _folder(name: str, folders: dict[str, Folder]) -> Folder:
    if name in (GENERAL.uid, GENERAL.title):
        return GENERAL
    found = [f for f in folders.values() if name in (f.uid, f.title)]
    if len(found) != 1:
        known = ", ".join(sorted(f"{f.title!r} ({f.uid})" for f in folders.values())) or "none"
        what = "several folders" if found else "no folder"
        raise PullError(f"{what} {name!r} in Grafana with objects to pull; those with: {known}")
    return found[0]


def _in_folder(foreign: Foreign, uid: str) -> Foreign:
    return Foreign(
        dashboards=[
            b for b in foreign.dashboards if ((b.get("meta") or {}).get("folderUid") or "") == uid
        ],
        rule_groups=[g for g in foreign.rule_groups if g["folderUid"] == uid],
        skipped=foreign.skipped,
    )


def _folder_modules(
    foreign: Foreign, folders: dict[str, Folder], notes: list[str], everything: bool
) -> list[Module]:
    """Per folder: a module of its dashboards (or of the folder alone, when it holds nothing
    to pull), and a module of its rule groups."""
    modules: list[Module] = []
    boards: dict[str, list[dict]] = {}
    for board in foreign.dashboards:
        place = grafana_objects.dashboard_folder(board, folders)
        boards.setdefault(place.uid, []).append(board)
    groups: dict[str, list[dict]] = {}
    for group in foreign.rule_groups:
        groups.setdefault(group["folderUid"], []).append(group)
    taken: set[str] = set()
    for uid in sorted({*boards, *groups, *(folders if everything else ())}):
        place = folders.get(uid, GENERAL)
        named = [] if place is GENERAL else [("FOLDER", place)]
        name = slug(place.title) if slug(place.title) not in taken else slug(f"{place.title} {uid}")
        taken.add(name)
        if uid in boards or uid not in groups:
            about = (
                "The dashboards in General, pulled from Grafana."
                if place is GENERAL
                else f"The folder {place.title!r} and its dashboards, pulled from Grafana."
            )
            module = Module(f"dashboards/pulled_{name}.py", about, list(named))
            module.items = [place] if named else []
            for board in boards.get(uid, []):
                definition = grafana_objects.dashboard_json(board)
                code = module.dashboard(
                    str(definition.get("title") or definition["uid"]), definition
                )
                # The JSON comes from the file at run time: the model takes any mapping.
                module.items.append(Dashboard(definition=code, folder=place))  # type: ignore[arg-type]
            modules.append(module)
        if uid in groups:
            about = f"The alert rule groups of the folder {place.title!r}, pulled from Grafana."
            module = Module(f"alerting/pulled_{name}.py", about, list(named))
            pulled = [rules.rule_group(group, place, notes) for group in groups[uid]]
            module.items = [place, *(g for g in pulled if g is not None)]
            modules.append(module)
    return modules


def _top_modules(
    foreign: Foreign, notes: list[str], secrets: notifications.Secrets
) -> list[Module]:
    """Data sources, and where alerts go: templates, mute timings, contact points and the
    routes under the policy tree's root."""
    modules = []
    if foreign.datasources:
        module = Module(
            "dashboards/pulled_datasources.py", "The data sources, pulled from Grafana."
        )
        module.items = [grafana_objects.datasource(d, notes) for d in foreign.datasources]
        modules.append(module)
    module = Module("alerting/pulled_notifications.py", "")
    for live in foreign.templates:
        text = notifications.template(live).text
        where = module.beside(live["name"], ".tmpl", text)
        module.items.append(
            Code(f"Template.from_file({live['name']!r}, {where.text})", ("Template",))
        )
    timings: dict[str, MuteTiming] = {}
    for live in foreign.mute_timings:
        timing = notifications.mute_timing(live)
        timings[timing.name] = timing
        module.named.append((f"MUTE_{slug(timing.name).upper()}", timing))
        module.items.append(timing)
    for name, parts in foreign.contact_points.items():
        module.items.append(notifications.contact_point(name, parts, secrets))
    module.items += [notifications.route(r, timings, notes) for r in foreign.routes]
    if module.items:
        module.about = _about_notifications(secrets)
        modules.append(module)
    return modules


def _about_notifications(secrets: notifications.Secrets) -> str:
    about = (
        "Where alerts go: templates, mute timings, contact points and the routes under the "
        "root of the policy tree, pulled from Grafana. The stack puts these routes in its own "
        "branch of the tree, which its rules' alerts enter."
    )
    if secrets.names:
        listed = "; ".join(f"{name}: {what}" for name, what in secrets.names.items())
        about += f" Secrets are read from the environment (never pulled): {listed}."
    return about
