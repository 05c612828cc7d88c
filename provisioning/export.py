"""The definitions as Grafana file-provisioning files (API-NOTES §6), for those who provision
Grafana from files: mount DIR at /etc/grafana/provisioning. Every body is the one ``apply``
writes (``kind.wanted``), owner marks included; an integration setting read from the
environment (``Env``) is written as the reference ``$NAME``, never as its value.

Grafana expands ``$NAME`` / ``${NAME}`` (and reads ``$$`` as ``$``) in some fields of these
files and not in others: a field typed ``values.StringValue`` (or ``JSONValue``,
``StringMapValue``...) and read with ``.Value()`` is expanded, a plain string or one read with
``.Raw`` is not (grafana/grafana pkg/services/provisioning/values/values.go). So ``$`` is
escaped exactly where it is expanded:

    datasources/*.yaml, providers    every value (datasources/types.go, dashboards/types.go)
    rule groups                      name, folder, interval (alerting/rules_types.go)
    rules                            uid, title, condition, for, keepFiringFor, noDataState,
                                     execErrState, dashboardUid, panelId, isPaused, labels,
                                     data[].refId, queryType, datasourceUid
    contact points                   name, uid, type, settings (contact_point_types.go, 9.1+)
    policies                         the whole tree (notification_policy_types.go)
    not expanded                     rule annotations (``.Raw`` since 9.1, grafana/grafana
                                     #54975; the newest expand ``${NAME}`` alone there, so
                                     ``${`` is refused), data[].model (``.Raw``: keeps
                                     ``$__interval``),
                                     templates and mute timings (plain ``MessageTemplate`` and
                                     ``MuteTimeInterval``), the dashboards' JSON files

A ``{{ $labels.x }}`` in an annotation therefore stays as it is: escaped, it would reach the
alert template as ``$$labels`` and break it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from provisioning.errors import DefinitionError
from provisioning.files import write_files
from provisioning.kinds import (
    ContactPoints,
    Dashboards,
    DataSources,
    Folders,
    Kind,
    MuteTimings,
    Routes,
    RuleGroups,
    Stack,
    Templates,
    Wanted,
)
from provisioning.kinds.notifications import ROOT_RECEIVER
from provisioning.model import GENERAL, Definition
from provisioning.settings import SettingsError

# Where Grafana reads the dashboards' JSON when DIR is mounted at its provisioning path.
DASHBOARDS_ROOT = PurePosixPath("/etc/grafana/provisioning/dashboards")
# The root of Grafana's default policy tree groups so; a routes file keeps it.
ROOT_GROUP_BY = ("grafana_folder", "alertname")


class Reference(str):
    """``$NAME``: an environment variable Grafana expands when it reads the file."""


class References(Mapping[str, str]):
    """An environment in which every variable reads as its reference: a kind rendered with it
    writes ``$NAME`` where a definition reads ``Env("NAME")``, and no value is ever read."""

    def __getitem__(self, name: str) -> str:
        return Reference(f"${name}")

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def export(definitions: Iterable[Definition], stack: Stack, directory: Path) -> list[Path]:
    """Write the files; returns their paths."""
    return write_files(directory, grafana_files(list(definitions), stack))


def grafana_files(definitions: list[Definition], stack: Stack) -> dict[str, str]:
    """Each file's path (relative to DIR) and text; a kind with nothing defined writes none."""
    if stack.tree:
        raise SettingsError(
            "policy_tree: own cannot be exported as provisioning files: a file-provisioned "
            "rule cannot select a named routing tree (grafana/grafana#117628 left provisioning "
            "files out); export with grafana.policy_tree: shared"
        )
    referenced = replace(stack, environ=References())

    def wanted(kind: Callable[[Stack], Kind]) -> list[Wanted]:
        return kind(referenced).wanted(definitions)

    folders = {item.key: item.body["title"] for item in wanted(Folders)}
    editable = stack.provenance == ""  # "": UI-editable, as apply's mode
    org, name = stack.org_id, stack.name
    sources = [expanded(s.body | {"orgId": org, "editable": editable}) for s in wanted(DataSources)]
    dashboards = wanted(Dashboards)
    folder_uids = sorted({d.body["folderUid"] for d in dashboards})
    places = folders | {GENERAL.uid: ""}  # a provider without a folder fills General
    providers = [_provider(stack, uid, _title(places, uid, "dashboards")) for uid in folder_uids]
    texts = {
        f"datasources/{name}.yaml": _document({"datasources": sources}),
        f"dashboards/{name}.yaml": _document({"providers": providers}),
        f"alerting/{name}.yaml": _alerting(wanted, stack, folders),
    }
    for dashboard in dashboards:
        body = dashboard.body
        path = f"dashboards/{name}/{body['folderUid']}/{dashboard.key}.json"
        texts[path] = json.dumps(body["dashboard"], indent=2, sort_keys=True) + "\n"
    return {path: text for path, text in texts.items() if text}


