"""The course's "Test" button on the contact point, as code: Grafana sends a test alert
through the Telegram integration with the token and chat id being provisioned."""

from __future__ import annotations

from typing import Any

import names
from provisioning.client import GrafanaClient, GrafanaError
from provisioning.resources import ContactPoint, Resource

TEST_PATH = "/api/alertmanager/grafana/config/api/v1/receivers/test"


def send_test_notification(client: GrafanaClient, resources: list[Resource]) -> None:
    contact_point = next(r for r in resources if isinstance(r, ContactPoint))
    body = contact_point.body
    secure = {key: body["settings"][key] for key in contact_point.secret_keys}
    settings = {k: v for k, v in body["settings"].items() if k not in secure}
    request = {
        "receivers": [
            {
                "name": body["name"],
                "grafana_managed_receiver_configs": [
                    {
                        "uid": body["uid"],
                        "name": body["name"],
                        "type": body["type"],
                        "disableResolveMessage": body["disableResolveMessage"],
                        "settings": settings,
                        "secureSettings": secure,
                    }
                ],
            }
        ],
        "alert": {
            "labels": {
                "alertname": "Test notification from provision.py",
                "dataset": "test",
                "feature": "test",
                names.ALERT_LABEL: names.ALERT_LABEL_VALUE,
            },
            "annotations": {"summary": "If you can read this, drift alerts reach this chat."},
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
