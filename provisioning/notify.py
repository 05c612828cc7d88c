"""The course's "Test" button on a contact point, as code: Grafana sends a test alert
through each integration of the contact point, with the settings and secrets being
provisioned."""

from __future__ import annotations

from typing import Any

from provisioning.client import GrafanaClient, GrafanaError
from provisioning.kinds import Wanted

TEST_PATH = "/api/alertmanager/grafana/config/api/v1/receivers/test"


def send_test_notification(
    client: GrafanaClient, integrations: list[Wanted], labels: dict[str, str]
) -> None:
    """``integrations``: one contact point's, as planned (secrets resolved); the test alert
    carries ``labels``."""
    name = integrations[0].body["name"]
    configs = []
    for integration in integrations:
        body = integration.body
        secure = {k: v for k, v in body["settings"].items() if k in integration.secret}
        settings = {k: v for k, v in body["settings"].items() if k not in secure}
        configs.append(
            {
                "uid": body["uid"],
                "name": name,
                "type": body["type"],
                "disableResolveMessage": body["disableResolveMessage"],
                "settings": settings,
                "secureSettings": secure,
            }
        )
    request = {
        "receivers": [{"name": name, "grafana_managed_receiver_configs": configs}],
        "alert": {
            "labels": {"alertname": "Test notification from provision.py", **labels},
            "annotations": {"summary": "If you can read this, alerts reach this contact point."},
        },
    }
    answer = client.request("POST", TEST_PATH, json=request, repeatable=False) or {}
    failed = _failures(answer)
    if failed:
        raise GrafanaError(f"the test notification failed: {'; '.join(failed)}")


def _failures(answer: dict[str, Any]) -> list[str]:
    return [
        f"{config.get('name')}: {config.get('error') or config.get('status')}"
        for receiver in answer.get("receivers") or []
        for config in receiver.get("grafana_managed_receiver_configs") or []
        if config.get("status") != "ok" or config.get("error")
    ]
