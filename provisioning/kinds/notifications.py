"""Message templates, mute timings, contact points and the stack's branch of the policy
tree (API-NOTES §5.1-5.2)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from provisioning import ownership
from provisioning.client import GrafanaClient
from provisioning.kinds.base import (
    NOT_COMPARED,
    PROVISIONING,
    Clash,
    Kind,
    Live,
    Lookalike,
    Wanted,
    project,
    same_duration,
    unique,
    without_provenance,
)
from provisioning.model import Definition, DefinitionError, Env
from provisioning.model.notifications import ContactPoint, MuteTiming, Route, Template
from provisioning.settings import read_env

ROOT_RECEIVER = "grafana-default-email"


class Templates(Kind):
    label, model, api, locks = "notification template", Template, PROVISIONING, True

    def render(self, definition: Template) -> Wanted:
        name = ownership.name(self.stack.name, definition.name)
        return Wanted(name, {"name": name, "template": definition.text.strip()})

    def read(self, live: Live, wanted: list[Wanted]) -> dict[str, Any]:
        return {t["name"]: t for t in live.get(f"{PROVISIONING}/templates") or []}

    def owner(self, live: Any) -> str | None:
        return ownership.name_owner(live["name"])

    def expected(self, wanted: Wanted) -> Any:
        return {"template": wanted.body["template"], "provenance": self.stack.provenance}

    def actual(self, live: Any, wanted: Wanted | None) -> Any:
        # Grafana trims the whitespace around a template (as it stores it).
        text = (live.get("template") or "").strip()
        return {"template": text, "provenance": live.get("provenance") or ""}

    def fetch(self, client: GrafanaClient, key: str) -> Any:
        return client.get(f"{PROVISIONING}/templates/{quote(key, safe='')}", missing_ok=True)

    def write(self, client: GrafanaClient, wanted: Wanted, live: Any) -> None:
        body = {"template": wanted.body["template"], "version": (live or {}).get("version", "")}
        client.request("PUT", f"{PROVISIONING}/templates/{quote(wanted.key, safe='')}", json=body)

    def delete(self, client: GrafanaClient, key: str, live: Any) -> list[str]:
        path = f"{PROVISIONING}/templates/{quote(key, safe='')}"
        client.request("DELETE", path, missing_ok=True)
        return []


class MuteTimings(Kind):
    label, model, api, locks = "mute timing", MuteTiming, PROVISIONING, True

    def render(self, definition: MuteTiming) -> Wanted:
        name = ownership.name(self.stack.name, definition.name)
        intervals = [interval.to_json() for interval in definition.intervals]
        return Wanted(name, {"name": name, "time_intervals": intervals})

    def read(self, live: Live, wanted: list[Wanted]) -> dict[str, Any]:
        return {m["name"]: m for m in live.get(f"{PROVISIONING}/mute-timings") or []}

    def owner(self, live: Any) -> str | None:
        return ownership.name_owner(live["name"])

    def expected(self, wanted: Wanted) -> Any:
        intervals = [_interval(i) for i in wanted.body["time_intervals"]]
        return {"time_intervals": intervals, "provenance": self.stack.provenance}

    def actual(self, live: Any, wanted: Wanted | None) -> Any:
        intervals = [_interval(i) for i in live.get("time_intervals") or []]
        return {"time_intervals": intervals, "provenance": live.get("provenance") or ""}

    def fetch(self, client: GrafanaClient, key: str) -> Any:
        return client.get(f"{PROVISIONING}/mute-timings/{quote(key, safe='')}", missing_ok=True)

    def write(self, client: GrafanaClient, wanted: Wanted, live: Any) -> None:
        if live is None:
            client.request("POST", f"{PROVISIONING}/mute-timings", json=wanted.body)
            return
        body = wanted.body | {"version": live.get("version", "")}
        path = f"{PROVISIONING}/mute-timings/{quote(wanted.key, safe='')}"
        client.request("PUT", path, json=body)

    def delete(self, client: GrafanaClient, key: str, live: Any) -> list[str]:
        path = f"{PROVISIONING}/mute-timings/{quote(key, safe='')}"
        client.request("DELETE", path, missing_ok=True)
        return []


@dataclass
class WantedIntegration(Wanted):
    """One integration of a contact point; ``types``: those of all the contact point's
    integrations (a hand-made one of its name looks like it only with one of them)."""

    types: frozenset[str] = frozenset()


class ContactPoints(Kind):
    """Each integration of a contact point is one object. Grafana answers "[REDACTED]" for
    a secret setting, so the uid carries the comparison: it ends with a fingerprint of the
    integration's secrets. New secrets make a new integration, and the one holding the old
    ones goes; no one needs the permission to read secrets."""

    label, model, api, locks = "contact point", ContactPoint, PROVISIONING, True

    def render(self, definition: ContactPoint) -> Wanted:
        raise NotImplementedError  # a contact point is several objects: see ``wanted``

    def wanted(self, definitions: Iterable[Definition]) -> list[Wanted]:
        points = [d for d in definitions if isinstance(d, ContactPoint)]
        unique(self.label, [Wanted(p.name, {"name": p.name, "p": p}) for p in points])
        return [
            self._integration(point, index, integration)
            for point in points
            for index, integration in enumerate(point.integrations)
        ]

    def _integration(self, point: ContactPoint, index: int, integration: Any) -> Wanted:
        prefix = ownership.integration_prefix(self.stack.name, point.name, index, integration.kind)
        settings, unresolved, secrets = {}, {}, []
        secret_fields = getattr(integration, "secret_fields", ()) or integration.secret
        for key, value in integration.settings().items():
            if isinstance(value, Env):
                resolved = read_env(value.name, self.stack.environ)
                if resolved is None:
                    unresolved.setdefault(value.name, []).append(key)
                    value = NOT_COMPARED
                else:
                    value = resolved
            if key in secret_fields:
                secrets.append(f"{key}={value}")
            settings[key] = value
        # Without every secret the fingerprint is unknown: the key is then the prefix.
        secret_unknown = any(k in secret_fields for keys in unresolved.values() for k in keys)
        key = prefix if secret_unknown else prefix + ownership.digest(prefix, *secrets)
        body = {
            "uid": key,
            "name": point.name,
            "type": integration.kind,
            "disableResolveMessage": integration.disable_resolve_message,
            "settings": settings,
        }
        types = frozenset(i.kind for i in point.integrations)
        return WantedIntegration(key, body, unresolved, frozenset(secret_fields), types)

    def read(self, live: Live, wanted: list[Wanted]) -> dict[str, Any]:
        found = {cp["uid"]: cp for cp in live.get(f"{PROVISIONING}/contact-points") or []}
        # An integration whose fingerprint is unknown here is found by its prefix.
        for item in wanted:
            if item.key not in found:
                match = [uid for uid in found if uid.startswith(item.key)]
                if len(match) == 1 and len(item.key) < len(match[0]):
                    found[item.key] = found.pop(match[0])
        return found

    def owner(self, live: Any) -> str | None:
        return ownership.integration_owner(live.get("uid"))

    def expected(self, wanted: Wanted) -> Any:
        return self._masked(wanted.body | {"provenance": self.stack.provenance}, wanted)

    def actual(self, live: Any, wanted: Wanted | None) -> Any:
        shape = live if wanted is None else wanted.body | {"provenance": ""}
        result = project(live, shape) | {"provenance": live.get("provenance") or ""}
        return self._masked(result, wanted)

    @staticmethod
    def _masked(body: dict[str, Any], wanted: Wanted | None) -> dict[str, Any]:
        """Secrets compare through the uid and are never shown; settings from environment
        variables that are not set are not compared."""
        settings = dict(body.get("settings") or {})
        if wanted is not None:
            settings = compared_settings(settings, wanted)
        return {k: v for k, v in body.items() if k != "uid"} | {"settings": settings}

    def title(self, key: str, body: Any) -> str:
        return f"{body.get('name')} ({body.get('type')} {key})"

    def fetch(self, client: GrafanaClient, key: str) -> Any:
        found = client.get(f"{PROVISIONING}/contact-points") or []
        return next((cp for cp in found if cp["uid"] == key), None)

    def write(self, client: GrafanaClient, wanted: Wanted, live: Any) -> None:
        if live is None:
            client.request("POST", f"{PROVISIONING}/contact-points", json=wanted.body)
        else:
            path = f"{PROVISIONING}/contact-points/{wanted.key}"
            client.request("PUT", path, json=wanted.body)

    def delete(self, client: GrafanaClient, key: str, live: Any) -> list[str]:
        client.request("DELETE", f"{PROVISIONING}/contact-points/{key}", missing_ok=True)
        return []

    def clash(self, wanted: Wanted, live: Live) -> Clash | None:
        name = wanted.body["name"]
        points = live.get(f"{PROVISIONING}/contact-points") or []
        other = [
            cp for cp in points if cp.get("name") == name and self.owner(cp) != self.stack.name
        ]
        if not other:
            return None
        unmarked = [cp for cp in other if self.owner(cp) is None]
        return name_taken(name, unlike_types(unmarked, _types(wanted)))

    def lookalikes(self, wanted: Wanted, live: Live) -> list[Lookalike]:
        """The unmarked integrations of a contact point of the same name, if one of them is of
        a type of ours (else it is another contact point under our name: a clash). Its name
        stays (routes name it), but an integration's uid cannot change and carries the mark:
        ours is added and theirs go, those of no type of ours said so."""
        name, types = wanted.body["name"], _types(wanted)
        theirs = [
            cp
            for cp in live.get(f"{PROVISIONING}/contact-points") or []
            if cp.get("name") == name and self.owner(cp) is None
        ]
        if unlike_types(theirs, types):
            return []
        found = []
        for cp in theirs:
            title = f"contact point {name!r} ({cp.get('type')} {cp['uid']})"
            if cp.get("type") in types:
                found.append(Lookalike(cp["uid"], cp, title, "same name and type"))
            else:
                hint = f"of no type of ours ({', '.join(sorted(types))}): taking over deletes it"
                found.append(Lookalike(cp["uid"], cp, title, "same name", hint))
        return found


class Routes(Kind):
    """The stack's routes sit in one branch of the policy tree, first under the root, that
    matches the stack's label (every rule of the stack carries it): the stack's alerts go
    there and nowhere else, other branches stay as they are. The API writes the whole tree
    (API-NOTES §0.4): it is read, the branch is replaced, the rest is written back."""

    label, model, api, locks = "notification policy", Route, PROVISIONING, True

    def wanted(self, definitions: Iterable[Definition]) -> list[Wanted]:
        routes = [d for d in definitions if isinstance(d, Route)]
        if not routes:
            return []
        branch = {
            "object_matchers": [[ownership.LABEL, "=", self.stack.name]],
            "routes": [self._route(route) for route in routes],
        }
        return [Wanted(self.key, branch)]

    @property
    def key(self) -> str:
        return f"branch {ownership.LABEL}={self.stack.name}"

    def _route(self, route: Route) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if route.receiver_name:
            body["receiver"] = route.receiver_name
        if route.matcher_list:
            body["object_matchers"] = [m.to_json() for m in route.matcher_list]
        if route.group_by is not None:
            body["group_by"] = list(route.group_by)
        for key in ("group_wait", "group_interval", "repeat_interval"):
            if getattr(route, key) is not None:
                body[key] = getattr(route, key)
        if route.continue_matching:
            body["continue"] = True
        for key, intervals in (
            ("mute_time_intervals", route.mute_timings),
            ("active_time_intervals", route.active_timings),
        ):
            if intervals:
                body[key] = [self._interval_name(i) for i in intervals]
        if route.routes:
            body["routes"] = [self._route(child) for child in route.routes]
        return body

    def _interval_name(self, interval: MuteTiming | str) -> str:
        if isinstance(interval, MuteTiming):
            return ownership.name(self.stack.name, interval.name)
        return interval

    def read(self, live: Live, wanted: list[Wanted]) -> dict[str, Any]:
        tree = live.get(f"{PROVISIONING}/policies") or {}
        branch = next((r for r in tree.get("routes") or [] if self._is_branch(r)), None)
        return {} if branch is None else {self.key: {"tree": tree, "branch": branch}}

    def _is_branch(self, route: dict[str, Any]) -> bool:
        return _matchers(route) == [[ownership.LABEL, "=", self.stack.name]]

    def lookalikes(self, wanted: Wanted, live: Live) -> list[Lookalike]:
        """Routes under the root, outside any stack's branch, with the matchers of one of
        ours, or with more matchers and the receiver of one of ours (``_alike_route``):
        nothing refers to a route, so ours (in the branch) takes its place and it goes."""
        found = []
        for route in self.top_routes(live):
            if any(m[0] == ownership.LABEL for m in _matchers(route)):
                continue
            why = next(filter(None, (_alike_route(route, o) for o in wanted.body["routes"])), "")
            if why:
                key = _matcher_key(route)
                title = f"route {key} -> {route.get('receiver') or '(inherited)'}"
                found.append(Lookalike(title, route, f"notification policy {title}", why))
        return found

    def top_routes(self, source: Live | GrafanaClient) -> list[dict[str, Any]]:
        """The routes right under the root, in the legacy shape."""
        return list((source.get(f"{PROVISIONING}/policies") or {}).get("routes") or [])

    def release(self, client: GrafanaClient, theirs: Lookalike) -> list[str]:
        tree = client.get(f"{PROVISIONING}/policies") or {}
        routes = tree.get("routes") or []
        kept = without_route(routes, theirs.live, lambda route: route)
        if len(kept) < len(routes):
            body = {k: v for k, v in tree.items() if k != "provenance"} | {"routes": kept}
            body.setdefault("receiver", ROOT_RECEIVER)
            client.request("PUT", f"{PROVISIONING}/policies", json=without_provenance(body))
        return []

    def owner(self, live: Any) -> str | None:
        return self.stack.name

    def expected(self, wanted: Wanted) -> Any:
        return {"branch": normal_route(wanted.body), "provenance": self.stack.provenance}

    def actual(self, live: Any, wanted: Wanted | None) -> Any:
        provenance = live["tree"].get("provenance") or ""
        return {"branch": normal_route(live["branch"]), "provenance": provenance}

    def fetch(self, client: GrafanaClient, key: str) -> Any:
        tree = client.get(f"{PROVISIONING}/policies", missing_ok=True) or {}
        branch = next((r for r in tree.get("routes") or [] if self._is_branch(r)), None)
        return None if branch is None else {"tree": tree, "branch": branch}

    def write(self, client: GrafanaClient, wanted: Wanted, live: Any) -> None:
        tree = live["tree"] if live else client.get(f"{PROVISIONING}/policies") or {}
        self._put(client, tree, [wanted.body])

    def delete(self, client: GrafanaClient, key: str, live: Any) -> list[str]:
        self._put(client, live["tree"], [])
        return []

    def _put(self, client: GrafanaClient, tree: dict[str, Any], ours: list[dict[str, Any]]) -> None:
        others = [r for r in tree.get("routes") or [] if not self._is_branch(r)]
        body = {k: v for k, v in tree.items() if k != "provenance"} | {"routes": ours + others}
        body.setdefault("receiver", ROOT_RECEIVER)
        client.request("PUT", f"{PROVISIONING}/policies", json=without_provenance(body))


REDACTED = "[REDACTED]"  # what Grafana answers for a secure setting (definitions.RedactedValue)


def _types(wanted: Wanted) -> frozenset[str]:
    return wanted.types if isinstance(wanted, WantedIntegration) else frozenset()


def integrations_named(integrations: Iterable[dict[str, Any]]) -> str:
    """Integrations as a person reads them: each type with its uid."""
    return ", ".join(f"{i.get('type')} (uid {i.get('uid')})" for i in integrations)


def unlike_types(integrations: list[dict[str, Any]], types: frozenset[str]) -> str:
    """Why hand-made integrations under our contact point's name are no look-alike of it,
    or "": they are some, and none is of a type of ours (another contact point that bears
    the name: taking it over would swap what it sends for ours)."""
    if not integrations or any(i.get("type") in types for i in integrations):
        return ""
    ours = ", ".join(sorted(types))
    return f"it holds {integrations_named(integrations)}, none of our integration types: {ours}"


def name_taken(name: str, why: str) -> Clash:
    """Our contact point's name, held by one this stack does not own (``why``: no look-alike)."""
    detail = f" ({why})" if why else ""
    return Clash(
        None, f"its name {name!r} is taken by a contact point this stack does not own{detail}"
    )


