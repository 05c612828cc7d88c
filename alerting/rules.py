"""The rule group: the drift rule (per feature, p-value below alpha) and the staleness rule
(no drift run for too long). Built as Grafana's provisioning API takes them (API-NOTES
§5.3-5.4); grafanalib's alert classes emit the older Ruler format, so they are not used."""

from __future__ import annotations

from typing import Any

from dashboards.drift import LAST_RUN_PANEL_ID, alert_panel_id
from drift import names
from provisioning.settings import Settings, duration_seconds

DRIFT_RULE_UID = "drift-p-value"
STALE_RULE_UID = "drift-stale"
# The same rules as Prometheus alerts (provision.py export --target prometheus).
PROMETHEUS_ALERT_NAMES = {DRIFT_RULE_UID: "DataDriftDetected", STALE_RULE_UID: "DriftRunStale"}
EXPRESSION = {"type": "__expr__", "uid": "__expr__"}
QUERY_WINDOW_SECONDS = 600


def build_rule_group(settings: Settings) -> dict[str, Any]:
    """The AlertRuleGroup body for PUT /folder/{uid}/rule-groups/{group}."""
    return {
        "title": settings.alerting.group,
        "folderUid": settings.folder.uid,
        "interval": int(duration_seconds(settings.alerting.interval)),
        "rules": [drift_rule(settings), stale_rule(settings)],
    }


def p_value_metric(settings: Settings) -> str:
    return names.P_VALUE_ADJUSTED if settings.alerting.use_adjusted_p_value else names.P_VALUE


def drift_rule(settings: Settings) -> dict[str, Any]:
    alpha = settings.alerting.alpha
    which = "adjusted p-value" if settings.alerting.use_adjusted_p_value else "p-value"
    return _rule(
        settings,
        uid=DRIFT_RULE_UID,
        title=f"Data drift: {which} below {alpha:g}",
        data=[
            _query(settings, "A", p_value_metric(settings)),
            _reduce("B", "A"),
            _threshold("C", "B", "lt", alpha),
            _query(settings, "D", names.EFFECT_SIZE),  # for the message, not the condition
            _reduce("E", "D"),
        ],
        labels={names.ALERT_LABEL: names.ALERT_LABEL_VALUE},
        annotations={
            "summary": "Drift in {{ $labels.dataset }} / {{ $labels.feature }}",
            "description": f"The {which} of the feature is below {alpha:g}.",
            "p_value": '{{ printf "%.3g" $values.B.Value }}',
            "effect_size": '{{ with $values.E }}{{ printf "%.3g" .Value }}{{ end }}',
            "dashboard_url": _dashboard_url(settings),
            "__dashboardUid__": settings.dashboard.uid,
            "__panelId__": str(alert_panel_id(settings.alerting.use_adjusted_p_value)),
        },
        # No series means no run yet, not drift: the staleness rule watches for that.
        no_data_state="OK",
    )


def stale_rule(settings: Settings) -> dict[str, Any]:
    stale_after = duration_seconds(settings.alerting.stale_after)
    return _rule(
        settings,
        uid=STALE_RULE_UID,
        title=f"Data drift: no run for {settings.alerting.stale_after}",
        data=[
            _query(settings, "A", f"time() - {names.LAST_RUN_TIMESTAMP}"),
            _reduce("B", "A"),
            _threshold("C", "B", "gt", stale_after),
        ],
        labels={names.STALE_LABEL: names.ALERT_LABEL_VALUE},
        annotations={
            "summary": "No drift run for {{ $labels.dataset }} in "
            f"{settings.alerting.stale_after}",
            "dashboard_url": _dashboard_url(settings),
            "__dashboardUid__": settings.dashboard.uid,
            "__panelId__": str(LAST_RUN_PANEL_ID),
        },
        no_data_state="NoData",  # no series at all: the monitor or Prometheus is down
    )


def _rule(
    settings: Settings,
    *,
    uid: str,
    title: str,
    data: list[dict[str, Any]],
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
        "condition": "C",
        "data": data,
        "noDataState": no_data_state,
        "execErrState": "Error",
        "for": settings.alerting.pending_period,
        "labels": labels,
        "annotations": annotations,
        "isPaused": False,
    }


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


def _threshold(ref_id: str, source: str, evaluator: str, value: float) -> dict[str, Any]:
    condition = {"evaluator": {"type": evaluator, "params": [value]}}
    model = {"type": "threshold", "expression": source, "conditions": [condition]}
    return _expression(ref_id, model)


def _dashboard_url(settings: Settings) -> str:
    base = settings.grafana.public_url.rstrip("/")
    return f"{base}/d/{settings.dashboard.uid}?var-dataset={{{{ $labels.dataset }}}}"
