"""Where alerts go: the Telegram contact point, its message template, and the routes of the
notification policy tree that this toolkit manages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from drift import names
from provisioning.settings import Secrets, Settings

CONTACT_POINT_UID = "drift-telegram"
TEMPLATE_FILE = Path(__file__).resolve().parent / "telegram.tmpl"
# The messages that telegram.tmpl defines, and the parse mode each is written for.
TEMPLATE_GROUP = "drift"
MESSAGE_PARSE_MODES = {"drift.telegram": "HTML", "drift.telegram.text": "None"}


def build_template(settings: Settings) -> dict[str, Any]:
    """The template group for PUT /templates/{name}: the file, which defines the messages."""
    return {"name": TEMPLATE_GROUP, "template": TEMPLATE_FILE.read_text()}


def build_contact_point(settings: Settings, secrets: Secrets) -> dict[str, Any]:
    """The EmbeddedContactPoint; the bot token and chat id come from the environment."""
    telegram = settings.telegram
    return {
        "uid": CONTACT_POINT_UID,
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
    """Nested routes: drift alerts and stale-pipeline alerts go to the Telegram contact point.
    They are merged into the existing policy tree; routes that others made stay."""
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
        for label in (names.ALERT_LABEL, names.STALE_LABEL)
    ]
