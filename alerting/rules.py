"""The drift platform's rule group: the drift rule (per feature, material drift: the adjusted
p-value below the alpha its run published and the effect size at least the threshold it
published for the feature), the staleness rule (a dataset run on a schedule that has gone
longer without a run than its schedule allows) and the monitor-down rule (Prometheus's scrape
of the monitor fails). The first two compare with what each run publishes, so the alerts,
the engine's drifted flag and the status page agree; the third covers what they cannot see:
with the monitor down its series vanish and both see no data. Steps are named by meaning
(messages read $values.p_value.Value). ``drift_rule`` is the helper to reuse for another
dataset, folder or team."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import names
from dashboards.drift import (
    ADJUSTED_P_VALUE_PANEL_ID,
    LAST_RUN_PANEL_ID,
    PER_DATASET,
    dashboard,
    datasource,
    folder,
)
from provisioning.model import (
    Dashboard,
    DataSource,
    Definition,
    DefinitionError,
    Math,
    Query,
    Reduce,
    Rule,
    RuleGroup,
    Threshold,
    Values,
)

DRIFT_RULE_UID = "drift-p-value"
STALE_RULE_UID = "drift-stale"
MONITOR_DOWN_RULE_UID = "drift-monitor-down"
QUERY_WINDOW_SECONDS = 600
# Settings that moved out of values.alerting, and where they are now: one source of truth.
MOVED = {
    "alpha": "alpha is set in the drift config (data/drift.yaml) and published by every run "
    "as drift_dataset_alpha, which the alert rule compares with; remove it here",
    "use_adjusted_p_value": "the alert rule compares the adjusted p-value, as the engine does "
    "(correction: none in data/drift.yaml makes it the raw one); remove it here",
    "min_effect_size": "min_effect_size is set in the drift config (data/drift.yaml) and "
    "published by every run per feature as drift_feature_effect_size_threshold, which the "
    "alert rule compares with; remove it here",
    "stale_after": "a dataset is stale after two intervals of the DAG's schedule "
    "(DRIFT_SCHEDULE), published by every scheduled run; remove it here",
}


@dataclass(frozen=True)
class Comparison:
    """``left operator right``, per series of ``left``, with ``right`` the value its dataset
    published (``per_dataset``), or a series with the same labels or a constant. The rule
    thresholds the sign of
    ``left - right`` at 0, which IEEE arithmetic gets exactly right (a ratio compared with 1
    would not); its step ``value`` holds ``left``'s own value for the message."""

    value: str  # the step holding ``left``'s value
    left: str
    operator: Literal["<", ">", ">="]
    right: str
    per_dataset: bool = True

    @property
    def difference(self) -> str:
        right = f"{PER_DATASET} {self.right}" if self.per_dataset else self.right
        return f"{self.left} - {right}"

    def steps(self, source: DataSource, difference: str, condition: str) -> dict[str, object]:
        """``value`` and ``difference`` (each a query and its last value), then
        ``condition``: the difference's sign, as the comparison wants."""
        return {
            **last_value(source, self.value, self.left),
            **last_value(source, difference, self.difference),
            condition: Threshold(difference, self.operator, 0),
        }


def last_value(source: DataSource, name: str, expr: str) -> dict[str, Query | Reduce]:
    """A query and its last value under ``name``: $values holds expressions only."""
    query = Query(expr, source, window_seconds=QUERY_WINDOW_SECONDS)
    return {f"{name}_query": query, name: Reduce(f"{name}_query")}


DRIFT = Comparison("p_value", names.P_VALUE_ADJUSTED, "<", names.DATASET_ALPHA)
# The threshold is published per feature: its series has the effect size's labels.
MATERIAL = Comparison(
    "effect_size", names.EFFECT_SIZE, ">=", names.EFFECT_SIZE_THRESHOLD, per_dataset=False
)
# PromQL's "-" binds before ">" and from the left: "time() - last - on(...) limit" is
# "(time() - last) - on(...) limit".
STALE = Comparison(
    "since_last_run", f"time() - {names.LAST_RUN_TIMESTAMP}", ">", names.DATASET_STALE_AFTER
)
# Prometheus's own series for its scrape of the monitor: 1 when the last scrape worked.
MONITOR_DOWN = Comparison("up", f'up{{job="{names.MONITOR_JOB}"}}', "<", "1", per_dataset=False)


def drift_rule(
    *,
    source: DataSource,
    board: Dashboard,
    public_url: str,
    pending: str,
    uid: str = DRIFT_RULE_UID,
    title: str = "Data drift: adjusted p-value below alpha, effect size at its threshold",
    labels: dict[str, str] | None = None,
) -> Rule:
    """Per feature, material drift as the engine decides it (drift.config.drifted): the
    adjusted p-value below the alpha its run published and the effect size at least the
    threshold its run published for the feature."""
    return Rule(
        uid=uid,
        title=title,
        steps={
            **DRIFT.steps(source, "p_minus_alpha", "significant"),
            **MATERIAL.steps(source, "effect_minus_threshold", "material"),
            "drifted": Math("$significant && $material"),
        },
        condition="drifted",
        labels=labels or {names.ALERT_LABEL: names.ALERT_LABEL_VALUE},
        series_labels=(names.DATASET_LABEL, names.FEATURE_LABEL),
        annotations={
            "summary": "Drift in {{ $labels.dataset }} / {{ $labels.feature }}",
            "description": "The adjusted p-value of the feature is below the alpha of its run "
            "and its effect size reaches the feature's threshold (both set in the drift "
            "config).",
            "p_value": '{{ printf "%.3g" $values.p_value.Value }}',
            "effect_size": '{{ with $values.effect_size }}{{ printf "%.3g" .Value }}{{ end }}',
            "dashboard_url": dashboard_url(public_url, board),
        },
        pending=pending,
        # No series means no run yet, not drift.
        no_data="OK",
        dashboard=board,
        panel_id=ADJUSTED_P_VALUE_PANEL_ID,
        prometheus_alert="DataDriftDetected",  # the name it had before names were derived
    )


