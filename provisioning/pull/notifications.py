"""Templates, mute timings, contact points and routes read from Grafana, as model objects.

An integration becomes its typed class (Telegram, Slack, Email, Webhook) when that class
writes exactly Grafana's settings back, else ``Other`` with Grafana's setting names: nothing
changes on the way. Secrets never leave Grafana (it does not answer them): each becomes an
``Env`` with a generated name, which ``pull`` lists."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from provisioning.model import (
    ContactPoint,
    Email,
    Env,
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
from provisioning.pull import read

TYPED: dict[str, type[Integration]] = {cls.type: cls for cls in (Telegram, Slack, Email, Webhook)}
TIMINGS = ("group_wait", "group_interval", "repeat_interval")


@dataclass
class Secrets:
    """The environment variables the pulled integrations read their secrets from."""

    names: dict[str, str] = field(default_factory=dict)  # NAME -> what it holds

    def env(self, point: str, integration: str, setting: str) -> Env:
        base = "_".join(
            dict.fromkeys(_word(part) for part in (point, integration, setting) if part)
        )
        name, count = base, 1
        while name in self.names:
            count += 1
            name = f"{base}_{count}"
        self.names[name] = f"contact point {point!r}, {integration} {setting}"
        return Env(name)


def _word(text: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", text.upper()).strip("_") or "X"


def template(live: dict[str, Any]) -> Template:
    return Template(live["name"], live.get("template") or "")


def mute_timing(live: dict[str, Any]) -> MuteTiming:
    intervals = []
    for item in live.get("time_intervals") or []:
        times = [(t["start_time"], t["end_time"]) for t in item.get("times") or []]
        lists = {
            k: list(item.get(k) or []) for k in ("weekdays", "days_of_month", "months", "years")
        }
        intervals.append(TimeInterval(times=times, location=item.get("location"), **lists))
    return MuteTiming(live["name"], intervals)


def contact_point(name: str, parts: list[read.LiveIntegration], secrets: Secrets) -> ContactPoint:
    return ContactPoint(name, [_integration(name, part, secrets) for part in parts])


def _integration(point: str, part: read.LiveIntegration, secrets: Secrets) -> Integration:
    hidden = {key: secrets.env(point, part.type, key) for key in part.secret}
    typed = _typed(part, hidden)
    if typed is not None:
        return typed
    return Other(
        integration_type=part.type,
        values=part.settings | hidden,
        secret_fields=tuple(part.secret),
        disable_resolve_message=part.disable_resolve_message,
    )


def _typed(part: read.LiveIntegration, hidden: dict[str, Env]) -> Integration | None:
    """The typed class's object, when it writes back exactly the settings Grafana holds."""
    cls = TYPED.get(part.type)
    if cls is None:
        return None
    fields = setting_fields(cls)
    settings = part.settings | hidden
    if set(settings) - set(fields) or set(part.secret) - set(cls.secret):
        return None
    values = {fields[key]: value for key, value in settings.items()}
    if cls is Email and isinstance(values.get("addresses"), str):
        values["addresses"] = values["addresses"].split(";")
    try:
        made = cls(disable_resolve_message=part.disable_resolve_message, **values)
    except TypeError:  # a required field Grafana does not hold
        return None
    return made if made.settings() == settings else None


def setting_fields(cls: type[Integration]) -> dict[str, str]:
    """Grafana's name of each setting -> the class's field that writes it, found by writing
    each field with a value of its own."""
    marks: dict[str, Any] = {
        f.name: [f"\0{f.name}"] if "Sequence" in str(f.type) else f"\0{f.name}"
        for f in dataclasses.fields(cls)
        if f.name != "disable_resolve_message"
    }
    marked = cls(**marks)
    return {
        key: str(value)[1:]
        for key, value in marked.settings().items()
        if isinstance(value, str) and value.startswith("\0")
    }


def route(live: dict[str, Any], timings: Mapping[str, MuteTiming], notes: list[str]) -> Route:
    """A route and its children; mute timings pulled with it are referred to as objects (the
    stack names its own), others by their name in Grafana."""
    matchers = [Matcher(*m) for m in live.get("object_matchers") or []]
    old = [key for key in ("matchers", "match", "match_re") if live.get(key)]
    if old:
        notes.append(
            f"route to {live.get('receiver')!r}: its matchers in an old form ({', '.join(old)}) "
            "are not pulled: the model writes object matchers"
        )
    intervals = {}
    for key in ("mute_time_intervals", "active_time_intervals"):
        names = list(live.get(key) or [])
        for name in names:
            if name not in timings:
                notes.append(
                    f"route to {live.get('receiver')!r}: mute timing {name!r} is not pulled "
                    "(a stack's, or missing): named as it is in Grafana"
                )
        intervals[key] = [timings.get(name, name) for name in names]
    return Route(
        receiver=live.get("receiver") or None,
        matchers=_matchers(matchers),
        group_by=live.get("group_by"),
        continue_matching=bool(live.get("continue")),
        mute_timings=intervals["mute_time_intervals"],
        active_timings=intervals["active_time_intervals"],
        routes=[route(child, timings, notes) for child in live.get("routes") or []],
        **{key: live.get(key) or None for key in TIMINGS},
    )


def _matchers(matchers: list[Matcher]) -> dict[str, str] | list[Matcher]:
    """Equality matchers as a mapping (label: value), the readable form; others as a list."""
    labels = [m.label for m in matchers]
    if all(m.operator == "=" for m in matchers) and len(set(labels)) == len(labels):
        return {m.label: m.value for m in matchers}
    return matchers
