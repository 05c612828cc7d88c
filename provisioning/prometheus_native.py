"""The same alerts for Prometheus-native alerting: a Prometheus rule file derived from the
Grafana rule group (same comparisons, pending periods, labels, annotations) and an
Alertmanager configuration that routes them to Telegram, using the same message template."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

import names
from provisioning.files import write_files
from provisioning.settings import SettingsError

TELEGRAM_API_URL = "https://api.telegram.org"
# Grafana's annotations read query results as $values.<refId>; Prometheus has $value for the
# alert's own expression, and a query for anything else (the effect size).
EFFECT_SIZE_TEMPLATE = (
    f'{{{{ with printf "{names.EFFECT_SIZE}{{dataset=%q,feature=%q}}" $labels.dataset '
    '$labels.feature | query }}{{ . | first | value | printf "%.3g" }}{{ end }}'
)


def rule_file(group: dict[str, Any]) -> dict[str, Any]:
    """The Prometheus rule file for the Grafana rule group."""
    return {
        "groups": [
            {
                "name": group["title"],
                "interval": f"{group['interval']}s",
                "rules": [alerting_rule(rule) for rule in group["rules"]],
            }
        ]
    }


def alerting_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """The Grafana rule's comparison, made directly: its $value is the compared value (the
    p-value, the time since the last run, up), which Grafana's rule holds as $values.<ref>."""
    comparison = CONDITIONS[rule["uid"]]
    value = re.compile(rf"\$values\.{comparison.value_ref}\.Value")
    annotations = {
        key: EFFECT_SIZE_TEMPLATE if key == "effect_size" else value.sub("$value", text)
        for key, text in rule["annotations"].items()
        if not key.startswith("__")  # Grafana's links to a dashboard panel
    }
    return {
        "alert": PROMETHEUS_ALERT_NAMES[rule["uid"]],
        "expr": comparison.promql,
        "for": rule["for"],
        "labels": dict(rule["labels"]),
        "annotations": annotations,
    }


def alertmanager_config(
    settings: Settings, secrets: Secrets, api_url: str = TELEGRAM_API_URL
) -> dict[str, Any]:
    """Alertmanager 0.25+: the managed routes to a Telegram receiver. The token is written
    in clear (0.25 has no bot_token_file): the file is generated, never committed."""
    chat_id = secrets.telegram_chat_id or ""
    if not re.fullmatch(r"-?\d+", chat_id) or not secrets.telegram_bot_token:
        raise SettingsError("TELEGRAM_BOT_TOKEN and a whole-number TELEGRAM_CHAT_ID are needed")
    telegram = settings.telegram
    # Prometheus alerts carry no grafana_folder label.
    group_by = [label for label in settings.policy.group_by if label != "grafana_folder"]
    routes = [
        {
            "receiver": route["receiver"],
            "matchers": [f'{name}{op}"{value}"' for name, op, value in route["object_matchers"]],
            "group_by": group_by,
            "group_wait": route["group_wait"],
            "group_interval": route["group_interval"],
            "repeat_interval": route["repeat_interval"],
            "continue": route["continue"],
        }
        for route in managed_routes(settings)
    ]
    return {
        "templates": [TEMPLATE_FILE.name],  # next to this file
        "route": {"receiver": "null", "group_by": group_by, "routes": routes},
        "receivers": [
            {"name": "null"},
            {
                "name": telegram.contact_point,
                "telegram_configs": [
                    {
                        "api_url": api_url,
                        "bot_token": secrets.telegram_bot_token,
                        "chat_id": int(chat_id),  # an integer, or Alertmanager refuses it
                        "parse_mode": "" if telegram.parse_mode == "None" else telegram.parse_mode,
                        "disable_notifications": telegram.disable_notifications,
                        "message": f'{{{{ template "{telegram.message_template}" . }}}}',
                        "send_resolved": True,
                    }
                ],
            },
        ],
    }


def export_prometheus(
    group: dict[str, Any], settings: Settings, secrets: Secrets, directory: Path, api_url: str
) -> list[Path]:
    """rules.yml, alertmanager.yml (which holds the bot token: created 0600) and the
    message template."""
    files = {
        "rules.yml": rule_file(group),
        "alertmanager.yml": alertmanager_config(settings, secrets, api_url),
    }
    texts = {
        name: yaml.safe_dump(content, sort_keys=False, allow_unicode=True)
        for name, content in files.items()
    }
    texts[TEMPLATE_FILE.name] = TEMPLATE_FILE.read_text()
    return write_files(directory, texts, private=frozenset({"alertmanager.yml"}))
