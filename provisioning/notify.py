"""The course's "Test" button on a contact point, as code: Grafana sends a test alert
through each integration of the contact point, with the settings and secrets being
provisioned."""

from __future__ import annotations

from typing import Any

from provisioning.client import GrafanaClient, GrafanaError
from provisioning.kinds import Wanted
from provisioning.server import NOTIFICATIONS, Server

TEST_PATH = "/api/alertmanager/grafana/config/api/v1/receivers/test"
NEW_RECEIVER = "-"  # the receiver name that tests one not stored (newReceiverNamePlaceholder)


def send_test_notification(
    client: GrafanaClient,
    server: Server,
    namespace: str,
    integrations: list[Wanted],
    labels: dict[str, str],
) -> None:
    """``integrations``: one contact point's, as planned (secrets resolved); the test alert
    carries ``labels``. Grafana 13 removed the Alertmanager endpoint (410 Gone) for the
    receivers' ``test`` subresource (apps/NOTES.md §c): that one where it is served."""
    alert = {
        "labels": {"alertname": "Test notification from provision.py", **labels},
        "annotations": {"summary": "If you can read this, alerts reach this contact point."},
    }
    version = server.served(NOTIFICATIONS, "beta")
    failed = (
        _through_receivers(client, f"{NOTIFICATIONS}/{version}", namespace, integrations, alert)
        if version
        else _through_alertmanager(client, integrations, alert)
    )
    if failed:
        raise GrafanaError(f"the test notification failed: {'; '.join(failed)}")


def _config(integration: Wanted) -> dict[str, Any]:
    """The integration as a new one (no uid): Grafana then tests exactly these settings and
    secrets, applied or not; a uid would make it look the integration up (unknown before the
    first apply, or after a rotated secret changed its fingerprint)."""
    body = integration.body
    return {
        "type": body["type"],
        "disableResolveMessage": body["disableResolveMessage"],
        "settings": body["settings"],
    }


def _through_receivers(
    client: GrafanaClient,
    api: str,
    namespace: str,
    integrations: list[Wanted],
    alert: dict[str, Any],
) -> list[str]:
    """One test per integration, sent with its whole configuration (secrets in its settings),
    as the UI tests a contact point not saved yet: through the new-receiver placeholder."""
    path = f"/apis/{api}/namespaces/{namespace}/receivers/{NEW_RECEIVER}/test"
    failed = []
    for integration in integrations:
        request = {"integration": _config(integration), "alert": alert}
        answer = client.request("POST", path, json=request, repeatable=False) or {}
        if answer.get("status") != "success":
            failed.append(f"{integration.body['type']}: {answer.get('error') or answer}")
    return failed


def _through_alertmanager(
    client: GrafanaClient, integrations: list[Wanted], alert: dict[str, Any]
) -> list[str]:
    name = integrations[0].body["name"]
    configs = []
    for integration in integrations:
        config = _config(integration) | {"name": name}
        secure = {k: v for k, v in config["settings"].items() if k in integration.secret}
        config["settings"] = {k: v for k, v in config["settings"].items() if k not in secure}
        configs.append(config | {"secureSettings": secure})
    request = {
        "receivers": [{"name": name, "grafana_managed_receiver_configs": configs}],
        "alert": alert,
    }
    answer = client.request("POST", TEST_PATH, json=request, repeatable=False) or {}
    return _failures(answer, [i.body["type"] for i in integrations])


def _failures(answer: dict[str, Any], types: list[str]) -> list[str]:
    """Each failed integration, named by its type: Grafana answers them in the order sent,
    each under the contact point's name."""
    configs = [
        config
        for receiver in answer.get("receivers") or []
        for config in receiver.get("grafana_managed_receiver_configs") or []
    ]
    return [
        f"{types[n] if n < len(types) else config.get('name')}: "
        f"{config.get('error') or config.get('status')}"
        for n, config in enumerate(configs)
        if config.get("status") != "ok" or config.get("error")
    ]
