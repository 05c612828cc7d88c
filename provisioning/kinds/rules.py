"""Alert rule groups (API-NOTES §5.3-5.4)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from provisioning import ownership
from provisioning.client import GrafanaClient
from provisioning.errors import DefinitionError
from provisioning.kinds.base import (
    PROVISIONING,
    Kind,
    Live,
    Lookalike,
    Stack,
    Wanted,
    project,
    same_duration,
    without_provenance,
)
from provisioning.model.rules import EXPRESSIONS, Rule, RuleGroup
from provisioning.settings import SettingsError, duration_seconds

# Rule fields an older Grafana drops (its ProvisionedAlertRule lacks them): the first release
# that takes each (12.0.0's changelog: keep_firing_for grafana/grafana#100750,
# missingSeriesEvalsToResolve #102150), and whether a rule sets it.
NEWER_FIELDS: dict[str, tuple[tuple[int, int], Callable[[Rule], bool]]] = {
    "keep_firing_for": ((12, 0), lambda rule: bool(duration_seconds(rule.keep_firing_for))),
    "missing_series_evals_to_resolve": (
        (12, 0),
        lambda rule: rule.missing_series_evals_to_resolve is not None,
    ),
}
TAKES_EVERY_FIELD = max(since for since, _ in NEWER_FIELDS.values())


class RuleGroups(Kind):
    """A rule group is written whole. Each rule carries the stack's label, which marks it
    the stack's and routes its alerts into the stack's branch of the policy tree (of the
    stack's own tree, which its rules select, when it has one)."""

    label, model, api = "rule group", RuleGroup, PROVISIONING

    def __init__(self, stack: Stack, grafana: tuple[int, int] = TAKES_EVERY_FIELD) -> None:
        super().__init__(stack)
        self.grafana = grafana  # its release (offline: one that takes every field)

    def render(self, definition: RuleGroup) -> Wanted:
        folder, name = definition.folder, definition.name
        rules = []
        for rule in definition.rules:
            self._refuse_what_it_drops(rule)
            body = rule.to_json(folder, name)
            body["orgID"] = self.stack.org_id
            body["labels"] = body["labels"] | {ownership.LABEL: self.stack.name}
            body["notification_settings"] = self.routing()
            rules.append(body)
        try:
            interval = int(duration_seconds(definition.interval))
        except SettingsError as exc:
            raise SettingsError(f"rule group {name}: interval: {exc}") from None
        body = {"title": name, "folderUid": folder.uid, "interval": interval, "rules": rules}
        return Wanted(f"{folder.uid}/{name}", body)

    def _refuse_what_it_drops(self, rule: Rule) -> None:
        """Refuses a rule that sets a field this Grafana would drop."""
        for name, (since, is_set) in NEWER_FIELDS.items():
            if self.grafana < since and is_set(rule):
                raise DefinitionError(
                    f"rule {rule.uid}: {name} needs Grafana {_release(since)} or later; this "
                    f"Grafana ({_release(self.grafana)}) would drop it"
                )

    def routing(self) -> dict[str, str] | None:
        """How a rule's alerts are routed: by the default policy tree (the stack's branch
        there), or into the stack's own tree, by its name (models.PolicyRouting: "policy",
        the receiver empty, as Grafana's rule form sends it, grafana/grafana#120610)."""
        return {"receiver": "", "policy": self.stack.tree} if self.stack.tree else None

    def read(self, live: Live, wanted: list[Wanted]) -> dict[str, Any]:
        groups: dict[str, Any] = {}
        for rule in live.get(f"{PROVISIONING}/alert-rules") or []:
            key = f"{rule['folderUID']}/{rule['ruleGroup']}"
            groups.setdefault(key, {"rules": []})["rules"].append(rule)
        keys = {w.key for w in wanted if w.key in groups}
        keys |= {k for k, g in groups.items() if self.owner(g) == self.stack.name}
        return {key: self.fetch(live.client, key) for key in sorted(keys)}

    def owner(self, live: Any) -> str | None:
        owners = {rule_owner(rule) for rule in live.get("rules") or []}
        return owners.pop() if len(owners) == 1 else None

    def expected(self, wanted: Wanted) -> Any:
        rules = [_rule(rule, rule) for rule in wanted.body["rules"]]
        interval = wanted.body["interval"]
        return {"interval": interval, "rules": rules, "provenance": self.stack.provenance}

    def actual(self, live: Any, wanted: Wanted | None) -> Any:
        rules = live.get("rules") or []
        shapes = wanted.body["rules"] if wanted else rules
        if len(shapes) != len(rules):
            shapes = rules
        provenance = ",".join(sorted({r.get("provenance") or "" for r in rules}))
        return {
            "interval": live.get("interval"),
            "rules": [_rule(rule, shape) for rule, shape in zip(rules, shapes, strict=True)],
            "provenance": provenance,
        }

    def fetch(self, client: GrafanaClient, key: str) -> Any:
        folder, _, group = key.partition("/")
        path = f"{PROVISIONING}/folder/{folder}/rule-groups/{quote(group, safe='')}"
        return client.get(path, missing_ok=True)

    def write(self, client: GrafanaClient, wanted: Wanted, live: Any) -> None:
        folder, _, group = wanted.key.partition("/")
        path = f"{PROVISIONING}/folder/{folder}/rule-groups/{quote(group, safe='')}"
        if live is not None:
            actual, expected = self.actual(live, wanted), self.expected(wanted)
            if without_provenance(actual) == without_provenance(expected):
                # Grafana ignores a PUT identical but for provenance (its delta is empty), so
                # a change of mode re-creates the group; its alerts start from "normal" again.
                client.request("DELETE", path, missing_ok=True)
        client.request("PUT", path, json=wanted.body)

    def delete(self, client: GrafanaClient, key: str, live: Any) -> list[str]:
        folder, _, group = key.partition("/")
        path = f"{PROVISIONING}/folder/{folder}/rule-groups/{quote(group, safe='')}"
        client.request("DELETE", path, missing_ok=True)
        return []

    def takes(self, wanted: Wanted, live: Live, spared: frozenset[str] = frozenset()) -> str | None:
        # Grafana moves a rule whose uid a group names into that group, from any other.
        uids = {rule["uid"] for rule in wanted.body["rules"]} - spared
        theirs = sorted(
            f"{rule['uid']} (in {rule['folderUID']}/{rule['ruleGroup']})"
            for rule in live.get(f"{PROVISIONING}/alert-rules") or []
            if rule["uid"] in uids and rule_owner(rule) != self.stack.name
        )
        return f"rule uids taken by rules it does not own: {', '.join(theirs)}" if theirs else None

    def lookalikes(self, wanted: Wanted, live: Live) -> list[Lookalike]:
        """Unmarked rules, in any group, with the title of one of ours, all of its labels
        (but the mark; a name may be misspelt by a letter) or only its queries (``_alike``):
        the same alert, which would fire twice. Nothing refers to a rule by its uid, so ours
        takes its place in our group and it goes. One sharing nothing but the uid is another
        alert, which a takeover would overwrite: a clash (``takes``) names it."""
        found: dict[str, Lookalike] = {}
        for ours in wanted.body["rules"]:
            for rule in live.get(f"{PROVISIONING}/alert-rules") or []:
                same = _alike(rule, ours)
                if same and rule["uid"] not in found:
                    where = f"{rule['folderUID']}/{rule['ruleGroup']}"
                    name = f"alert rule {rule['title']!r} (uid {rule['uid']}, in {where})"
                    why = f"same {' and '.join(same)} as {ours['uid']}"
                    found[rule["uid"]] = Lookalike(rule["uid"], rule, name, why)
        return list(found.values())

    def made_of(self, live: Any, keys: frozenset[str]) -> bool:
        return all(rule["uid"] in keys for rule in live.get("rules") or [])

    def moves(self, wanted: Wanted, theirs: Lookalike) -> bool:
        return theirs.key in {rule["uid"] for rule in wanted.body["rules"]}

    def release(self, client: GrafanaClient, theirs: Lookalike) -> list[str]:
        """The rule alone goes: the rest of its group stays (an emptied group goes with it).
        One that the group's write moved in (``moves``) is the stack's now, and stays."""
        path = f"{PROVISIONING}/alert-rules/{quote(theirs.key, safe='')}"
        rule = client.get(path, missing_ok=True)
        if rule is None:
            return []
        if rule_owner(rule) == self.stack.name:
            return [f"moved into {rule['folderUID']}/{rule['ruleGroup']}, its uid kept"]
        client.request("DELETE", path, missing_ok=True)
        return []


# What Grafana assumes for a rule field left out, so that an edit in the UI shows.
# missingSeriesEvalsToResolve (Grafana 12, camelCase in the API; snake_case only in files):
# unset (nil) resolves an alert whose series is gone after 2 evaluations without it.
RULE_DEFAULTS: dict[str, Any] = {
    "for": 0,
    "keep_firing_for": 0,
    "isPaused": False,
    "notification_settings": None,
    "missingSeriesEvalsToResolve": None,
    "labels": {},
    "annotations": {},
}


def _rule(rule: dict[str, Any], shape: dict[str, Any]) -> dict[str, Any]:
    """Every field of a rule that changes its behaviour, with Grafana's defaults filled in;
    the queries reduced to what the definition sets."""
    result = {
        key: rule.get(key)
        for key in ("uid", "title", "condition", "noDataState", "execErrState", "folderUID")
    }
    for key, default in RULE_DEFAULTS.items():
        value = rule.get(key)
        result[key] = default if value in (None, "") else value
    result["for"] = same_duration(result["for"]) or 0
    result["keep_firing_for"] = same_duration(result["keep_firing_for"]) or 0
    result["data"] = project(rule.get("data"), shape.get("data"))
    return result


def _alike(rule: dict[str, Any], ours: dict[str, Any]) -> list[str]:
    """What an unmarked ``rule`` shares with ``ours``: its title, every label of ours but
    the mark (the same alert, routed the same way), even with a name misspelt (the course's
    rule, dash_11: drift_treshold_detected), or only queries of ours (the same series
    watched); its uid too, but that alone is nothing ([]): a uid says nothing of the alert."""
    if rule_owner(rule) is not None:
        return []
    labels = {k: v for k, v in ours["labels"].items() if k != ownership.LABEL}
    theirs = rule.get("labels") or {}
    same = ["uid"] if rule["uid"] == ours["uid"] else []
    same += ["title"] if rule["title"] == ours["title"] else []
    slips = {name: _slip(name, value, theirs) for name, value in labels.items()}
    if labels and all(slips.values()):
        misspelt = [f"{slip}={labels[name]}" for name, slip in slips.items() if slip != name]
        same += [f"labels but a misspelt {', '.join(misspelt)}" if misspelt else "labels"]
    queries = _queries(rule)
    same += ["queries"] if queries and queries <= _queries(ours) else []
    return [] if same == ["uid"] else same


def _slip(name: str, value: str, labels: dict[str, str]) -> str | None:
    """The label of ``labels`` that is ``name`` with ``value``, its name as typed: the same,
    or one slip of a letter away (one dropped, added, changed, or two swapped); None: none."""
    if labels.get(name) == value:
        return name
    slips = (typed for typed, v in labels.items() if v == value and _one_slip(name, typed))
    return next(slips, None)


def _one_slip(a: str, b: str) -> bool:
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    shorter = min(len(a), len(b))
    i = next((k for k in range(shorter) if a[k] != b[k]), shorter)  # the first slip
    swapped = a[i + 1 : i + 2] + a[i : i + 1] + a[i + 2 :]
    return b[i:] in (a[i + 1 :], swapped) or a[i:] == b[i + 1 :] or a[i + 1 :] == b[i + 1 :]


def _queries(rule: dict[str, Any]) -> set[str]:
    """The Prometheus queries of a rule's data steps, spaces normalised."""
    return {
        " ".join(str(step["model"]["expr"]).split())
        for step in rule.get("data") or []
        if step.get("datasourceUid") != EXPRESSIONS and (step.get("model") or {}).get("expr")
    }


def _release(version: tuple[int, int]) -> str:
    return ".".join(map(str, version))


def rule_owner(rule: dict[str, Any]) -> str | None:
    return (rule.get("labels") or {}).get(ownership.LABEL)
