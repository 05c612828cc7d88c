"""Where alerts go: the Telegram contact point, its message template, and the routes of the
notification policy tree that this toolkit manages."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import names
from provisioning.settings import Secrets, Settings

CONTACT_POINT_UID_PREFIX = "drift-telegram"
TEMPLATE_FILE = Path(__file__).resolve().parent / "telegram.tmpl"
# The messages that telegram.tmpl defines, and the parse mode each is written for.
TEMPLATE_GROUP = "drift"
MESSAGE_PARSE_MODES = {"drift.telegram": "HTML", "drift.telegram.text": "None"}


def build_template(settings: Settings) -> dict[str, Any]:
    """The template group for PUT /templates/{name}: the file, which defines the messages."""
    return {"name": TEMPLATE_GROUP, "template": TEMPLATE_FILE.read_text()}


def contact_point_uid(bot_token: str) -> str:
    """The integration's uid, ending in a fingerprint of the bot token: Grafana never shows
    the token again ("[REDACTED]"), so the uid is what tells that it changed. Twelve hex
    digits of a salted SHA-256 tell nothing usable about the token."""
    digest = hashlib.sha256(f"{CONTACT_POINT_UID_PREFIX}:{bot_token}".encode()).hexdigest()
    return f"{CONTACT_POINT_UID_PREFIX}-{digest[:12]}"


def build_contact_point(settings: Settings, secrets: Secrets) -> dict[str, Any]:
    """The EmbeddedContactPoint; the bot token and chat id come from the environment."""
    telegram = settings.telegram
    return {
        "uid": contact_point_uid(secrets.telegram_bot_token or ""),
        "name": telegram.contact_point,
        "type": "telegram",
        "disableResolveMessage": False,
        "settings": {
            "bottoken": secrets.telegram_bot_token or "",
            "chatid": secrets.telegram_chat_id or "",
            "parse_mode": telegram.parse_mode,
            "disable_notifications": telegram.disable_notifications,  # plural (API-NOTES §0.7)
            "disable_web_page_preview": True,
            "message": f'{{{{ template "{telegram.message_template}" . }}}}',
        },
    }


def managed_routes(settings: Settings) -> list[dict[str, Any]]:
    """Nested routes: drift, stale-pipeline and monitor-down alerts go to the Telegram contact
    point. They are merged into the existing policy tree; routes that others made stay."""
    policy = settings.policy
    return [
        {
            "receiver": settings.telegram.contact_point,
            "object_matchers": [[label, "=", names.ALERT_LABEL_VALUE]],
            "group_by": list(policy.group_by),
            "group_wait": policy.group_wait,
            "group_interval": policy.group_interval,
            "repeat_interval": policy.repeat_interval,
            "continue": False,
        }
        for label in (names.ALERT_LABEL, names.STALE_LABEL, names.MONITOR_DOWN_LABEL)
    ]