def compared_settings(settings: dict[str, Any], wanted: Wanted) -> dict[str, Any]:
    """The settings an integration ``wanted`` sets, as compared: a secret through the uid,
    never shown; a setting from an environment variable that is not set, not at all."""
    compared = {key: settings.get(key) for key in wanted.body["settings"]}
    for key, value in wanted.body["settings"].items():
        if key in wanted.secret:
            compared[key] = "(secret)"
        elif value == NOT_COMPARED:
            compared[key] = NOT_COMPARED
        elif settings.get(key) == REDACTED:  # a secret to Grafana, never to be shown
            body = wanted.body
            raise DefinitionError(
                f"contact point {body['name']} ({body['type']}): Grafana keeps {key} secret: "
                "name it in secret_fields and give it as Env('NAME')"
            )
    return compared


def _interval(interval: dict[str, Any]) -> dict[str, Any]:
    keys = ("times", "weekdays", "days_of_month", "months", "years", "location")
    return {key: interval.get(key) or None for key in keys}


def _matchers(route: dict[str, Any]) -> list[list[str]]:
    return [list(m) for m in route.get("object_matchers") or []]


def _alike_route(route: dict[str, Any], ours: dict[str, Any]) -> str:
    """What ``route`` shares with ``ours``: the same matchers, or more of them and the same
    receiver (a narrower copy of ours, routing to its contact point); "": nothing."""
    matchers = {"".join(m) for m in normal_route(route)["object_matchers"]}
    wanted = {"".join(m) for m in normal_route(ours)["object_matchers"]}
    if matchers == wanted:
        return "same matchers"
    receiver = route.get("receiver")
    if wanted and matchers > wanted and receiver and receiver == ours.get("receiver"):
        return f"matchers include ours, same receiver {receiver!r}"
    return ""


