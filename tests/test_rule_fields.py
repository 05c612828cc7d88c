"""A rule's missing_series_evals_to_resolve (Grafana 12's missingSeriesEvalsToResolve): checked by
the model as Grafana checks it, applied where Grafana keeps it and refused where it would drop
it, written to Grafana's provisioning files, refused by the Prometheus export unless Prometheus
resolves the same way. Pull: tests/test_pull.py (the rich hand-made state sets it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from fake_grafana import FakeGrafana
from provision_cli import applied, error_line, provision, with_rule
from provisioning.errors import DefinitionError
from provisioning.export import grafana_files
from provisioning.files import ExportError
from provisioning.kinds import Stack
from provisioning.model import Folder, Query, Reduce, Rule, RuleGroup, Threshold
from provisioning.prometheus_native import rule_file

# Grafana's ProvisionedAlertRule field (api/tooling/definitions/provisioning_alert_rules.go:
# `json:"missingSeriesEvalsToResolve,omitempty"`, an *int) and the file format's
# (AlertRuleExport, provisioning/alerting/rules_types.go AlertRuleV1: snake_case).
API_FIELD, FILE_FIELD = "missingSeriesEvalsToResolve", "missing_series_evals_to_resolve"


def rule(**fields: Any) -> Rule:
    steps = {"q": Query("up", "prom"), "value": Reduce("q"), "down": Threshold("value", "<", 1)}
    return Rule(**{"uid": "r", "title": "R", "steps": steps} | fields)


@pytest.mark.fake_versions("12.4", "13.2")
def test_it_is_applied_once_and_a_second_apply_writes_nothing(
    fake: FakeGrafana, tmp_path: Path
) -> None:
    where = with_rule(tmp_path, "stale", "missing_series_evals_to_resolve=3")
    applied(fake, **where)
    [stored] = fake.state.rule_groups["stale", "g"]["rules"]
    assert stored[API_FIELD] == 3
    fake.reset_log()
    applied(fake, **where)
    assert fake.writes() == 0
    assert provision(fake, "plan", **where).returncode == 0


@pytest.mark.fake_versions("11.6")
def test_a_grafana_that_would_drop_it_refuses_it_in_one_line(
    fake: FakeGrafana, tmp_path: Path
) -> None:
    """ProvisionedAlertRule has no missingSeriesEvalsToResolve before 12.0 (12.0.0's changelog:
    grafana/grafana#102150): Go would drop it and the alerts resolve after 2."""
    where = with_rule(tmp_path, "stale", "missing_series_evals_to_resolve=3")
    said = (
        "Error: rule stale: missing_series_evals_to_resolve needs Grafana 12.0 or later; this "
        "Grafana (11.6) would drop it"
    )
    assert error_line(provision(fake, "plan", **where)) == said
    assert error_line(provision(fake, "apply", **where)) == said
    assert fake.writes() == 0 and not fake.state.rule_groups


# Grafana refuses <= 0 (models/alert_rule.go validateAlertRuleFields); a bool is no number.
@pytest.mark.parametrize("value", [0, -1, True, 2.5, "3"])
def test_the_model_refuses_what_grafana_would(value: Any) -> None:
    with pytest.raises(DefinitionError) as refused:
        rule(missing_series_evals_to_resolve=value)
    assert str(refused.value) == (
        f"rule r missing_series_evals_to_resolve: expected a whole number above 0, got {value!r}"
    )


def test_it_is_sent_only_when_set() -> None:
    folder = Folder("f", "F")
    assert rule(missing_series_evals_to_resolve=1).to_json(folder, "g")[API_FIELD] == 1
    assert API_FIELD not in rule().to_json(folder, "g")  # omitempty: nil is Grafana's default


def test_the_provisioning_file_holds_it_in_its_spelling_only_when_set() -> None:
    folder = Folder("f", "F")
    group = RuleGroup(
        folder=folder,
        name="g",
        rules=[rule(missing_series_evals_to_resolve=3), rule(uid="unset", title="Unset")],
    )
    files = grafana_files([folder, group], Stack("drift"))
    [exported] = yaml.safe_load(files["alerting/drift.yaml"])["groups"]
    by_uid = {item["uid"]: item for item in exported["rules"]}
    assert by_uid["r"][FILE_FIELD] == 3
    assert FILE_FIELD not in by_uid["unset"] and API_FIELD not in by_uid["r"]


def test_prometheus_export_refuses_it_but_as_prometheus_resolves() -> None:
    """Prometheus resolves an alert at the first evaluation without its series
    (rules/alerting.go Eval): Grafana's 1, which translates; any other has no equivalent."""
    folder = Folder("f", "F")

    def exported(*rules: Rule) -> dict[str, Any]:
        group = RuleGroup(folder=folder, name="g", interval="10s", rules=list(rules))
        return rule_file([group], Stack("t"))

    with pytest.raises(ExportError) as refused:
        exported(rule(missing_series_evals_to_resolve=3))
    assert str(refused.value) == (
        "rule r has no Prometheus equivalent: its alerts resolve after 3 evaluations without "
        "their series (missing_series_evals_to_resolve), Prometheus's at the first"
    )
    assert exported(rule(missing_series_evals_to_resolve=1)) == exported(rule())
