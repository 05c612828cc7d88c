"""Durations as Grafana answers them: plan compares the meaning, not the spelling.

Grafana decodes a rule's ``for`` and a route's ``group_wait`` / ``group_interval`` /
``repeat_interval`` into prometheus/common's ``model.Duration`` and answers with its
``String()``: the largest units first, years and weeks only when exact, so 60s comes back as
"1m" and 90s as "1m30s" (Grafana: ``ProvisionedAlertRule.For model.Duration`` in
pkg/services/ngalert/api/tooling/definitions/provisioning_alert_rules.go; grafana/alerting's
``definition.Route`` has ``GroupWait *model.Duration`` and the like; prometheus/common:
``func (d Duration) String()`` in model/time.go). The fake Grafana does the same
(``format_prom_duration``), so a definition spelled otherwise must still plan as unchanged.
"""

from __future__ import annotations

import pytest

from fake_grafana import FakeGrafana
from provision_cli import applied, plan
from provisioning.settings import SettingsError, duration_seconds


def overrides(settings: dict[str, str]) -> dict[str, str]:
    """grafana.yaml values (section__key) as the environment overrides provision.py reads."""
    return {f"PROVISION__VALUES__{key.upper()}": value for key, value in settings.items()}


def applied_with(fake: FakeGrafana, **settings: str) -> None:
    applied(fake, **overrides(settings))


def planned(fake: FakeGrafana, **settings: str) -> dict[str, str]:
    """What plan would do, by resource kind (the two durations' resources)."""
    _, document = plan(fake, **overrides(settings))
    return {c["kind"]: c["action"] for c in document["changes"] if c["kind"] in KINDS}


KINDS = ("notification policy", "rule group")


def our_route(fake: FakeGrafana) -> dict:
    [branch] = fake.state.policy_tree["routes"]
    return next(r for r in branch["routes"] if r.get("receiver") == "Telegram")


def rule_for(fake: FakeGrafana) -> set[str]:
    return {rule["for"] for group in fake.state.rule_groups.values() for rule in group["rules"]}


SPELLED_OTHERWISE = {
    # setting: (as defined, as Grafana answers)
    "policy__group_wait": ("90s", "1m30s"),
    "policy__group_interval": ("60s", "1m"),
    "policy__repeat_interval": ("1440m", "1d"),
    "alerting__pending_period": ("60s", "1m"),
}


def test_durations_grafana_spells_otherwise_plan_as_unchanged(fake: FakeGrafana) -> None:
    defined = {key: spelled for key, (spelled, _) in SPELLED_OTHERWISE.items()}
    applied_with(fake, **defined)
    route = our_route(fake)  # the fake answers each duration as Grafana would
    assert route["group_wait"] == "1m30s"
    assert route["group_interval"] == "1m"
    assert route["repeat_interval"] == "1d"
    assert rule_for(fake) == {"1m"}

    assert planned(fake, **defined) == dict.fromkeys(KINDS, "unchanged")


@pytest.mark.parametrize("key", list(SPELLED_OTHERWISE))
def test_a_real_change_of_a_duration_is_still_planned(fake: FakeGrafana, key: str) -> None:
    defined = {k: spelled for k, (spelled, _) in SPELLED_OTHERWISE.items()}
    applied_with(fake, **defined)
    kind = "rule group" if key.startswith("alerting") else "notification policy"
    changed = planned(fake, **(defined | {key: "2h"}))
    assert changed == dict.fromkeys(KINDS, "unchanged") | {kind: "update"}


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("1m30s", 90), ("1d", 86_400), ("2w", 1_209_600), ("1s500ms", 1.5)],
)
def test_settings_read_every_spelling_grafana_answers_with(text: str, seconds: float) -> None:
    assert duration_seconds(text) == seconds


@pytest.mark.parametrize("text", ["", "10", "1h1h", "1m1h", "1.5s", "5 m"])
def test_settings_refuse_what_prometheus_does_not_parse(text: str) -> None:
    with pytest.raises(SettingsError, match="is not a duration"):
        duration_seconds(text)
