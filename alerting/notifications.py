"""Where the drift platform's alerts go: a Telegram contact point, its message template,
and the routes that send drift, stale-pipeline and monitor-down alerts to it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import names
from provisioning.model import (
    ContactPoint,
    Definition,
    Env,
    Route,
    Telegram,
    Template,
    Values,
)

TEMPLATE_FILE = Path(__file__).resolve().parent / "telegram.tmpl"
TEMPLATE_GROUP = "drift"
# The messages that telegram.tmpl defines, and the parse mode each is written for.
MESSAGE_PARSE_MODES = {"drift.telegram": "HTML", "drift.telegram.text": "None"}
BOT_TOKEN = Env("TELEGRAM_BOT_TOKEN")
CHAT_ID = Env("TELEGRAM_CHAT_ID")
ROUTED_LABELS = (names.ALERT_LABEL, names.STALE_LABEL, names.MONITOR_DOWN_LABEL)


def template() -> Template:
    return Template.from_file(TEMPLATE_GROUP, TEMPLATE_FILE)


def contact_point(values: Values) -> ContactPoint:
    telegram = values.section("telegram")
    message = telegram.text("message_template")
    return ContactPoint(
        telegram.text("contact_point"),
        [
            Telegram(
                bot_token=BOT_TOKEN,
                # A chat per environment can be set in its overlay (environments/*.yaml).
                chat_id=telegram.text("chat_id") if "chat_id" in telegram else CHAT_ID,
                parse_mode=telegram.text("parse_mode"),  # type: ignore[arg-type]
                disable_notifications=telegram.flag("disable_notifications"),
                disable_web_page_preview=True,
                message=f'{{{{ template "{message}" . }}}}',
            )
        ],
    )


def routes(values: Values, receiver: ContactPoint) -> list[Route]:
    """One route per alert label, each to ``receiver``, grouped and timed as set."""
    policy = values.section("policy")
    return [
        Route(
            receiver=receiver,
            matchers={label: names.ALERT_LABEL_VALUE},
            group_by=policy.texts("group_by"),
            group_wait=policy.text("group_wait"),
            group_interval=policy.text("group_interval"),
            repeat_interval=policy.text("repeat_interval"),
        )
        for label in ROUTED_LABELS
    ]


def define(values: Values) -> list[Definition]:
    telegram = contact_point(values)
    return [template(), telegram, *routes(values, telegram)]


def check(definitions: Sequence[Definition]) -> list[str]:
    """Each Telegram message is written for one parse mode: a message used with another
    would show its markup, or fail to send."""
    problems = []
    for point in (d for d in definitions if isinstance(d, ContactPoint)):
        for integration in point.integrations:
            if not isinstance(integration, Telegram) or not integration.message:
                continue
            for name in re.findall(r'template\s+"([^"]+)"', integration.message):
                wanted = MESSAGE_PARSE_MODES.get(name)
                if wanted and wanted != (integration.parse_mode or "None"):
                    problems.append(
                        f"contact point {point.name}: message {name!r} is written for "
                        f"parse_mode {wanted}, not {integration.parse_mode}"
                    )
    return problems
