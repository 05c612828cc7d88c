"""The rule group: the drift rule (per feature, the adjusted p-value below the alpha its run
published), the staleness rule (a dataset run on a schedule that has gone longer without a
run than its schedule allows) and the monitor-down rule (Prometheus's scrape of the monitor
fails). The first two compare with what each run publishes, so the alerts, the engine's
drifted flag and the status page agree; the third covers what they cannot see: with the
monitor down its series vanish and both see no data. Queries and expressions are named by meaning
(messages read $values.p_value.Value). Built as Grafana's provisioning API takes them
(API-NOTES §5.3-5.4); grafanalib's alert classes emit the older Ruler format, so they are not
used."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import names
from dashboards.drift import ADJUSTED_P_VALUE_PANEL_ID, LAST_RUN_PANEL_ID, PER_DATASET
from provisioning.settings import Settings, duration_seconds

DRIFT_RULE_UID = "drift-p-value"
STALE_RULE_UID = "drift-stale"
MONITOR_DOWN_RULE_UID = "drift-monitor-down"
# The same rules as Prometheus alerts (provision.py export --target prometheus).
PROMETHEUS_ALERT_NAMES = {
    DRIFT_RULE_UID: "DataDriftDetected",
    STALE_RULE_UID: "DriftRunStale",
    MONITOR_DOWN_RULE_UID: "DriftMonitorDown",
}
EXPRESSION = {"type": "__expr__", "uid": "__expr__"}
QUERY_WINDOW_SECONDS = 600
EVALUATORS = {"<": "lt", ">": "gt"}


@dataclass(frozen=True)
class Comparison:
    """``left operator right``, per series of ``left``, with ``right`` the value its dataset
    published (``per_dataset``) or a constant. Grafana's rule thresholds the sign of
    ``left - right`` at 0, which IEEE arithmetic gets exactly right (a ratio compared with 1
    would not); Prometheus compares directly, and its $value is then ``left``'s value."""

    value_ref: str  # the refId under which the Grafana rule holds ``left``'s value
    left: str
    operator: Literal["<", ">"]
    right: str
    per_dataset: bool = True

    @property
    def _right(self) -> str:
        return f"{PER_DATASET} {self.right}" if self.per_dataset else self.right

    @property
    def difference(self) -> str:
        return f"{self.left} - {self._right}"

    @property
    def promql(self) -> str:
        return f"{self.left} {self.operator} {self._right}"


DRIFT = Comparison("p_value", names.P_VALUE_ADJUSTED, "<", names.DATASET_ALPHA)
# PromQL's "-" binds before ">" and from the left: "time() - last - on(...) limit" is
# "(time() - last) - on(...) limit".
STALE = Comparison(
    "since_last_run", f"time() - {names.LAST_RUN_TIMESTAMP}", ">", names.DATASET_STALE_AFTER
)
# Prometheus's own series for its scrape of the monitor: 1 when the last scrape worked.
MONITOR_DOWN = Comparison("up", f'up{{job="{names.MONITOR_JOB}"}}', "<", "1", per_dataset=False)
CONDITIONS = {DRIFT_RULE_UID: DRIFT, STALE_RULE_UID: STALE, MONITOR_DOWN_RULE_UID: MONITOR_DOWN}


def build_rule_group(settings: Settings) -> dict[str, Any]:
    """The AlertRuleGroup body for PUT /folder/{uid}/rule-groups/{group}."""
    return {
        "title": settings.alerting.group,
        "folderUid": settings.folder.uid,
        "interval": int(duration_seconds(settings.alerting.interval)),
        "rules": [drift_rule(settings), stale_rule(settings), monitor_down_rule(settings)],
    }


def drift_rule(settings: Settings) -> dict[str, Any]:
    return _rule(
        settings,
        uid=DRIFT_RULE_UID,
        title="Data drift: adjusted p-value below alpha",
        data=[
            *_value(settings, DRIFT.value_ref, DRIFT.left),
            *_value(settings, "effect_size", names.EFFECT_SIZE),  # for the message
            *_condition(settings, DRIFT, "p_minus_alpha", "drifted"),
        ],
        condition="drifted",
        labels={names.ALERT_LABEL: names.ALERT_LABEL_VALUE},
        annotations={
            "summary": "Drift in {{ $labels.dataset }} / {{ $labels.feature }}",
            "description": "The adjusted p-value of the feature is below the alpha of its run "
            "(set in the drift config).",
            "p_value": '{{ printf "%.3g" $values.p_value.Value }}',
            "effect_size": '{{ with $values.effect_size }}{{ printf "%.3g" .Value }}{{ end }}',
            "dashboard_url": _dashboard_url(settings),
            "__dashboardUid__": settings.dashboard.uid,
            "__panelId__": str(ADJUSTED_P_VALUE_PANEL_ID),
        },
        # No series means no run yet, not drift.
        no_data_state="OK",
    )


