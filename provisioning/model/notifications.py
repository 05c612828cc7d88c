"""Where alerts go: message templates, contact points and their integrations, notification
routes and mute timings, as plain objects (API-NOTES §5.1-5.2)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, get_args

from provisioning.errors import DefinitionError
from provisioning.model.checks import of_type, one_of
from provisioning.model.values import Env

Text = str | Env  # a setting written in the definition, or read from the environment


@dataclass(frozen=True)
class Template:
    """A group of Go templates (``{{ define "name" }}...{{ end }}``) that messages use."""

    name: str
    text: str

    @classmethod
    def from_file(cls, name: str, path: Path) -> Template:
        try:
            return cls(name, path.read_text())
        except OSError as exc:
            raise DefinitionError(f"template {name}: cannot read {path} ({exc.strerror})") from None


@dataclass(frozen=True, kw_only=True)
class Integration:
    """One way a contact point delivers. Each type knows the settings Grafana requires and
    the ones it keeps secret; a secret must be an ``Env``. ``Other`` passes any type."""

    type: ClassVar[str]
    required: ClassVar[tuple[str, ...]] = ()
    secret: ClassVar[tuple[str, ...]] = ()
    disable_resolve_message: bool = False

    def settings(self) -> dict[str, Any]:
        """The integration's settings as Grafana names them (unset ones left out)."""
        raise NotImplementedError

    @property
    def kind(self) -> str:
        return self.type


def _set(**settings: Any) -> dict[str, Any]:
    return {key: value for key, value in settings.items() if value is not None}


@dataclass(frozen=True, kw_only=True)
class Telegram(Integration):
    type: ClassVar[str] = "telegram"
    required: ClassVar[tuple[str, ...]] = ("bottoken", "chatid")
    secret: ClassVar[tuple[str, ...]] = ("bottoken",)
    bot_token: Env
    chat_id: Text
    message: str | None = None
    parse_mode: Literal["HTML", "Markdown", "MarkdownV2", "None"] | None = None
    # None: left out, Grafana's default (off), as a contact point made in the UI has it.
    disable_notifications: bool | None = None
    disable_web_page_preview: bool | None = None
    message_thread_id: str | None = None

    def settings(self) -> dict[str, Any]:
        return _set(
            bottoken=self.bot_token,
            chatid=self.chat_id,
            message=self.message,
            parse_mode=self.parse_mode,
            disable_notifications=self.disable_notifications,  # plural (API-NOTES §0.7)
            disable_web_page_preview=self.disable_web_page_preview,
            message_thread_id=self.message_thread_id,
        )


@dataclass(frozen=True, kw_only=True)
class Slack(Integration):
    """An incoming-webhook ``url``, or a bot ``token`` with a ``recipient`` channel."""

    type: ClassVar[str] = "slack"
    secret: ClassVar[tuple[str, ...]] = ("url", "token")
    url: Env | None = None
    token: Env | None = None
    recipient: str | None = None
    title: str | None = None
    text: str | None = None
    username: str | None = None
    mention_channel: Literal["", "here", "channel"] | None = None

    def __post_init__(self) -> None:
        # Without a url Slack's chat API is used, which needs both (grafana/alerting
        # receivers/slack/config.go: "token/recipient must be specified when using the Slack
        # chat API").
        if self.url is None and (self.token is None or not self.recipient):
            raise DefinitionError(
                "Slack: give url (an incoming webhook), or token and recipient (the chat API)"
            )

    def settings(self) -> dict[str, Any]:
        return _set(
            url=self.url,
            token=self.token,
            recipient=self.recipient,
            title=self.title,
            text=self.text,
            username=self.username,
            mentionChannel=self.mention_channel,
        )


@dataclass(frozen=True, kw_only=True)
class Email(Integration):
    type: ClassVar[str] = "email"
    required: ClassVar[tuple[str, ...]] = ("addresses",)
    addresses: Sequence[str]
    single_email: bool | None = None  # None: left out, Grafana's default (one per address)
    subject: str | None = None
    message: str | None = None

    def __post_init__(self) -> None:
        # A str is a sequence too: joined, it would be one address per character.
        of_type("Email addresses", self.addresses, (list, tuple), 'a list such as ["a@x.com"]')

    def settings(self) -> dict[str, Any]:
        return _set(
            addresses=";".join(self.addresses),  # Grafana's separator
            singleEmail=self.single_email,
            subject=self.subject,
            message=self.message,
        )