def stale_rule(*, source: DataSource, board: Dashboard, public_url: str, pending: str) -> Rule:
    return Rule(
        uid=STALE_RULE_UID,
        title="Data drift: scheduled run overdue",
        steps=STALE.steps(source, "overdue", "stale"),
        labels={names.STALE_LABEL: names.ALERT_LABEL_VALUE},
        series_labels=(names.DATASET_LABEL,),
        annotations={
            "summary": "No drift run for {{ $labels.dataset }} in "
            "{{ humanizeDuration $values.since_last_run.Value }}, longer than its schedule "
            "allows",
            "dashboard_url": dashboard_url(public_url, board),
        },
        pending=pending,
        # No series: no dataset runs on a schedule (or none has run yet), so none is overdue
        # and nobody is paged. A failing Prometheus or data source is not "no data": the
        # query fails and the error state "Error" still pages (DatasourceError, with this
        # rule's labels, so the same route).
        no_data="OK",
        dashboard=board,
        panel_id=LAST_RUN_PANEL_ID,
        prometheus_alert="DriftRunStale",  # the name it had before names were derived
    )


def monitor_down_rule(
    *, source: DataSource, board: Dashboard, public_url: str, pending: str
) -> Rule:
    return Rule(
        uid=MONITOR_DOWN_RULE_UID,
        title="Data drift: the monitor does not answer Prometheus",
        steps=MONITOR_DOWN.steps(source, "up_minus_one", "down"),
        labels={names.MONITOR_DOWN_LABEL: names.ALERT_LABEL_VALUE},
        annotations={
            "summary": "The drift monitor{{ with $labels.instance }} at {{ . }}{{ end }} does "
            "not answer Prometheus: no drift or staleness alert can fire",
            "description": f"Prometheus's scrape of its job {names.MONITOR_JOB} fails (the "
            "monitor stopped, unreachable, or /metrics failing). Without the monitor's series "
            "the drift and staleness rules see no data.",
            # No panel shows the monitor's up series: the dashboard, not a panel.
            "dashboard_url": dashboard_url(public_url, board, per_dataset=False),
        },
        pending=pending,
        # No `up` series for the job at all: Prometheus does not scrape the monitor (its job
        # renamed or removed), a misconfiguration that hides every run as surely as a down
        # monitor: "NoData" pages (DatasourceNoData, with this rule's labels, so the same
        # route). A failing Prometheus is the error state "Error", which pages too.
        no_data="NoData",
        dashboard=board,
    )


def dashboard_url(public_url: str, board: Dashboard, per_dataset: bool = True) -> str:
    """The dashboard, showing the alert's dataset when it has one."""
    url = f"{public_url.rstrip('/')}/d/{board.uid}"
    return f"{url}?var-dataset={{{{ $labels.dataset }}}}" if per_dataset else url


def define(values: Values) -> list[Definition]:
    alerting = values.section("alerting")
    for key in sorted(set(alerting) & set(MOVED)):
        raise DefinitionError(f"values.alerting.{key}: {MOVED[key]}")
    common = {
        "source": datasource(values),
        "board": dashboard(values),
        "public_url": values.text("public_url"),
        "pending": alerting.text("pending_period"),
    }
    rules = [drift_rule(**common), stale_rule(**common), monitor_down_rule(**common)]
    # A rule's uid is unique in an organisation: environments sharing a Grafana each prefix
    # theirs (values.alerting.uid_prefix, in environments/*.yaml).
    prefix = alerting.text("uid_prefix") if "uid_prefix" in alerting else ""
    rules = [replace(rule, uid=prefix + rule.uid) for rule in rules]
    group = RuleGroup(
        folder=folder(values),
        name=alerting.text("group"),
        interval=alerting.text("interval"),
        rules=rules,
    )
    return [group]


def check(definitions: Sequence[Definition]) -> list[str]:
    """Alpha, the effect size thresholds and the staleness limit have one source, the values
    each run publishes: a rule labelled for them must compare with the published series, by a
    sign at 0 (the drift rule with both alpha and the threshold, its condition joining them)."""
    published = {names.ALERT_LABEL: (DRIFT, MATERIAL), names.STALE_LABEL: (STALE,)}
    problems = []
    for group in (d for d in definitions if isinstance(d, RuleGroup)):
        for rule in group.rules:
            compared = _compared(rule)
            for label, comparisons in published.items():
                if label not in rule.labels:
                    continue
                for comparison in comparisons:
                    if not any(comparison.right in expr and value == 0 for expr, value in compared):
                        exprs = " and ".join(repr(expr) for expr, _ in compared) or "nothing"
                        problems.append(
                            f"rule {rule.uid}: its condition must compare with "
                            f"{comparison.right}, which every run publishes, by the sign of the "
                            f"difference (threshold 0), not with a constant: it compares {exprs}"
                        )
    return problems


def _compared(rule: Rule) -> list[tuple[str, object]]:
    """(query, threshold value) of each threshold the condition is, or joins in a math step."""
    condition = rule.steps.get(rule.condition_step)
    thresholds = (
        [rule.steps.get(name) for name in re.findall(r"\$\{?(\w+)", condition.expression)]
        if isinstance(condition, Math)
        else [condition]
    )
    compared = []
    for threshold in thresholds:
        source = rule.steps.get(getattr(threshold, "input", ""))
        query = rule.steps.get(getattr(source, "input", ""))
        compared.append((getattr(query, "expr", ""), getattr(threshold, "value", None)))
    return compared