def _matcher_key(route: dict[str, Any]) -> str:
    """A route's matchers as a person reads them, in Grafana's order."""
    return ", ".join("".join(m) for m in normal_route(route)["object_matchers"]) or "(all)"


def without_route(
    routes: list[Any], gone: dict[str, Any], legacy: Callable[[Any], dict[str, Any]]
) -> list[Any]:
    """``routes`` but the first one that is ``gone`` (compared in the legacy shape)."""
    for index, route in enumerate(routes):
        if normal_route(legacy(route)) == normal_route(gone):
            return routes[:index] + routes[index + 1 :]
    return list(routes)


def normal_route(route: dict[str, Any]) -> dict[str, Any]:
    """Every field of a route that changes behaviour, unset ones as Grafana treats them
    (inherited: None; lists: empty), durations as seconds, children likewise."""
    timing = ("group_wait", "group_interval", "repeat_interval")
    return {
        "receiver": route.get("receiver") or None,
        # Grafana answers matchers sorted (by name, value, operator): order means nothing.
        "object_matchers": sorted(
            _matchers(route) + [[m] for m in route.get("matchers") or []],
            key=lambda m: (m[0], m[-1], m[1:-1]),
        ),
        "group_by": route.get("group_by"),
        **{key: same_duration(route.get(key)) for key in timing},
        "continue": bool(route.get("continue")),
        "mute_time_intervals": list(route.get("mute_time_intervals") or []),
        "active_time_intervals": list(route.get("active_time_intervals") or []),
        "routes": [normal_route(child) for child in route.get("routes") or []],
    }