@dataclass(frozen=True, kw_only=True)
class Webhook(Integration):
    type: ClassVar[str] = "webhook"
    required: ClassVar[tuple[str, ...]] = ("url",)
    secret: ClassVar[tuple[str, ...]] = ("password", "authorization_credentials")
    url: Text
    http_method: Literal["POST", "PUT"] = "POST"
    username: str | None = None
    password: Env | None = None
    authorization_scheme: str | None = None
    authorization_credentials: Env | None = None
    title: str | None = None
    message: str | None = None
    max_alerts: int | None = None

    def settings(self) -> dict[str, Any]:
        return _set(
            url=self.url,
            httpMethod=self.http_method,
            username=self.username,
            password=self.password,
            authorization_scheme=self.authorization_scheme,
            authorization_credentials=self.authorization_credentials,
            title=self.title,
            message=self.message,
            maxAlerts=self.max_alerts,
        )


@dataclass(frozen=True, kw_only=True)
class Other(Integration):
    """Any other integration type, with its settings as Grafana names them; ``secret_fields``
    names those Grafana keeps secret (give them as ``Env``). ``validate`` warns that the
    toolkit does not know the type's rules."""

    type: ClassVar[str] = ""
    integration_type: str
    values: Mapping[str, Any]
    secret_fields: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        return self.integration_type

    def settings(self) -> dict[str, Any]:
        return dict(self.values)


@dataclass(frozen=True)
class ContactPoint:
    """A named contact point: every integration in it receives each notification."""

    name: str
    integrations: Sequence[Integration]

    def __post_init__(self) -> None:
        object.__setattr__(self, "integrations", tuple(self.integrations))


Operator = Literal["=", "!=", "=~", "!~"]  # Alertmanager's (pkg/labels/matcher.go)


@dataclass(frozen=True)
class Matcher:
    label: str
    operator: Operator
    value: str

    def __post_init__(self) -> None:
        where = f"Matcher({self.label!r})"
        of_type(where, self.label, str, "a label name")
        one_of(f"{where} operator", self.operator, get_args(Operator))
        of_type(f"{where} value", self.value, str, "text")
        if self.operator in ("=~", "!~"):
            try:
                re.compile(self.value)
            except re.error as exc:
                raise DefinitionError(f"{where}: {self.value!r} is no regex ({exc})") from None

    def to_json(self) -> list[str]:
        return [self.label, self.operator, self.value]


@dataclass(frozen=True)
class TimeInterval:
    """When a mute timing holds: every given field must match (Alertmanager's semantics).
    ``times`` as ("22:00", "24:00"); ``weekdays`` as "monday" or "monday:friday"."""

    times: Sequence[tuple[str, str]] = ()
    weekdays: Sequence[str] = ()
    days_of_month: Sequence[str] = ()
    months: Sequence[str] = ()
    years: Sequence[str] = ()
    location: str | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if self.times:
            body["times"] = [{"start_time": start, "end_time": end} for start, end in self.times]
        for key in ("weekdays", "days_of_month", "months", "years"):
            if getattr(self, key):
                body[key] = list(getattr(self, key))
        if self.location:
            body["location"] = self.location
        return body


@dataclass(frozen=True)
class MuteTiming:
    name: str
    intervals: Sequence[TimeInterval]


Interval = MuteTiming | str  # a mute timing defined here, or the name of one in Grafana


@dataclass(frozen=True, kw_only=True)
class Route:
    """A notification route. Every route a stack defines sits in the stack's own branch of
    the policy tree, which only the stack's alerts enter; ``matchers`` select among them.
    Unset timings and grouping are inherited from the parent, as in Grafana."""

    receiver: ContactPoint | str | None = None
    matchers: Mapping[str, str] | Sequence[Matcher] = field(default_factory=dict)
    group_by: Sequence[str] | None = None
    group_wait: str | None = None
    group_interval: str | None = None
    repeat_interval: str | None = None
    continue_matching: bool = False
    mute_timings: Sequence[Interval] = ()
    active_timings: Sequence[Interval] = ()
    routes: Sequence[Route] = ()

    def __post_init__(self) -> None:
        where = f"Route(receiver={self.receiver_name!r})"
        if isinstance(self.matchers, Mapping):
            for label, value in self.matchers.items():
                of_type(f"{where} matcher {label!r}", value, str, "text")
        else:
            for matcher in self.matchers:
                of_type(f"{where} matchers", matcher, Matcher, "a Matcher(label, op, value)")
        for interval in (*self.mute_timings, *self.active_timings):
            of_type(f"{where} timings", interval, (MuteTiming, str), "a MuteTiming or its name")
        for child in self.routes:
            of_type(f"{where} routes", child, Route, "a Route")

    @property
    def matcher_list(self) -> list[Matcher]:
        if isinstance(self.matchers, Mapping):
            return [Matcher(label, "=", value) for label, value in self.matchers.items()]
        return list(self.matchers)

    @property
    def receiver_name(self) -> str | None:
        return self.receiver.name if isinstance(self.receiver, ContactPoint) else self.receiver