def _provider(stack: Stack, folder_uid: str, title: str) -> dict[str, Any]:
    """One provider per folder: Grafana puts a provider's dashboards in its folder."""
    return expanded(
        {
            "name": f"{stack.name}-{folder_uid}",
            "orgId": stack.org_id,
            "folder": title,
            "folderUid": folder_uid,
            "type": "file",
            "disableDeletion": False,
            "allowUiUpdates": stack.provenance == "",
            "options": {"path": str(DASHBOARDS_ROOT / stack.name / folder_uid)},
        }
    )


def _alerting(
    wanted: Callable[[Callable[[Stack], Kind]], list[Wanted]],
    stack: Stack,
    folders: dict[str, str],
) -> str:
    org = stack.org_id
    templates = [{"orgId": org, **t.body} for t in wanted(Templates)]  # not expanded
    mute_times = [{"orgId": org, **m.body} for m in wanted(MuteTimings)]  # not expanded
    receivers: dict[str, list[dict[str, Any]]] = {}
    for integration in wanted(ContactPoints):
        body = integration.body
        receivers.setdefault(body["name"], []).append(
            expanded(
                {key: body[key] for key in ("uid", "type", "settings", "disableResolveMessage")}
            )
        )
    points = [{"orgId": org, "name": expanded(n), "receivers": r} for n, r in receivers.items()]
    # A routes file replaces Grafana's whole policy tree: the root (Grafana's default receiver
    # and grouping) and the stack's branch under it; routes made by others are gone.
    branches = [route.body for route in wanted(Routes)]
    root = {"receiver": ROOT_RECEIVER, "group_by": list(ROOT_GROUP_BY), "routes": branches}
    groups = [
        {
            "orgId": org,
            **expanded(
                {
                    "name": group.body["title"],
                    "folder": _title(folders, group.body["folderUid"], f"rule group {group.key}"),
                    "interval": f"{group.body['interval']}s",
                }
            ),
            "rules": [_rule(rule) for rule in group.body["rules"]],
        }
        for group in wanted(RuleGroups)
    ]
    return _document(
        {
            "templates": templates,
            "muteTimes": mute_times,
            "contactPoints": points,
            "policies": [{"orgId": org, **expanded(root)}] if branches else [],
            "groups": groups,
        }
    )


def _title(folders: dict[str, str], uid: str, what: str) -> str:
    if uid not in folders:
        raise DefinitionError(f"{what}: its folder {uid!r} is not defined")
    return folders[uid]


def _rule(rule: dict[str, Any]) -> dict[str, Any]:
    """The rule as a file holds it: camelCase durations, the dashboard link as fields, the
    annotations and the queries' models verbatim."""
    annotations = dict(rule["annotations"])
    link = {"dashboardUid": annotations.pop("__dashboardUid__", None)}
    if "__panelId__" in annotations:
        link["panelId"] = int(annotations.pop("__panelId__"))
    for key, text in annotations.items():
        if "${" in text:  # newer Grafana expands ${NAME} there, and no escape works in all
            raise DefinitionError(
                f"rule {rule['uid']}: annotation {key} holds '${{', which Grafana expands "
                "from the environment when it reads a provisioning file: write it otherwise"
            )
    data = [
        expanded({key: query[key] for key in ("refId", "queryType", "datasourceUid")})
        | {"relativeTimeRange": query["relativeTimeRange"], "model": query["model"]}
        for query in rule["data"]
    ]
    states = {key: rule[key] for key in ("noDataState", "execErrState", "for")}
    # snake_case in files (AlertRuleV1), only when set (nil: Grafana's default); a number,
    # which nothing expands.
    missing = rule.get("missingSeriesEvalsToResolve")
    return {
        **expanded({key: rule[key] for key in ("uid", "title", "condition")}),
        "data": data,
        **expanded({key: value for key, value in link.items() if value is not None}),
        **expanded(states | {"keepFiringFor": rule["keep_firing_for"]}),
        **({} if missing is None else {"missing_series_evals_to_resolve": missing}),
        "annotations": annotations,
        **expanded({"labels": rule["labels"], "isPaused": rule["isPaused"]}),
    }


def expanded(value: Any) -> Any:
    """``value`` for a field Grafana expands: each ``$`` doubled, but in a Reference."""
    if isinstance(value, Reference):
        return str(value)
    if isinstance(value, str):
        return value.replace("$", "$$")
    if isinstance(value, dict):
        return {key: expanded(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [expanded(item) for item in value]
    return value


def _document(lists: dict[str, list[Any]]) -> str:
    """A provisioning file (apiVersion 1) with the non-empty lists; "" when all are empty."""
    present = {key: items for key, items in lists.items() if items}
    return to_yaml({"apiVersion": 1, **present}) if present else ""


def to_yaml(content: Any) -> str:
    return yaml.dump(content, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (templates) as readable literal blocks."""


_Dumper.add_representer(
    str,
    lambda dumper, text: dumper.represent_scalar(
        "tag:yaml.org,2002:str", text, style="|" if "\n" in text else None
    ),
)