def stale_rule(settings: Settings) -> dict[str, Any]:
    return _rule(
        settings,
        uid=STALE_RULE_UID,
        title="Data drift: scheduled run overdue",
        data=[
            *_value(settings, STALE.value_ref, STALE.left),
            *_condition(settings, STALE, "overdue", "stale"),
        ],
        condition="stale",
        labels={names.STALE_LABEL: names.ALERT_LABEL_VALUE},
        annotations={
            "summary": "No drift run for {{ $labels.dataset }} in "
            "{{ humanizeDuration $values.since_last_run.Value }}, longer than its schedule "
            "allows",
            "dashboard_url": _dashboard_url(settings),
            "__dashboardUid__": settings.dashboard.uid,
            "__panelId__": str(LAST_RUN_PANEL_ID),
        },
        # No series: no dataset runs on a schedule (or none has run yet), so none is overdue
        # and nobody is paged. A failing Prometheus or data source is not "no data": the
        # query fails and execErrState "Error" still pages (DatasourceError, with this
        # rule's labels, so the same route).
        no_data_state="OK",
    )


def monitor_down_rule(settings: Settings) -> dict[str, Any]:
    return _rule(
        settings,
        uid=MONITOR_DOWN_RULE_UID,
        title="Data drift: the monitor does not answer Prometheus",
        data=[
            *_value(settings, MONITOR_DOWN.value_ref, MONITOR_DOWN.left),
            *_condition(settings, MONITOR_DOWN, "up_minus_one", "down"),
        ],
        condition="down",
        labels={names.MONITOR_DOWN_LABEL: names.ALERT_LABEL_VALUE},
        annotations={
            "summary": "The drift monitor{{ with $labels.instance }} at {{ . }}{{ end }} does "
            "not answer Prometheus: no drift or staleness alert can fire",
            "description": f"Prometheus's scrape of its job {names.MONITOR_JOB} fails (the "
            "monitor stopped, unreachable, or /metrics failing). Without the monitor's series "
            "the drift and staleness rules see no data.",
            # No panel shows the monitor's up series: the dashboard, not a panel.
            "dashboard_url": _dashboard_url(settings, per_dataset=False),
        },
        # No `up` series for the job at all: Prometheus does not scrape the monitor (its job
        # renamed or removed), a misconfiguration that hides every run as surely as a down
        # monitor: "NoData" pages (DatasourceNoData, with this rule's labels, so the same
        # route). A failing Prometheus is execErrState "Error", which pages too.
        no_data_state="NoData",
    )


def _rule(
    settings: Settings,
    *,
    uid: str,
    title: str,
    data: list[dict[str, Any]],
    condition: str,
    labels: dict[str, str],
    annotations: dict[str, str],
    no_data_state: str,
) -> dict[str, Any]:
    return {
        "uid": uid,
        "orgID": settings.grafana.org_id,
        "folderUID": settings.folder.uid,
        "ruleGroup": settings.alerting.group,
        "title": title,
        "condition": condition,
        "data": data,
        "noDataState": no_data_state,
        "execErrState": "Error",
        "for": settings.alerting.pending_period,
        "labels": labels,
        "annotations": annotations,
        "isPaused": False,
    }


def _value(settings: Settings, name: str, expr: str) -> list[dict[str, Any]]:
    """A query and its last value under ``name``: $values holds expressions only."""
    return [_query(settings, f"{name}_query", expr), _reduce(name, f"{name}_query")]


def _condition(
    settings: Settings, comparison: Comparison, name: str, condition: str
) -> list[dict[str, Any]]:
    """``left - right`` as ``name``, and ``condition``: its sign, as the comparison wants."""
    evaluator = EVALUATORS[comparison.operator]
    return [*_value(settings, name, comparison.difference), _threshold(condition, name, evaluator)]


def _query(settings: Settings, ref_id: str, expr: str) -> dict[str, Any]:
    datasource = {"type": "prometheus", "uid": settings.prometheus.datasource_uid}
    return {
        "refId": ref_id,
        "queryType": "",
        "relativeTimeRange": {"from": QUERY_WINDOW_SECONDS, "to": 0},  # seconds (API-NOTES)
        "datasourceUid": settings.prometheus.datasource_uid,
        "model": {
            "refId": ref_id,
            "expr": expr,
            "instant": True,
            "range": False,
            "datasource": datasource,
            "intervalMs": 1000,
            "maxDataPoints": 43200,
        },
    }


def _expression(ref_id: str, model: dict[str, Any]) -> dict[str, Any]:
    return {
        "refId": ref_id,
        "queryType": "",
        "relativeTimeRange": {"from": 0, "to": 0},
        "datasourceUid": EXPRESSION["uid"],
        "model": {"refId": ref_id, "datasource": EXPRESSION, **model},
    }


def _reduce(ref_id: str, source: str) -> dict[str, Any]:
    # Mode "" is what the UI calls "Strict"; grafanalib's "strict" is refused (API-NOTES).
    model = {"type": "reduce", "expression": source, "reducer": "last", "settings": {"mode": ""}}
    return _expression(ref_id, model)


def _threshold(ref_id: str, source: str, evaluator: str) -> dict[str, Any]:
    condition = {"evaluator": {"type": evaluator, "params": [0]}}  # the sign of a difference
    model = {"type": "threshold", "expression": source, "conditions": [condition]}
    return _expression(ref_id, model)


def _dashboard_url(settings: Settings, per_dataset: bool = True) -> str:
    """The dashboard, showing the alert's dataset when it has one."""
    url = f"{settings.grafana.public_url.rstrip('/')}/d/{settings.dashboard.uid}"
    return f"{url}?var-dataset={{{{ $labels.dataset }}}}" if per_dataset else url
