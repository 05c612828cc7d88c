"""A fake Grafana (11.6, 12.4 or 13.2) for the tests of ``provision.py`` (tests only, never the
product).

Grafana cannot run on these machines, so this module serves the subset of its HTTP API that the
provisioning toolkit uses, on a real HTTP server on 127.0.0.1, with the semantics documented in
``/work/shared/reference/grafana/API-NOTES.md`` ("the notes"; ``§5.3`` = its section 5.3). Every
request body (POST/PUT/PATCH) is validated against Grafana's own OpenAPI spec
(``api-merged_grafana-11.4.0.json`` next to the notes, or ``$FAKE_GRAFANA_SPEC``) after patching
the spec errors listed in that folder's ``README.md`` (see ``_patch_spec``): a payload that real
Grafana would reject fails here too, and is kept in ``fake.spec_violations``. The 11.4 spec
validates the legacy bodies of every profile: of what the toolkit sends, the legacy request
schemas grew ``keep_firing_for`` and ``missingSeriesEvalsToResolve`` on rules (Grafana 12, which
the 12.4 and 13.2 profiles add; see ``_add_grafana_12_rule_fields``: the toolkit sends both, the
second when a rule sets it); the other 12.x additions found (rules'
``notification_settings.active_time_intervals``, webhook ``hmacConfig``) are not sent by the
toolkit and are dropped as 11.4 drops them.

Start and stop::

    with start_fake_grafana() as fake:          # or fake = start_fake_grafana(); fake.stop()
        requests.get(f"{fake.url}/api/health")  # 200 {"commit":"fake","database":"ok",...}

Options (``FakeGrafana(**options)``): ``user``/``password`` (basic-auth admin, admin/admin),
``tokens`` (``{token: FakeToken(permissions, org_id) | set of permissions}``, default
``{DEFAULT_TOKEN: all permissions}``), ``orgs`` (org ids, ``(1,)``), ``spec_path``,
``base_interval_seconds`` (10), ``recording_rules_enabled`` (False),
``telegram_valid_tokens`` (None = any bot token but "[REDACTED]" is delivered), ``version``
(the profile, below), ``features`` (feature toggles on; default ``$FAKE_GRAFANA_FEATURES``,
comma separated; ``fake.features``, a set). ``GET /api/frontend/settings`` shows the build
version and the toggles on (pkg/api/dtos/frontend_settings.go: ``buildInfo``,
``featureToggles``). ``alertingMultiplePolicies`` (13.x only, ``TOGGLES_SINCE``) serves named
policy trees (tests/fake_apps_notifications.py) and rules that select one with
``notification_settings: {"receiver": "", "policy": name}`` (PR #117628; the legacy spec gains
``policy`` on 13.x, 11.6/12.4 drop it as Go does, leaving a rule without a receiver).

For tests:

* ``fake.state`` (org 1) / ``fake.org_state(n)``: ``OrgState``, plain dicts (layout in its
  docstring) to read, or to edit like "someone in the UI" did; ``fake.ui_save_dashboard``,
  ``fake.ui_edit_rule(uid, **fields)`` (validated like the server, refuses locked rules).
* ``fake.seed_datasource / seed_folder / seed_dashboard / seed_contact_point / seed_route /
  seed_template / seed_mute_timing / seed_rule_group``: "foreign" objects (another team's),
  bypassing the API and the log.
* ``fake.requests``: ``RecordedRequest`` (unpacks as ``method, path, query, headers, body``;
  has ``.status``; the Authorization secret is redacted); ``fake.writes(prefix=None)``,
  ``fake.reads(prefix=None)``, ``fake.write_requests()``, ``fake.reset_log()``.
* ``fake.spec_violations`` (bodies refused by the spec or undecodable), ``fake.unknown_requests``
  (``(method, path)`` answered 404), ``fake.internal_errors`` (bugs of the fake): all should
  stay empty in a product test.
* ``fake.fail_next(n, status=500, paths=None, methods=None, retry_after=None, body=None)``.
* ``fake.sent_test_notifications``: what the receiver test endpoint "sent" (secrets resolved).
* ``fake.database_ok = False``: /api/health answers 503.

Version profiles (``FakeGrafana(version="13.2")``; default ``$FAKE_GRAFANA_VERSION``, else
"11.6"): ``PROFILES`` ("11.6", "12.4", "13.2") give the full version /api/health answers and the
API groups served under ``/apis`` (discovery: ``GET /apis``, ``/apis/<group>``,
``/apis/<group>/<version>/``; evidence next to ``PROFILES``). ``fake.version`` is the profile's
name, ``fake.profile`` the ``Profile``. On 13.x the deprecated provisioning endpoints answer with
``Warning``, ``X-API-Deprecation-Date`` and ``X-API-Replacement`` (``DEPRECATED_ENDPOINTS``) and
``POST /api/alertmanager/grafana/config/api/v1/receivers/test`` is 410 Gone.

App-platform resources live in their own modules (tests/fake_apps_notifications.py,
tests/fake_apps_dashboards.py), named in ``APP_MODULES`` by group version. When the profile
serves one, the fake imports the module and calls ``register(api, add, group, version)``:

* ``add(method, template, handler, *permissions)`` adds a route; ``{name}`` in the template
  matches one path segment; ``permissions`` are any-of, from ``ALL_PERMISSIONS`` (a token
  lacking them gets a Kubernetes 403 ``Status``); a handler takes a ``Ctx`` and returns a
  ``Reply`` (JSON body) or raises ``ApiError``.
* A ``{namespace}`` segment is resolved before the handler runs: ``ctx.namespace`` is it and
  ``ctx.org`` its ``OrgState`` (``default`` = org 1, ``org-N``; ``org_namespace(org_id)`` is the
  reverse); a bad namespace or an org the caller is not in is a 403 ``Status``.
* ``/apis`` bodies are not checked against the legacy spec: ``ctx.body`` is the parsed JSON
  (invalid JSON is a 400 ``Status``); the module validates and may call
  ``api.fake.record_violation(...)``.
* Errors: ``k8s_status(code, message, reason="", details=None)`` and ``k8s_not_found(group,
  resource, name)`` build Kubernetes ``Status`` bodies; a path no route serves is the
  apiserver's 404 ``Status``.
* ``api`` is the ``_Api`` (legacy handlers and normalisers, e.g. ``api.normalise_route``) and
  ``api.fake`` the ``FakeGrafana`` (``fake.profile``, ``fake.orgs``).

Deliberate choices (where the notes leave room): permissions are read/write pairs per area;
a service-account token ignores ``X-Grafana-Org-Id``; an unknown org is a 401; ``null`` on a
typed field is ignored like Go does, but every other spec constraint is enforced, including
``required`` fields Go would not check (``orgID``/``folderUID``/``ruleGroup`` of the rules in a
rule-group PUT).
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import importlib
import itertools
import json
import os
import re
import threading
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jsonschema
import requests
import yaml
from jsonschema.exceptions import ValidationError, best_match

GRAFANA_VERSION = "11.4.0"  # the release whose OpenAPI spec validates the legacy bodies
# shared/ lies next to the repository, here and in CI.
SHARED_SPEC = Path(__file__).resolve().parents[2] / "shared/reference/grafana"
DEFAULT_SPEC_PATH = Path(
    os.environ.get("FAKE_GRAFANA_SPEC", str(SHARED_SPEC / "api-merged_grafana-11.4.0.json"))
)
REDACTED = "[REDACTED]"  # definitions.RedactedValue (§0.3)
DEFAULT_RECEIVER = "grafana-default-email"
DEFAULT_RECEIVER_UID = "default-email"
DEFAULT_TREE = "user-defined"  # models.DefaultRoutingTreeName (the legacy policy tree)
ZERO_TIME = "0001-01-01T00:00:00Z"  # Go's zero time.Time, as echoed by the rule-group PUT
RECEIVERS_TEST_PATH = "/api/alertmanager/grafana/config/api/v1/receivers/test"

# RBAC actions checked by the fake (§1 "Permissions"). Grafana splits some of them further
# (datasources:create/delete, folders:create/delete); the fake only knows read/write.
PERM_DATASOURCES_READ = "datasources:read"
PERM_DATASOURCES_WRITE = "datasources:write"
PERM_FOLDERS_READ = "folders:read"
PERM_FOLDERS_WRITE = "folders:write"
PERM_DASHBOARDS_READ = "dashboards:read"
PERM_DASHBOARDS_WRITE = "dashboards:write"
PERM_PROVISIONING_READ = "alert.provisioning:read"
PERM_PROVISIONING_WRITE = "alert.provisioning:write"
PERM_PROVISIONING_SECRETS_READ = "alert.provisioning.secrets:read"
PERM_NOTIFICATIONS_WRITE = "alert.notifications:write"
ALL_PERMISSIONS: frozenset[str] = frozenset(
    {
        PERM_DATASOURCES_READ,
        PERM_DATASOURCES_WRITE,
        PERM_FOLDERS_READ,
        PERM_FOLDERS_WRITE,
        PERM_DASHBOARDS_READ,
        PERM_DASHBOARDS_WRITE,
        PERM_PROVISIONING_READ,
        PERM_PROVISIONING_WRITE,
        PERM_PROVISIONING_SECRETS_READ,
        PERM_NOTIFICATIONS_WRITE,
    }
)
# An org Admin service account minus the secrets permission: what a "provisioning writer" has.
PROVISIONING_WITHOUT_SECRETS: frozenset[str] = ALL_PERMISSIONS - {PERM_PROVISIONING_SECRETS_READ}
DEFAULT_TOKEN = "glsa_fake_admin_token"

# Secure settings per integration type: redacted on GET (§0.3), kept on "[REDACTED]" in a PUT;
# omitted from a PUT, a secret is gone (UpdateContactPoint restores only "[REDACTED]" values).
# Checked for 11.4 against Grafana's channels_config/available_channels.go (Secure: true) and
# grafana/alerting's receivers at its late-2024 commit be61d61f (decryptFn keys): telegram
# bottoken; slack url, token; webhook password, authorization_credentials (webhook's
# hmacConfig.secret only exists since grafana/alerting 2acbeef2, 2025-02, after 11.4); email
# none. The other rows are unverified.
SECRET_KEYS: dict[str, tuple[str, ...]] = {
    "telegram": ("bottoken",),
    "slack": ("url", "token"),
    "webhook": ("password", "authorization_credentials"),
    "discord": ("url",),
    "googlechat": ("url",),
    "pagerduty": ("integrationKey",),
    "opsgenie": ("apiKey",),
    "pushover": ("userKey", "apiToken"),
    "line": ("token",),
    "threema": ("api_secret",),
    "sensugo": ("apikey",),
    "wecom": ("url", "secret"),
    "dingding": ("url",),
    "kafka": ("password",),
    "alertmanager": ("basicAuthPassword",),
    "webex": ("bot_token",),
    "oncall": ("password", "authorization_credentials"),
    "mqtt": ("password",),
    "email": (),
    "teams": (),
    "victorops": (),
    "sns": (),
}

# models/alert_rule.go LabelsUserCannotSpecify: simplified routing's labels
# (models.AutogeneratedRouteLabel, ...ReceiverNameLabel, ...SettingsHashLabel).
RESERVED_RULE_LABELS = frozenset(
    {"__grafana_autogenerated__", "__grafana_receiver__", "__grafana_route_settings_hash__"}
)
SEARCH_LIMIT_MAX = 5000  # api/search.go: /api/search refuses a larger limit (422)
EXPRESSION_DATASOURCE_UIDS = frozenset({"__expr__", "-100"})  # §5.3 (legacy value "-100")
EXPRESSION_TYPES = frozenset({"math", "reduce", "resample", "classic_conditions", "threshold"})
REDUCERS = frozenset({"last", "mean", "min", "max", "sum", "count"})
REDUCE_MODES = frozenset({"", "dropNN", "replaceNN"})
THRESHOLD_ONE_PARAM = frozenset({"gt", "lt", "eq", "ne", "gte", "lte", "ge", "le"})
THRESHOLD_TWO_PARAMS = frozenset(
    {"within_range", "outside_range", "within_range_included", "outside_range_included"}
)
TELEGRAM_PARSE_MODES = frozenset({"markdown", "markdownv2", "html", "none"})
SLACK_API_URL = "https://slack.com/api/chat.postMessage"  # receivers/slack APIURL

_UID_RE = re.compile(r"^[a-zA-Z0-9\-_]*$")
_MATH_REF_RE = re.compile(r"\$\{?([A-Za-z0-9_]+)\}?")
_NO_BODY: Any = object()
_DATASOURCE_LIST_KEYS = (
    *("id", "orgId", "uid", "name", "type", "typeLogoUrl", "access", "url", "user"),
    *("database", "basicAuth", "isDefault", "jsonData", "readOnly"),
)


# --------------------------------------------------------------------------------------------
# OpenAPI spec: loading, patching, validation
# --------------------------------------------------------------------------------------------


def _patch_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """Patch the spec errors that README.md ("Known inaccuracies") lists, and the few more that
    building this fake ran into. Each patch says why."""
    defs = spec["definitions"]
    # EmbeddedContactPoint.type: the enum values carry a leading space (" telegram") but the
    # server expects "telegram". Drop the enum; the handler rejects unknown types itself.
    defs["EmbeddedContactPoint"]["properties"]["type"].pop("enum", None)
    # ProvisionedAlertRule.noDataState / execErrState: the enums omit KeepLast, which the server
    # accepts (§5.3).
    for key in ("noDataState", "execErrState"):
        enum = defs["ProvisionedAlertRule"]["properties"][key]["enum"]
        if "KeepLast" not in enum:
            enum.append("KeepLast")
    # ProvisionedAlertRule.uid / EmbeddedContactPoint.uid: minLength 1 and a "+" pattern, but
    # the handlers generate a uid when it is empty (§5.1, §5.3 "generated when empty").
    for name in ("ProvisionedAlertRule", "EmbeddedContactPoint"):
        uid = defs[name]["properties"]["uid"]
        uid.pop("minLength", None)
        uid["pattern"] = uid["pattern"].replace("]+$", "]*$")
    # RelativeTimeRange.from/to: documented as int64 nanoseconds, the wire format is seconds
    # (§5.3). Both are integers, so the schema needs no change; only the meaning differs.
    # Route.matchers: modelled as objects {Name, Type, Value}; on the wire Alertmanager matchers
    # are strings such as 'severity=~"warning|critical"' (README.md, §5.2).
    defs["Route"]["properties"]["matchers"] = {"type": "array", "items": {"type": "string"}}
    # MuteTimeInterval.time_intervals points at TimeInterval (a named list of itself); the items
    # really are TimeIntervalItem {times, weekdays, days_of_month, months, years, location}.
    defs["MuteTimeInterval"]["properties"]["time_intervals"]["items"] = {
        "$ref": "#/definitions/TimeIntervalItem"
    }
    # ... and it lacks the optimistic-concurrency "version" and the read-only "provenance" that
    # the 11.4 struct carries (§5.5), which Go-style decoding would otherwise drop.
    defs["MuteTimeInterval"]["properties"].update(
        version={"type": "string"}, provenance={"$ref": "#/definitions/Provenance"}
    )
    # The receiver test endpoint used by the UI "Test" button lives in Grafana's alerting API
    # spec, not in api-merged.json; its body type TestReceiversConfigBodyParams is in the
    # definitions, so register the path with that body.
    spec["paths"]["/alertmanager/grafana/config/api/v1/receivers/test"] = {
        "post": {
            "operationId": "RoutePostTestGrafanaReceivers",
            "parameters": [
                {
                    "name": "Body",
                    "in": "body",
                    "schema": {"$ref": "#/definitions/TestReceiversConfigBodyParams"},
                }
            ],
        }
    }
    return spec


def load_patched_spec(path: str | Path = DEFAULT_SPEC_PATH) -> dict[str, Any]:
    """Grafana's Swagger 2.0 document with the known errors patched (a fresh copy)."""
    return _patch_spec(json.loads(Path(path).read_text(encoding="utf-8")))


@dataclass(frozen=True)
class SpecOperation:
    """One (method, path template) of the spec, with its body schema if it takes one."""

    method: str
    template: str  # with the basePath, e.g. /api/datasources/uid/{uid}
    operation_id: str
    regex: re.Pattern[str]
    literal_segments: int
    body_schema: dict[str, Any] | None


class SpecValidator:
    """Finds the spec operation of a request and validates its body (Draft 4 + Swagger refs).

    Swagger-only keywords (``x-go-name``, ``readOnly``, ``example``) are ignored by jsonschema,
    and ``format`` (int64, duration, date-time) is not checked: the handlers parse what matters.
    """

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.definitions: dict[str, Any] = spec["definitions"]
        base = spec.get("basePath", "")
        operations: list[SpecOperation] = []
        for template, item in spec["paths"].items():
            for method, operation in item.items():
                if method == "parameters" or not isinstance(operation, dict):
                    continue
                body = next(
                    (p.get("schema") for p in operation.get("parameters", []) if p["in"] == "body"),
                    None,
                )
                full = base + template
                pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(full))
                literal = sum(1 for part in full.split("/") if part and "{" not in part)
                operations.append(
                    SpecOperation(
                        method.upper(),
                        full,
                        operation.get("operationId", ""),
                        re.compile(f"^{pattern}$"),
                        literal,
                        body,
                    )
                )
        self.operations = sorted(operations, key=lambda op: -op.literal_segments)
        self._validators: dict[str, jsonschema.Draft4Validator] = {}
        self._lock = threading.Lock()

    def find(self, method: str, path: str) -> SpecOperation | None:
        """The spec operation for a concrete path (most literal segments win)."""
        for operation in self.operations:
            if operation.method == method and operation.regex.match(path):
                return operation
        return None

    def errors(self, operation: SpecOperation, body: Any) -> list[ValidationError]:
        """All schema errors of a body, best match first."""
        if operation.body_schema is None:
            return []
        with self._lock:
            validator = self._validators.get(operation.template + operation.method)
            if validator is None:
                root = {"definitions": self.definitions, "allOf": [operation.body_schema]}
                validator = jsonschema.Draft4Validator(root)
                self._validators[operation.template + operation.method] = validator
        found = list(validator.iter_errors(body))
        if not found:
            return []
        best = best_match(found)
        return [best, *(e for e in found if e is not best)]

    def resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        while "$ref" in schema:
            schema = self.definitions[schema["$ref"].rsplit("/", 1)[1]]
        return schema

    def go_decode(self, schema: Mapping[str, Any] | None, value: Any) -> Any:
        """What Go's json.Unmarshal keeps of a value: properties unknown to the struct vanish,
        and so does ``null`` on a known property (Go leaves the field at its zero value)."""
        if schema is None:
            return value
        schema = self.resolve(schema)
        if "allOf" in schema:
            return value
        if isinstance(value, dict):
            props = schema.get("properties")
            extra = schema.get("additionalProperties")
            if props is None:
                if isinstance(extra, dict) and extra:
                    return {k: self.go_decode(extra, v) for k, v in value.items()}
                return value  # free-form JSON (Json, RawMessage, map[string]any)
            return {
                k: self.go_decode(props[k], v)
                for k, v in value.items()
                if k in props and v is not None
            }
        if isinstance(value, list) and isinstance(schema.get("items"), dict):
            return [self.go_decode(schema["items"], v) for v in value]
        return value


def describe_error(error: ValidationError) -> str:
    """``$.rules[0]: 'condition' is a required property``."""
    return f"{error.json_path}: {error.message}"


def _add_grafana_12_rule_fields(spec: dict[str, Any]) -> dict[str, Any]:
    """The legacy rule fields Grafana 12 added to 11.4's schema that a rule read back may hold:
    ProvisionedAlertRule.keep_firing_for (a duration, grafana/grafana#100750) and
    missingSeriesEvalsToResolve (``*int``, omitempty, grafana/grafana#102150; set by the UI's
    rule form, #102808). notification_settings.active_time_intervals is not sent by the
    toolkit, so every profile keeps dropping it as 11.4 does."""
    rule = spec["definitions"]["ProvisionedAlertRule"]["properties"]
    rule["keep_firing_for"] = {"type": "string", "format": "duration"}
    rule["missingSeriesEvalsToResolve"] = {"type": "integer", "format": "int64"}
    return spec


def _add_grafana_13_rule_fields(spec: dict[str, Any]) -> dict[str, Any]:
    """Grafana 13's optional ``policy`` of AlertRuleNotificationSettings (a named policy tree
    instead of a contact point; [PR] grafana/grafana#117628, sent as ``{"receiver": "",
    "policy": name}`` by the 13.x UI, #120610). Older profiles drop it as Go does."""
    settings = spec["definitions"]["AlertRuleNotificationSettings"]["properties"]
    settings["policy"] = {"type": "string"}
    return spec


@lru_cache(maxsize=6)
def spec_validator(path: str = str(DEFAULT_SPEC_PATH), major: int = 11) -> SpecValidator:
    """One validator per spec file and Grafana major version (the request fields it adds),
    shared by every fake (compiled schemas are cached in it)."""
    spec = load_patched_spec(path)
    if major >= 12:
        spec = _add_grafana_12_rule_fields(spec)
    if major >= 13:
        spec = _add_grafana_13_rule_fields(spec)
    return SpecValidator(spec)


# --------------------------------------------------------------------------------------------
# Value helpers: durations, matchers, uids
# --------------------------------------------------------------------------------------------

_PROM_DURATION_RE = re.compile(
    r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$"
)
_PROM_UNITS_MS = (
    ("y", 365 * 86_400_000),
    ("w", 7 * 86_400_000),
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1000),
    ("ms", 1),
)


def parse_prom_duration(text: str) -> int:
    """Prometheus ``model.ParseDuration`` in milliseconds (``"1m30s"`` -> 90000)."""
    if text == "0":
        return 0
    if not text:
        raise ValueError("empty duration string")
    match = _PROM_DURATION_RE.match(text)
    if not match or not any(match.groups()):
        raise ValueError(f'not a valid duration string: "{text}"')
    return sum(
        int(value) * mult
        for value, (_, mult) in zip(match.groups(), _PROM_UNITS_MS, strict=True)
        if value
    )


def format_prom_duration(ms: int) -> str:
    """Prometheus ``model.Duration.String``: ``60000`` -> ``"1m"``, years/weeks only if exact."""
    if ms == 0:
        return "0s"
    out = ""
    for unit, mult in _PROM_UNITS_MS:
        if unit in ("y", "w") and ms % mult:
            continue
        count, ms = divmod(ms, mult)
        if count:
            out += f"{count}{unit}"
    return out


def normalise_prom_duration(text: str) -> str:
    """``"60s"`` -> ``"1m"`` (§5.2 diff notes). Raises ValueError on an invalid duration."""
    return format_prom_duration(parse_prom_duration(text))


def go_duration(seconds: int | float) -> str:
    """Go ``time.Duration.String`` of whole seconds: 600 -> ``"10m0s"``, 5 -> ``"5s"``."""
    sign = "-" if seconds < 0 else ""
    hours, rest = divmod(int(abs(seconds)), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{sign}{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{sign}{minutes}m{secs}s"
    return f"{sign}{secs}s"


_MATCHER_RE = re.compile(r"^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(=~|!=|!~|=)\s*(.*?)\s*$", re.S)
MATCH_OPERATORS = ("=", "!=", "=~", "!~")


def normalise_matcher(text: str) -> str:
    """An Alertmanager matcher string as the server renders it back: ``a=b`` -> ``a="b"``."""
    match = _MATCHER_RE.match(text)
    if not match:
        raise ValueError(f"bad matcher format: {text}")
    name, op, value = match.groups()
    if len(value) >= 2 and value.startswith('"') and value.endswith('"'):
        value = json.loads(value)
    if op in ("=~", "!~"):
        re.compile(value)
    return f"{name}{op}{json.dumps(value, ensure_ascii=False)}"


def split_matcher(text: str) -> list[str]:
    """A normalised matcher string back into ``[name, op, value]``."""
    match = _MATCHER_RE.match(text)
    assert match is not None
    name, op, value = match.groups()
    return [name, op, json.loads(value)]


def matcher_order(matcher: list[str]) -> tuple[str, str, int]:
    """labels.Matchers.Less: by name, then value, then match type (=, !=, =~, !~)."""
    name, op, value = matcher
    return name, value, MATCH_OPERATORS.index(op)


def check_object_matcher(matcher: Any) -> list[str]:
    """One ``object_matchers`` entry, ``["label", "=|!=|=~|!~", "value"]`` (§5.2)."""
    if (
        not isinstance(matcher, list)
        or len(matcher) != 3
        or not all(isinstance(part, str) for part in matcher)
    ):
        raise ValueError(f"bad object matcher: {matcher!r}")
    name, op, value = matcher
    if op not in MATCH_OPERATORS:
        raise ValueError(f"unsupported match type {op!r}")
    if not name:
        raise ValueError("empty label name in matcher")
    if op in ("=~", "!~"):
        re.compile(value)
    return [name, op, value]


def check_uid(uid: str) -> str | None:
    """Grafana's uid rules for dashboards and folders (§4): the error text, or None."""
    if len(uid) > 40:
        return "uid too long, max 40 characters"
    if not _UID_RE.match(uid):
        return "uid contains illegal characters"
    return None


# dashboards.RootFolderName: no folder takes the root's title, trimmed and in any case
# (strings.EqualFold): before 13 the folder save (ErrDashboardFolderNameExists), in 13
# folders/validate.go on create and update (folder.ErrNameExists).
ROOT_FOLDER_NAME = "General"
FOLDER_NAME_EXISTS = "A folder with that name already exists"  # the DashboardErr's Reason


def is_root_folder_name(title: str) -> bool:
    return title.strip().lower() == ROOT_FOLDER_NAME.lower()


_GO_BASE10 = re.compile(r"[+-]?[0-9]+")  # strconv.ParseInt(s, 10, 64): ASCII digits, no "_"
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def query_int64(text: str) -> int:
    """web.Context.QueryInt64: strconv.ParseInt with its error dropped, so 0 for what is no
    base-10 integer and the nearest int64 for one past the range (ParseInt's value then)."""
    if not _GO_BASE10.fullmatch(text):
        return 0
    return min(max(int(text), INT64_MIN), INT64_MAX)


def new_uid() -> str:
    return uuid.uuid4().hex[:14]


def slugify(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def template_version(template: str) -> str:
    """The optimistic-concurrency token of a template (§5.5): a hash of its content."""
    return hashlib.sha256(template.encode()).hexdigest()[:16]


# --------------------------------------------------------------------------------------------
# Go text/template: what Parse accepts (Grafana parses a template group on PUT, §5.5)
# --------------------------------------------------------------------------------------------

# Go's builtins (text/template funcs.go) and Alertmanager's template.DefaultFuncs as of late 2024
# (prometheus/alertmanager template/template.go). Grafana 11.x's NotificationTemplate.Validate
# (definitions/provisioning_templates.go) parses with text/template and html/template and these
# funcs; grafana/alerting's own template factory only came in 2025 (its commit 9fa39c48), after
# 11.4. Any other function is "function %q not defined".
TEMPLATE_FUNCS = frozenset(
    {
        *("and", "call", "html", "index", "slice", "js", "len", "not", "or", "print"),
        *("printf", "println", "urlquery", "eq", "ge", "gt", "le", "lt", "ne"),
        *("toUpper", "toLower", "title", "trimSpace", "join", "match", "safeHtml"),
        *("reReplaceAll", "stringSlice", "date", "tz", "since", "humanizeDuration"),
    }
)
_TEMPLATE_KEYWORDS = frozenset(
    {"block", "break", "continue", "define", "else", "end", "if", "range", "template", "with"}
)
_SPACE = " \t\r\n"
_WORD_RE = re.compile(r"\w*")
_NUMBER_RE = re.compile(
    r"[+-]?(?:0[xX][\w.]*(?:[pP][+-]?\d+)?|0[bBoO][\w]*|\d[\d_]*\.?[\d_]*(?:[eE][+-]?\d+)?"
    r"|\.\d[\d_]*(?:[eE][+-]?\d+)?)i?"
)
_OPERAND_KINDS = frozenset({"ident", "dot", "nil", "var", "field", "bool", "number", "string"})
_CHAINABLE = _OPERAND_KINDS | {"chain", "rparen"}


class GoTemplateError(ValueError):
    """A Go template parse error, worded like Go: ``template: NAME:LINE: MESSAGE``."""


@dataclass(frozen=True)
class _Tok:
    kind: str  # text left right ident keyword dot nil var field chain bool number string
    #            pipe declare assign comma lparen rparen char error eof
    value: str
    line: int
    spaced: bool = False  # white space before it, inside an action


class _GoTemplateLexer:
    """text/template/parse/lex.go, reduced to the tokens the parser needs. A ``chain`` token
    is a ``.Field`` written right after an operand (``$x.A``, ``(f).A``, ``.A.B``)."""

    def __init__(self, name: str, text: str) -> None:
        self.name, self.text = name, text
        self.pos, self.line, self.spaced = 0, 1, False
        self.tokens: list[_Tok] = []

    def fail(self, message: str) -> GoTemplateError:
        return GoTemplateError(f"template: {self.name}:{self.line}: {message}")

    def emit(self, kind: str, value: str) -> None:
        self.tokens.append(_Tok(kind, value, self.line, self.spaced))
        self.spaced = False

    def advance(self, end: int) -> None:
        self.line += self.text.count("\n", self.pos, end)
        self.pos = end

    def right_delim(self) -> int:
        """Length of the right delimiter here ("}}" or " -}}"), or 0."""
        if self.text.startswith("}}", self.pos):
            return 2
        rest = self.text[self.pos : self.pos + 4]
        return 4 if len(rest) == 4 and rest[0] in _SPACE and rest[1:] == "-}}" else 0

    def run(self) -> list[_Tok]:
        """The tokens; a lexing error becomes an ``error`` token where it happened, so that
        the parser reports an earlier error first, as Go's concurrent lexer lets it."""
        try:
            self.lex()
        except GoTemplateError as exc:
            self.emit("error", str(exc))
        return self.tokens

    def lex(self) -> None:
        text = self.text
        while True:
            start = text.find("{{", self.pos)
            if start < 0:
                self.emit("text", text[self.pos :])
                self.advance(len(text))
                break
            self.emit("text", text[self.pos : start])
            self.advance(start + 2)
            trim = text[self.pos : self.pos + 2]
            marker = 2 if len(trim) == 2 and trim[0] == "-" and trim[1] in _SPACE else 0
            if text.startswith("/*", self.pos + marker):
                self.comment(self.pos + marker)
            else:
                self.advance(self.pos + marker)
                self.action()
        self.emit("eof", "")

    def comment(self, at: int) -> None:
        end = self.text.find("*/", at + 2)
        if end < 0:
            raise self.fail("unclosed comment")
        self.advance(end + 2)
        delim = self.right_delim()
        if not delim:
            raise self.fail("comment ends before closing delimiter")
        self.advance(self.pos + delim)

    def action(self) -> None:
        text, depth = self.text, 0
        self.emit("left", "{{")
        while True:
            delim = self.right_delim()
            if delim:
                if depth:
                    raise self.fail("unclosed left paren")
                self.advance(self.pos + delim)
                self.emit("right", "}}")
                return
            if self.pos >= len(text):
                raise self.fail("unclosed action")
            char = text[self.pos]
            after = text[self.pos + 1 : self.pos + 2]
            if char in _SPACE:
                self.advance(self.pos + 1)
                self.spaced = True
            elif char == ":":
                if after != "=":
                    raise self.fail("expected :=")
                self.emit("declare", ":=")
                self.pos += 2
            elif char in "=|,":
                self.emit({"=": "assign", "|": "pipe", ",": "comma"}[char], char)
                self.pos += 1
            elif char == '"':
                self.quoted()
            elif char == "`":
                end = text.find("`", self.pos + 1)
                if end < 0:
                    raise self.fail("unterminated raw quoted string")
                self.emit("string", text[self.pos : end + 1])
                self.advance(end + 1)
            elif char == "'":
                self.char_constant()
            elif (
                char == "$"
                or char == "_"
                or char.isalpha()
                or (char == "." and not after.isdigit())
            ):
                self.word()
            elif char.isdigit() or char in "+-.":
                self.number()
            elif char == "(":
                depth += 1
                self.emit("lparen", "(")
                self.pos += 1
            elif char == ")":
                depth = max(depth - 1, 0)
                self.emit("rparen", ")")
                self.pos += 1
            elif char.isprintable() and ord(char) < 128:
                self.emit("char", char)
                self.pos += 1
            else:
                raise self.fail(f"unrecognized character in action: {char!r}")

    def quoted(self) -> None:
        end = self.pos + 1
        while True:
            if end >= len(self.text) or self.text[end] == "\n":
                raise self.fail("unterminated quoted string")
            if self.text[end] == "\\":
                end += 2
            elif self.text[end] == '"':
                break
            else:
                end += 1
        self.emit("string", self.text[self.pos : end + 1])
        self.pos = end + 1

    def char_constant(self) -> None:
        end = self.pos + 1
        while end < len(self.text) and self.text[end] != "'":
            if self.text[end] == "\n":
                break
            end += 2 if self.text[end] == "\\" else 1
        if end >= len(self.text) or self.text[end] != "'":
            raise self.fail("unterminated character constant")
        self.emit("number", self.text[self.pos : end + 1])
        self.pos = end + 1

    def word(self) -> None:
        text, start = self.text, self.pos
        first = text[start] if text[start] in "$." else ""
        end = _WORD_RE.match(text, start + len(first)).end()  # type: ignore[union-attr]
        word = text[start:end]
        if end < len(text) and not self.at_terminator(end):
            raise self.fail(f"bad character {text[end]!r}")
        adjacent = self.tokens[-1].kind in _CHAINABLE and text[start - 1] not in _SPACE
        if word == ".":
            kind = "dot"
        elif word.startswith("."):
            kind = "chain" if adjacent else "field"
        elif word.startswith("$"):
            kind = "var"
        elif word in ("true", "false"):
            kind = "bool"
        elif word == "nil":
            kind = "nil"
        else:
            kind = "keyword" if word in _TEMPLATE_KEYWORDS else "ident"
        self.emit(kind, word)
        self.pos = end

    def at_terminator(self, at: int) -> bool:
        return self.text[at] in _SPACE + ".,|:)(=" or self.text.startswith("}}", at)

    def number(self) -> None:
        match = _NUMBER_RE.match(self.text, self.pos)
        end = match.end() if match else self.pos
        if end == self.pos or (end < len(self.text) and (self.text[end].isalnum())):
            raise self.fail(f'bad number syntax: "{self.text[self.pos : end + 1]}"')
        self.emit("number", self.text[self.pos : end])
        self.pos = end


class _GoTemplateParser:
    """text/template/parse/parse.go: the structure (define, if/range/with/else/end, block,
    template, break/continue), pipelines, declared variables and known functions."""

    def __init__(self, name: str, tokens: list[_Tok]) -> None:
        self.name, self.tokens, self.at = name, tokens, 0
        self.vars: list[str] = ["$"]
        self.range_depth = 0
        self.defined: dict[str, bool] = {}  # template name -> has a non-empty body

    def fail(self, message: str, token: _Tok | None = None) -> GoTemplateError:
        line = (token or self.peek()).line
        return GoTemplateError(f"template: {self.name}:{line}: {message}")

    def peek(self) -> _Tok:
        token = self.tokens[self.at]
        if token.kind == "error":
            raise GoTemplateError(token.value)
        return token

    def next(self) -> _Tok:
        token = self.peek()
        self.at += 1
        return token

    @staticmethod
    def describe(token: _Tok) -> str:
        if token.kind == "eof":
            return "EOF"
        if token.kind == "keyword":
            return f"<{token.value}>"
        return f'"{token.value}"'

    def unexpected(self, token: _Tok, context: str) -> GoTemplateError:
        return self.fail(f"unexpected {self.describe(token)} in {context}", token)

    def expect(self, kind: str, context: str) -> _Tok:
        token = self.next()
        if token.kind != kind:
            raise self.unexpected(token, context)
        return token

    def parse(self) -> None:
        top_empty = True
        while self.peek().kind != "eof":
            token = self.peek()
            after = self.tokens[self.at + 1]
            if token.kind == "left" and (after.kind, after.value) == ("keyword", "define"):
                self.at += 2
                self.definition()
                continue
            node = self.text_or_action()
            if node in ("end", "else"):
                raise self.fail(f"unexpected {{{{{node}}}}}", token)
            top_empty = top_empty and node == "empty"
        if not top_empty:
            self.add(self.name, empty=False)

    def add(self, name: str, empty: bool) -> None:
        if self.defined.get(name) and not empty:
            raise self.fail(f'template: multiple definition of template "{name}"')
        self.defined[name] = self.defined.get(name, False) or not empty

    def template_name(self, context: str) -> str:
        token = self.next()
        if token.kind != "string":
            raise self.unexpected(token, context)
        return token.value[1:-1]

    def definition(self) -> None:
        name = self.template_name("define clause")
        self.expect("right", "define clause")
        saved, self.vars = self.vars, ["$"]
        empty, end = self.item_list()
        if end != "end":
            raise self.fail(f"unexpected {{{{{end}}}}} in define clause")
        self.vars = saved
        self.add(name, empty)

    def item_list(self) -> tuple[bool, str]:
        """Items up to {{end}} or {{else}}: (whether all were empty, which ended it)."""
        empty = True
        while self.peek().kind != "eof":
            node = self.text_or_action()
            if node in ("end", "else"):
                return empty, node
            empty = empty and node == "empty"
        raise self.fail("unexpected EOF")

    def text_or_action(self) -> str:
        token = self.next()
        if token.kind == "text":
            return "empty" if not token.value.strip() else "node"
        return self.action()

    def action(self) -> str:
        token = self.next()
        if token.kind == "keyword":
            handler = {
                "block": self.block,
                "break": self.loop_control,
                "continue": self.loop_control,
                "else": self.else_control,
                "end": self.end_control,
                "if": self.control,
                "range": self.control,
                "template": self.template_control,
                "with": self.control,
            }.get(token.value)
            if handler is not None:
                return handler(token)
        self.at -= 1
        self.pipeline("command", "right")
        return "node"

    def loop_control(self, token: _Tok) -> str:
        following = self.next()
        if following.kind != "right":
            raise self.unexpected(following, f"{{{{{token.value}}}}}")
        if not self.range_depth:
            raise self.fail(f"{{{{{token.value}}}}} outside {{{{range}}}}", token)
        return "node"

    def else_control(self, token: _Tok) -> str:
        following = self.peek()
        if (following.kind, following.value) not in (("keyword", "if"), ("keyword", "with")):
            self.expect("right", "else")
        return "else"

    def end_control(self, token: _Tok) -> str:
        self.expect("right", "end")
        return "end"

    def control(self, token: _Tok) -> str:
        context, saved = token.value, len(self.vars)
        self.pipeline(context, "right")
        self.range_depth += context == "range"
        _, end = self.item_list()
        self.range_depth -= context == "range"
        if end == "else":
            chained = self.peek()
            if context in ("if", "with") and (chained.kind, chained.value) == ("keyword", context):
                self.next()
                self.control(chained)
            else:
                _, end = self.item_list()
                if end != "end":
                    raise self.fail(f"expected end; found {{{{{end}}}}}")
        del self.vars[saved:]
        return "node"

    def template_control(self, token: _Tok) -> str:
        self.template_name("template clause")
        if self.peek().kind != "right":
            self.pipeline("template clause", "right")
        else:
            self.next()
        return "node"

    def block(self, token: _Tok) -> str:
        name = self.template_name("block clause")
        self.pipeline("block clause", "right")
        saved, self.vars = self.vars, ["$"]
        empty, end = self.item_list()
        self.vars = saved
        if end != "end":
            raise self.fail(f"unexpected {{{{{end}}}}} in block clause")
        self.add(name, empty)
        return "node"

    def pipeline(self, context: str, end: str) -> None:
        declared = 0
        while self.peek().kind == "var" and self.tokens[self.at + 1].kind in (
            "declare",
            "assign",
            "comma",
        ):
            variable, sign = self.next(), self.next()
            self.vars.append(variable.value)
            declared += 1
            if sign.kind != "comma":
                break
            if context != "range" or declared >= 2:
                raise self.fail(f"too many declarations in {context}", sign)
            if self.peek().kind not in ("var", "right", "rparen"):
                raise self.fail("range can only initialize variables")
        commands: list[str] = []
        while True:
            token = self.next()
            if token.kind == end:
                break
            if token.kind not in _OPERAND_KINDS | {"lparen"}:
                raise self.unexpected(token, context)
            self.at -= 1
            commands.append(self.command())
        if not commands:
            raise self.fail(f"missing value for {context}")
        for stage, first in enumerate(commands[1:], start=2):
            if first in ("bool", "dot", "nil", "number", "string"):
                raise self.fail(f"non executable command in pipeline stage {stage}")

    def command(self) -> str:
        """One command of a pipeline; the kind of its first operand."""
        first = ""
        while True:
            kind = self.operand()
            first = first or kind
            token = self.peek()
            if token.kind in ("right", "rparen"):
                break
            if token.kind == "pipe":
                self.next()
                break
            if token.kind not in _OPERAND_KINDS | {"lparen"} or not token.spaced:
                raise self.unexpected(token, "operand")
        return first

    def operand(self) -> str:
        token = self.next()
        kind = token.kind
        if kind == "ident" and token.value not in TEMPLATE_FUNCS:
            raise self.fail(f'function "{token.value}" not defined', token)
        if kind == "var" and token.value not in self.vars:
            raise self.fail(f'undefined variable "{token.value}"', token)
        if kind == "lparen":
            self.pipeline("parenthesized pipeline", "rparen")
        elif kind not in _OPERAND_KINDS:
            raise self.unexpected(token, "operand")
        if self.peek().kind == "chain":
            if kind in ("bool", "string", "number", "nil", "dot"):
                raise self.fail(f'unexpected . after term "{token.value}"')
            while self.peek().kind == "chain":
                self.next()
        return kind


def go_template_error(name: str, text: str) -> str | None:
    """Why Go's template.New(name).Funcs(TEMPLATE_FUNCS).Parse(text) fails, or None."""
    try:
        _GoTemplateParser(name, _GoTemplateLexer(name, text).run()).parse()
    except GoTemplateError as exc:
        return str(exc)
    return None


# --------------------------------------------------------------------------------------------
# Alertmanager time intervals (mute timings, §5.5)
# --------------------------------------------------------------------------------------------

# prometheus/alertmanager timeinterval/timeinterval.go: what its JSON decoders accept and how
# its encoders write a value back (weekdays as names, months/days/years as numbers, "a:b").
WEEKDAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
MONTHS = (
    *("january", "february", "march", "april", "may", "june", "july", "august"),
    *("september", "october", "november", "december"),
)
_CLOCK_RE = re.compile(r"^((([01][0-9])|(2[0-3])):[0-5][0-9])$|(^24:00$)")  # validTime


def _go_atoi(text: str) -> int:
    if not re.fullmatch(r"[+-]?\d+", text):
        raise ValueError(f'strconv.Atoi: parsing "{text}": invalid syntax')
    return int(text)


def _range(text: str, member: Callable[[str], int]) -> tuple[int, int]:
    """stringableRangeFromString: lower-cased, "a" or "a:b"."""
    text = text.lower()
    parts = text.split(":")
    if len(parts) > 2:
        raise ValueError(f"couldn't parse range {text}, invalid format")
    return member(parts[0]), member(parts[-1])


def _weekday(text: str) -> int:
    if text not in WEEKDAYS:
        raise ValueError(f"{text} is not a valid weekday")
    return WEEKDAYS.index(text)


def _month(text: str) -> int:
    if text in MONTHS:
        return MONTHS.index(text) + 1
    try:
        return _go_atoi(text)
    except ValueError:
        raise ValueError(f"{text} is not a valid month") from None


def _inclusive(begin: int, end: int) -> str:
    """InclusiveRange.MarshalText."""
    return str(begin) if begin == end else f"{begin}:{end}"


def _clock_minutes(text: str) -> int:
    if not _CLOCK_RE.match(text):
        raise ValueError(f"couldn't parse timestamp {text}, invalid format")
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _time_range(item: Mapping[str, Any]) -> dict[str, str]:
    start, end = item.get("start_time") or "", item.get("end_time") or ""
    if not start or not end:
        raise ValueError("both start and end times must be provided")
    first, last = _clock_minutes(start), _clock_minutes(end)
    if first >= last:
        raise ValueError("start time cannot be equal or greater than end time")
    return {
        "start_time": f"{first // 60:02d}:{first % 60:02d}",
        "end_time": f"{last // 60:02d}:{last % 60:02d}",
    }


def _weekday_range(text: str) -> str:
    begin, end = _range(text, _weekday)
    if begin > end:
        raise ValueError("start day cannot be before end day")
    return WEEKDAYS[begin] if begin == end else f"{WEEKDAYS[begin]}:{WEEKDAYS[end]}"


def _day_of_month_range(text: str) -> str:
    begin, end = _range(text, _go_atoi)
    for day in (begin, end):
        if day == 0 or not -31 <= day <= 31:
            raise ValueError(f"{day} is not a valid day of the month: out of range")
    if begin < 0 < end:
        raise ValueError("end day must be negative if start day is negative")
    if (28 + begin if begin < 0 else begin) > (28 + end if end < 0 else end):
        raise ValueError(f"end day {end} is always before start day {begin}")
    return _inclusive(begin, end)


def _month_range(text: str) -> str:
    begin, end = _range(text, _month)
    if begin > end:
        names = {i + 1: name for i, name in enumerate(MONTHS)}
        raise ValueError(
            f"end month {names.get(end, '')} is before start month {names.get(begin, '')}"
        )
    return _inclusive(begin, end)


def _year_range(text: str) -> str:
    begin, end = _range(text, _go_atoi)
    if begin > end:
        raise ValueError(f"end year {end} is before start year {begin}")
    return _inclusive(begin, end)


def _location(name: str) -> str:
    """time.LoadLocation: "" and "UTC" are UTC, "Local" is local, else an IANA zone name."""
    if name in ("", "UTC"):
        return "UTC"
    if name == "Local":
        return name
    try:
        if name.startswith("/") or ".." in name:
            raise ValueError(name)
        ZoneInfo(name)
    except (ValueError, ZoneInfoNotFoundError):
        raise ValueError(f"unknown time zone {name}") from None
    return name


def normalise_time_interval(item: Mapping[str, Any]) -> dict[str, Any]:
    """One ``time_intervals`` entry as Grafana stores and returns it (Alertmanager's decoders
    validate, its encoders normalise; empty lists vanish, omitempty). Raises ValueError."""
    out: dict[str, Any] = {}
    if item.get("times"):
        out["times"] = [_time_range(t) for t in item["times"]]
    for key, parse in (
        ("weekdays", _weekday_range),
        ("days_of_month", _day_of_month_range),
        ("months", _month_range),
        ("years", _year_range),
    ):
        if item.get(key):
            out[key] = [parse(value) for value in item[key]]
    if item.get("location") is not None:
        out["location"] = _location(item["location"])
    return out


# --------------------------------------------------------------------------------------------
# Errors and replies
# --------------------------------------------------------------------------------------------


@dataclass
class Reply:
    """An HTTP answer: JSON ``body`` (``_NO_BODY`` = empty), or ``raw`` bytes."""

    status: int
    body: Any = _NO_BODY
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    content_type: str = "application/json"

    def payload(self) -> bytes:
        if self.raw is not None:
            return self.raw
        if self.body is _NO_BODY:
            return b""
        return json.dumps(self.body).encode()


class ApiError(Exception):
    """A Grafana error answer; ``body`` None means an empty body (alert rule 404, §1)."""

    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None):
        super().__init__(status, body)
        self.status = status
        self.body = body
        self.headers = headers or {}

    def reply(self) -> Reply:
        body = _NO_BODY if self.body is None else self.body
        return Reply(self.status, body, dict(self.headers))


class BadRequestData(Exception):
    """A body Go cannot decode (bad duration, matcher...): 400 "bad request data"."""


def notification_test_alert(params: Mapping[str, Any]) -> dict[str, Any]:
    """The alert a receivers test sends: grafana/alerting's default test alert with the
    request's labels and annotations on top (both test endpoints build it so)."""
    return {
        "annotations": {
            "summary": "Notification test",
            "__value_string__": "[ metric='foo' labels={instance=bar} value=10 ]",
            **(params.get("annotations") or {}),
        },
        "labels": {
            "alertname": "TestAlert",
            "instance": "Grafana",
            **(params.get("labels") or {}),
        },
    }


def error(code: int, message: str, **extra: Any) -> ApiError:
    """Legacy ``ErrorResponseBody`` / alerting ``ValidationError``: ``{"message": ...}``."""
    return ApiError(code, {"message": message, **extra})


def public_error(
    status: int, message_id: str, message: str, extra: dict[str, Any] | None = None
) -> ApiError:
    """An errutil ``PublicError``: ``{"message", "messageId", "statusCode"[, "extra"]}``."""
    body: dict[str, Any] = {"message": message, "messageId": message_id, "statusCode": status}
    if extra is not None:
        body["extra"] = extra
    return ApiError(status, body)


def invalid_rule(message: str) -> ApiError:
    """``ErrAlertRuleFailedValidation`` wrapped by the handler: 400 "invalid alert rule: ..."."""
    return error(400, f"invalid alert rule: {message}")


def provenance_refused(stored: str, requested: str) -> ApiError:
    """§0.2: contact points, templates, mute timings, policies refuse a change to 'none'."""
    source, target = stored or "none", requested or "none"
    return public_error(
        403,
        "alerting.notifications.invalidProvenance",
        f"Resource with provenance status '{source}' cannot be changed to '{target}'. "
        "You must use appropriate API and permissions to manage this resource",
        {"SourceProvenance": source, "TargetProvenance": target, "Reason": "-"},
    )


def check_relaxed_provenance(stored: str, requested: str) -> None:
    """``ValidateProvenanceRelaxed`` (§0.2): any -> non-none is fine, non-none -> none is not."""
    if stored and not requested:
        raise provenance_refused(stored, requested)


def rule_group_provenance_allowed(stored: str, requested: str) -> bool:
    """``CanUpdateProvenanceInRuleGroup`` (§0.2): api/converted -> none allowed, file never."""
    if stored in ("", requested):
        return True
    return stored in ("api", "converted_prometheus") and requested == ""


# The app platform (/apis) answers errors as Kubernetes ``metav1.Status`` bodies; reasons as
# apimachinery's StatusReason for each code (k8s.io/apimachinery/pkg/api/errors).
K8S_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Gone",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
}


def k8s_status(
    code: int, message: str, reason: str = "", details: Mapping[str, Any] | None = None
) -> ApiError:
    """A Kubernetes ``Status`` failure (``reason`` defaults from the code: 409 "Conflict";
    pass "AlreadyExists" for a create whose name is taken). ``details``: ``{name, group, kind,
    uid?, causes?}`` as apimachinery fills them (``kind`` is the plural resource)."""
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason or K8S_REASONS.get(code, "Unknown"),
        "code": code,
    }
    present = {key: value for key, value in (details or {}).items() if value}  # omitempty
    if present:
        body["details"] = present
    return ApiError(code, body)


def k8s_not_found(group: str, resource: str, name: str) -> ApiError:
    """apierrors.NewNotFound: ``receivers.notifications.alerting.grafana.app "x" not found``."""
    details = {"name": name, "group": group, "kind": resource}
    return k8s_status(404, f'{resource}.{group} "{name}" not found', "NotFound", details)


def k8s_path_not_found() -> ApiError:
    """What the apiserver's NotFoundHandler answers for a path nothing serves."""
    return k8s_status(404, "the server could not find the requested resource", "NotFound")


K8S_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


def k8s_forbidden(method: str, path: str, user: str, reason: str) -> ApiError:
    """The apiserver's 403 for a request its authorizers deny (responsewriters.forbiddenMessage
    joined to the reason by apierrors.NewForbidden)."""
    parts = path.strip("/").split("/")  # apis, group, version, namespaces, ns, resource[, name..]
    group = parts[1] if len(parts) > 1 else ""
    namespace = parts[4] if len(parts) > 4 and parts[3] == "namespaces" else ""
    rest = parts[5:] if namespace else parts[3:]
    resource = rest[0] if rest else ""
    name = rest[1] if len(rest) > 1 else ""
    subresource = "/".join(rest[2:])
    verb = K8S_VERBS.get(method, "get" if name else "list")
    if method == "DELETE" and not name:
        verb = "deletecollection"
    full = f"{resource}/{subresource}" if subresource else resource
    message = f'User "{user}" cannot {verb} resource "{full}" in API group "{group}"'
    if namespace:
        message += f' in the namespace "{namespace}"'
    qualified = f"{resource}.{group}" if resource else ""
    subject = f'{qualified} "{name}"' if name else qualified
    details = {"name": name, "group": group, "kind": resource}
    return k8s_status(403, f"{subject} is forbidden: {message}: {reason}", "Forbidden", details)


def org_namespace(org_id: int) -> str:
    """The namespace of an org (authlib OrgNamespaceFormatter): ``default`` for 1, ``org-N``."""
    return "default" if org_id == 1 else f"org-{org_id}"


def namespace_org_id(namespace: str) -> int:
    """The org of a namespace, as pkg/services/apiserver/endpoints/request ParseNamespace
    reads it; ValueError with Grafana's reason otherwise ("use default rather than org-1").
    Cloud namespaces (``stacks-N``) are refused like an on-prem Grafana does
    (authorizer/org_id.go: "using a stack namespace requires deployment with a fixed stack
    id")."""
    if namespace == "default":
        return 1
    if namespace.startswith("org-"):
        digits = namespace[4:]
        org_id = int(digits) if digits.isdigit() else 0
        if org_id < 1:
            raise ValueError("invalid org id")
        if org_id == 1:
            raise ValueError("use default rather than org-1")
        return org_id
    if namespace.startswith(("stacks-", "stack-")):
        raise ValueError("using a stack namespace requires deployment with a fixed stack id")
    raise ValueError("org id is required")


# --------------------------------------------------------------------------------------------
# State
# --------------------------------------------------------------------------------------------


def default_contact_point() -> dict[str, Any]:
    return {
        "uid": DEFAULT_RECEIVER_UID,
        "name": DEFAULT_RECEIVER,
        "type": "email",
        "settings": {"addresses": "<example@email.com>"},
        "disableResolveMessage": False,
        "provenance": "",
    }


def default_policy_tree() -> dict[str, Any]:
    return {"receiver": DEFAULT_RECEIVER, "group_by": ["grafana_folder", "alertname"]}


@dataclass
class OrgState:
    """Everything one organisation holds, as plain dicts that tests may read and edit.

    * ``datasources[uid]``: the ``DataSource`` shape plus ``secureJsonData`` (clear secrets).
    * ``folders[uid]``: ``{id, uid, title, description, parentUid, version, created, updated}``.
    * ``dashboards[uid]``: ``{id, uid, dashboard (the JSON, with id/uid/version), folderUid,
      version, provisioned, created, updated, message}``; ``dashboard_versions[uid]`` the history.
    * ``contact_points[uid]``: one integration ``{uid, name, type, settings (clear secrets),
      disableResolveMessage, provenance}``; a contact point is every integration of a name.
    * ``policy_tree``: the root ``Route`` as stored (durations normalised);
      ``policy_provenance`` its provenance.
    * ``managed_routes[name]``: a named policy tree (Grafana 13 ``alertingMultiplePolicies``), its
      root ``Route`` stored like ``policy_tree``; ``managed_provenance[name]`` its provenance.
    * ``templates[name]``: ``{name, template, provenance}``; ``mute_timings[name]``: ``{name,
      time_intervals (normalised as Alertmanager encodes them), provenance}``.
    * ``rule_groups[(folderUid, title)]``: ``{title, folderUid, interval, rules: [rule]}`` where a
      rule is the ``ProvisionedAlertRule`` shape plus ``provenance`` (may be "");
      ``notification_settings`` and ``record`` are None when unset.
    * ``test_notifications``: what the receiver test endpoint "sent".
    """

    org_id: int
    datasources: dict[str, dict[str, Any]] = field(default_factory=dict)
    folders: dict[str, dict[str, Any]] = field(default_factory=dict)
    dashboards: dict[str, dict[str, Any]] = field(default_factory=dict)
    dashboard_versions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    contact_points: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {DEFAULT_RECEIVER_UID: default_contact_point()}
    )
    policy_tree: dict[str, Any] = field(default_factory=default_policy_tree)
    policy_provenance: str = ""
    managed_routes: dict[str, dict[str, Any]] = field(default_factory=dict)
    managed_provenance: dict[str, str] = field(default_factory=dict)
    templates: dict[str, dict[str, Any]] = field(default_factory=dict)
    mute_timings: dict[str, dict[str, Any]] = field(default_factory=dict)
    rule_groups: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    test_notifications: list[dict[str, Any]] = field(default_factory=list)
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def next_id(self) -> int:
        return next(self.ids)

    def alert_rules(self) -> dict[str, dict[str, Any]]:
        """Every alert rule by uid (the rules live inside ``rule_groups``)."""
        return {rule["uid"]: rule for group in self.rule_groups.values() for rule in group["rules"]}

    def receiver_names(self) -> set[str]:
        return {cp["name"] for cp in self.contact_points.values()}

    def routes(self) -> Iterator[dict[str, Any]]:
        """Every node of the policy tree, root first, then of each named tree (what uses a
        receiver or a time interval, and what renames follow: ConfigRevision's
        ReceiverNameUsedByRoutes / RenameReceiverInRoutes walk the managed routes too)."""
        for tree in (self.policy_tree, *self.managed_routes.values()):
            yield from self.routes_of(tree)

    @staticmethod
    def routes_of(tree: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Every node of a route tree, root first."""
        stack = [tree]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.get("routes") or []))


@dataclass(frozen=True)
class FakeToken:
    """A service-account token: its permissions and the org it is bound to (§1)."""

    permissions: frozenset[str] = ALL_PERMISSIONS
    org_id: int = 1


@dataclass(frozen=True)
class Principal:
    login: str
    permissions: frozenset[str]
    org_id: int


class RecordedRequest:
    """One request as received; unpacks as ``(method, path, query, headers, body)``.

    ``headers`` keep their names but the Authorization secret is replaced by ``<redacted>``;
    ``body`` is the parsed JSON (or the raw text, or None); ``status`` is the answer's.
    """

    __slots__ = ("body", "headers", "method", "path", "query", "status")

    def __init__(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
        body: Any,
    ) -> None:
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.status = 0

    def __iter__(self) -> Iterator[Any]:
        return iter((self.method, self.path, self.query, self.headers, self.body))

    def __repr__(self) -> str:
        return f"<{self.method} {self.path} -> {self.status}>"


@dataclass
class _Failure:
    remaining: int
    status: int
    paths: tuple[str, ...] | None
    methods: frozenset[str] | None
    retry_after: str | None
    body: Any

    def matches(self, method: str, path: str) -> bool:
        if self.methods is not None and method not in self.methods:
            return False
        if self.paths is None:
            return path != "/api/health"
        return any(path.startswith(prefix) for prefix in self.paths)


@dataclass
class Ctx:
    """What a handler sees of a request."""

    method: str
    path: str
    params: dict[str, str]
    query: dict[str, list[str]]
    headers: Mapping[str, str]  # lower-case names
    body: Any
    org: OrgState
    principal: Principal
    namespace: str = ""  # /apis routes: the ``{namespace}`` (``org`` is its org)

    def arg(self, name: str, default: str = "") -> str:
        values = self.query.get(name)
        return values[0] if values else default

    def args(self, name: str) -> list[str]:
        """Repeated and comma-separated values (``folderUIDs=a&folderUIDs=b,c``)."""
        return [part for value in self.query.get(name, []) for part in value.split(",") if part]

    def flag(self, name: str) -> bool:
        return self.arg(name).lower() in ("true", "1")

    @property
    def provenance(self) -> str:
        """§0.1: "api" unless X-Disable-Provenance is present (its value is ignored)."""
        return "" if "x-disable-provenance" in self.headers else "api"


# --------------------------------------------------------------------------------------------
# Version profiles: what each Grafana release serves under /apis, and its deprecations
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiResource:
    """One entry of an ``APIResourceList`` (a subresource is named ``receivers/test``)."""

    name: str
    kind: str
    verbs: tuple[str, ...]
    singular: str = ""
    namespaced: bool = True

    def discovery(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "singularName": self.singular,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": list(self.verbs),
        }


# Verbs of a resource served by Grafana's generic registry store (and of the legacy-backed
# alerting storages, which implement the same rest interfaces).
CRUD_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")

NOTIFICATIONS_GROUP = "notifications.alerting.grafana.app"
DASHBOARD_GROUP = "dashboard.grafana.app"
FOLDER_GROUP = "folder.grafana.app"
RULES_GROUP = "rules.alerting.grafana.app"


@dataclass(frozen=True)
class Profile:
    """A Grafana release as the fake plays it: ``name`` ("13.2"), the full ``version``
    /api/health answers, and ``groups``: API group -> served versions, preferred first."""

    name: str
    version: str
    groups: Mapping[str, tuple[str, ...]]

    @property
    def major(self) -> int:
        return int(self.name.split(".")[0])

    def serves(self, group: str, version: str) -> bool:
        return version in self.groups.get(group, ())


# What each release serves under /apis, limited to the groups the toolkit chooses among (Grafana
# serves more: playlist, iam, ...). [src] = read in grafana/grafana, [PR] = a merged PR's text,
# [infer] = concluded from dates, unverified on a live server.
#
# group, version              11.6 12.4 13.2 evidence
# notifications.alerting.grafana.app
#   v0alpha1                  yes yes yes [src] notifications/register.go serves it while the
#                                         toggle alertingApiServer is on; an early-2025
#                                         featureToggles.gen.ts has it "@default true"
#   v1beta1                   -   -   yes [PR] #121692 (2026-04-01) and #121995 (2026-04-07), for
#                                         13.0, first name v1beta1; #130269 (2026-08) adds Config
#                                         "in line with the other notifications resources"; 12.4.0
#                                         is of 2026-02-24 [infer: not in 12.4]
# dashboard.grafana.app
#   v1alpha1, v0/v2alpha1     yes -   -   [src] dashboard/register.go serves them while
#                                         kubernetesClientDashboardsFolders is on ("@default true"
#                                         in that gen.ts) [infer: so in the 11.6 branch]
#   v1beta1, v0a1, v2beta1    -   yes yes [PR] grafana/mcp-grafana#937 takes "serves v1beta1" as
#                                         the mark of Grafana >= 12.0
#   v1                        -   -   yes [PR] #121222 (2026-03): v1 GA, /api deprecated in the
#                                         spec; terraform-provider-grafana#2633: "Grafana >= 13"
# folder.grafana.app
#   v0alpha1                  yes -   -   [infer] with the dashboards above
#   v1beta1                   -   yes yes [infer] folder.grafana.app-v1beta1.json snapshot, 12.x
#   v1                        -   -   yes [PR] #121222, as dashboards
# rules.alerting.grafana.app
#   v0alpha1                  -   -   yes [PR] #106859: 12.x behind kubernetesAlertingRules (off);
#                                         #120606 (2026-03) deprecates the legacy rule endpoints in
#                                         its favour for 13
#
# Full versions are real patch releases: 11.6.13 (CHANGELOG heading "11.6.13 (2026-03-09)", quoted
# by Renovate in bug-ops/zeph#3178), 12.4.3 (Renovate "Compare v12.4.3...v13.0.0" in
# AndreiGavriliu/homelab#6251, 2026-04-14), 13.2.1 (release v13.2.1 in
# AndreiGavriliu/homelab#7230, 2026-09-01).
PROFILES: dict[str, Profile] = {
    "11.6": Profile(
        "11.6",
        "11.6.13",
        {
            NOTIFICATIONS_GROUP: ("v0alpha1",),
            DASHBOARD_GROUP: ("v1alpha1", "v0alpha1", "v2alpha1"),
            FOLDER_GROUP: ("v0alpha1",),
        },
    ),
    "12.4": Profile(
        "12.4",
        "12.4.3",
        {
            NOTIFICATIONS_GROUP: ("v0alpha1",),
            DASHBOARD_GROUP: ("v1beta1", "v0alpha1", "v2beta1"),
            FOLDER_GROUP: ("v1beta1",),
        },
    ),
    "13.2": Profile(
        "13.2",
        "13.2.1",
        {
            NOTIFICATIONS_GROUP: ("v1beta1", "v0alpha1"),
            DASHBOARD_GROUP: ("v1", "v1beta1", "v2beta1", "v0alpha1"),
            FOLDER_GROUP: ("v1", "v1beta1"),
            RULES_GROUP: ("v0alpha1",),
        },
    ),
}
DEFAULT_PROFILE = "11.6"

# Feature toggles the fake plays, by the first major release that has them (any other toggle is
# only listed by /api/frontend/settings). alertingMultiplePolicies: named policy trees,
# "public preview" in the 13.x docs ([PR] #118534), served through routingtrees v1beta1.
MULTIPLE_POLICIES = "alertingMultiplePolicies"
TOGGLES_SINCE: dict[str, int] = {MULTIPLE_POLICIES: 13}

# Verbs of the legacy-backed routing tree: one fixed tree, no create and no deletecollection
# ([PR] #91550, "Alerting: Notifications Routes API"). The v1beta1 storage implements Create
# (named trees, routingtree/legacy_storage.go), so the apiserver lists "create" there.
ROUTING_TREE_VERBS = ("delete", "get", "list", "patch", "update", "watch")
ROUTING_TREE_VERBS_V1BETA1 = ("create", *ROUTING_TREE_VERBS)


def _notification_resources(tree_verbs: tuple[str, ...]) -> tuple[ApiResource, ...]:
    return (
        ApiResource("receivers", "Receiver", CRUD_VERBS, "receiver"),
        ApiResource("receivers/test", "Receiver", ("create",)),
        ApiResource("routingtrees", "RoutingTree", tree_verbs, "routingtree"),
        ApiResource("templategroups", "TemplateGroup", CRUD_VERBS, "templategroup"),
        ApiResource("timeintervals", "TimeInterval", CRUD_VERBS, "timeinterval"),
    )


_DASHBOARDS = (ApiResource("dashboards", "Dashboard", CRUD_VERBS, "dashboard"),)
_FOLDERS = (ApiResource("folders", "Folder", CRUD_VERBS, "folder"),)

# (group, version) -> its resources, as GET /apis/<group>/<version>/ lists them (the main
# resources; subresources only where the toolkit uses one).
RESOURCES: dict[tuple[str, str], tuple[ApiResource, ...]] = {
    (NOTIFICATIONS_GROUP, "v0alpha1"): _notification_resources(ROUTING_TREE_VERBS),
    (NOTIFICATIONS_GROUP, "v1beta1"): _notification_resources(ROUTING_TREE_VERBS_V1BETA1),
    **{
        (DASHBOARD_GROUP, v): _DASHBOARDS
        for v in ("v0alpha1", "v1alpha1", "v2alpha1", "v1beta1", "v2beta1", "v1")
    },
    **{(FOLDER_GROUP, v): _FOLDERS for v in ("v0alpha1", "v1beta1", "v1")},
    (RULES_GROUP, "v0alpha1"): (
        ApiResource("alertrules", "AlertRule", CRUD_VERBS, "alertrule"),
        ApiResource("recordingrules", "RecordingRule", CRUD_VERBS, "recordingrule"),
    ),
}

# Grafana 13 answers the deprecated legacy endpoints with three headers (names from [PR] #121995
# for the notification endpoints and #120606 for the rule endpoints, which lists the same 8
# endpoints; export endpoints are not deprecated). The code that sets them is newer than the
# indexed copies of api_provisioning.go, so their values are [infer]: an RFC 7234 "299" warning
# naming the replacement, the day 13.0.0 was released, and the replacement path. /api/dashboards
# and /api/folders are deprecated in the OpenAPI spec only ([PR] #121222: "in swagger"; docs PR
# #122546: the legacy APIs are not disabled), so they get no headers.
DEPRECATION_DATE = "2026-04-14"
_PROV = "/api/v1/provisioning"
_NOTIFICATIONS_V1 = f"/apis/{NOTIFICATIONS_GROUP}/v1beta1/namespaces/{{namespace}}"
_RULES_V0 = f"/apis/{RULES_GROUP}/v0alpha1/namespaces/{{namespace}}"
DEPRECATED_ENDPOINTS: dict[tuple[str, str], str] = {
    **{
        (method, template): f"{_NOTIFICATIONS_V1}/{replacement}"
        for methods, template, replacement in (
            (("GET", "POST"), f"{_PROV}/contact-points", "receivers"),
            (("PUT", "DELETE"), f"{_PROV}/contact-points/{{uid}}", "receivers/{name}"),
            (("GET", "PUT", "DELETE"), f"{_PROV}/templates/{{name}}", "templategroups/{name}"),
            (("GET", "POST"), f"{_PROV}/mute-timings", "timeintervals"),
            (("GET", "PUT", "DELETE"), f"{_PROV}/mute-timings/{{name}}", "timeintervals/{name}"),
            (("GET", "PUT"), f"{_PROV}/policies", "routingtrees"),
        )
        for method in methods
    },
    **{
        (method, template): f"{_RULES_V0}/alertrules"
        for methods, template in (
            (("GET", "POST"), f"{_PROV}/alert-rules"),
            (("GET", "PUT", "DELETE"), f"{_PROV}/alert-rules/{{uid}}"),
            (("GET", "PUT", "DELETE"), f"{_PROV}/folder/{{folder}}/rule-groups/{{group}}"),
        )
        for method in methods
    },
}


def deprecation_headers(replacement: str) -> dict[str, str]:
    return {
        "Warning": f'299 - "Deprecated API: use {replacement} instead"',
        "X-API-Deprecation-Date": DEPRECATION_DATE,
        "X-API-Replacement": replacement,
    }


# 13.0 removed the Alertmanager receivers test endpoint ([PR] #121692: "returns 410 Gone with a
# message pointing to the replacement"; the message's wording is [infer]).
RECEIVERS_TEST_GONE = (
    "This endpoint has been removed. Use "
    f"{_NOTIFICATIONS_V1}/receivers/{{uid}}/test to test a contact point."
)

# (group, version) -> the module whose ``register(api, add, group, version)`` adds the routes of
# that group version's resources (tests/fake_apps_*.py; imported when a profile serves it).
APP_MODULES: dict[tuple[str, str], str] = {
    (NOTIFICATIONS_GROUP, "v1beta1"): "fake_apps_notifications",
    (DASHBOARD_GROUP, "v1"): "fake_apps_dashboards",
    (FOLDER_GROUP, "v1"): "fake_apps_dashboards",
}


# --------------------------------------------------------------------------------------------
# Endpoint handlers
# --------------------------------------------------------------------------------------------

Handler = Callable[[Ctx], Reply]


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    regex: re.Pattern[str]
    handler: Handler
    permissions: tuple[str, ...]  # any of them; empty = authenticated is enough
    checks_body: bool = True  # False: a removed endpoint, answered before any body is read


class _Api:
    """The endpoint implementations. They run under the fake's lock, one at a time."""

    def __init__(self, fake: FakeGrafana) -> None:
        self.fake = fake
        self.spec = fake.spec
        self.routes: list[Route] = []
        self._register()

    # -- routing ------------------------------------------------------------------------

    def _add(
        self,
        method: str,
        template: str,
        handler: Handler,
        *permissions: str,
        checks_body: bool = True,
    ) -> None:
        pattern = re.sub(r"\\\{([a-zA-Z_]+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
        regex = re.compile(f"^{pattern}$")
        self.routes.append(Route(method, template, regex, handler, tuple(permissions), checks_body))

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            if route.method != method:
                continue
            found = route.regex.match(path)
            if found:
                return route, {k: unquote(v) for k, v in found.groupdict().items()}
        return None

    def _register(self) -> None:
        ds_r, ds_w = PERM_DATASOURCES_READ, PERM_DATASOURCES_WRITE
        f_r, f_w = PERM_FOLDERS_READ, PERM_FOLDERS_WRITE
        d_r, d_w = PERM_DASHBOARDS_READ, PERM_DASHBOARDS_WRITE
        p_r, p_w = PERM_PROVISIONING_READ, PERM_PROVISIONING_WRITE
        p_s = PERM_PROVISIONING_SECRETS_READ
        add = self._add
        # §2 data sources
        add("GET", "/api/datasources", self.list_datasources, ds_r)
        add("POST", "/api/datasources", self.create_datasource, ds_w)
        add("GET", "/api/datasources/uid/{uid}", self.get_datasource, ds_r)
        add("PUT", "/api/datasources/uid/{uid}", self.update_datasource, ds_w)
        add("DELETE", "/api/datasources/uid/{uid}", self.delete_datasource, ds_w)
        add("GET", "/api/datasources/uid/{uid}/health", self.datasource_health, ds_r)
        add("GET", "/api/datasources/name/{name}", self.get_datasource_by_name, ds_r)
        add("DELETE", "/api/datasources/name/{name}", self.delete_datasource_by_name, ds_w)
        # §3 folders
        add("GET", "/api/folders", self.list_folders, f_r)
        add("POST", "/api/folders", self.create_folder, f_w)
        add("GET", "/api/folders/{uid}", self.get_folder, f_r)
        add("PUT", "/api/folders/{uid}", self.update_folder, f_w)
        add("DELETE", "/api/folders/{uid}", self.delete_folder, f_w)
        # §4 dashboards and search
        add("POST", "/api/dashboards/db", self.save_dashboard, d_w)
        add("GET", "/api/dashboards/uid/{uid}", self.get_dashboard, d_r)
        add("DELETE", "/api/dashboards/uid/{uid}", self.delete_dashboard, d_w)
        add("GET", "/api/dashboards/uid/{uid}/versions", self.dashboard_versions, d_r)
        add("GET", "/api/dashboards/uid/{uid}/versions/{version}", self.dashboard_version, d_r)
        add("POST", "/api/dashboards/uid/{uid}/restore", self.restore_dashboard, d_w)
        add("GET", "/api/search", self.search, d_r, f_r)
        # §5.1 contact points
        prov = "/api/v1/provisioning"
        add("GET", f"{prov}/contact-points", self.list_contact_points, p_r, p_s)
        add("GET", f"{prov}/contact-points/export", self.export_contact_points, p_r, p_s)
        add("POST", f"{prov}/contact-points", self.create_contact_point, p_w)
        add("PUT", f"{prov}/contact-points/{{uid}}", self.update_contact_point, p_w)
        add("DELETE", f"{prov}/contact-points/{{uid}}", self.delete_contact_point, p_w)
        # §5.2 policy tree
        add("GET", f"{prov}/policies", self.get_policies, p_r, p_s)
        add("PUT", f"{prov}/policies", self.put_policies, p_w)
        add("DELETE", f"{prov}/policies", self.reset_policies, p_w)
        add("GET", f"{prov}/policies/export", self.export_policies, p_r, p_s)
        # §5.5 templates and mute timings
        add("GET", f"{prov}/templates", self.list_templates, p_r, p_s)
        add("GET", f"{prov}/templates/{{name}}", self.get_template, p_r, p_s)
        add("PUT", f"{prov}/templates/{{name}}", self.put_template, p_w)
        add("DELETE", f"{prov}/templates/{{name}}", self.delete_template, p_w)
        add("GET", f"{prov}/mute-timings", self.list_mute_timings, p_r, p_s)
        add("POST", f"{prov}/mute-timings", self.create_mute_timing, p_w)
        add("GET", f"{prov}/mute-timings/export", self.export_mute_timings, p_r, p_s)
        add("GET", f"{prov}/mute-timings/{{name}}", self.get_mute_timing, p_r, p_s)
        add("PUT", f"{prov}/mute-timings/{{name}}", self.put_mute_timing, p_w)
        add("DELETE", f"{prov}/mute-timings/{{name}}", self.delete_mute_timing, p_w)
        # §5.3 alert rules, §5.4 rule groups
        add("GET", f"{prov}/alert-rules", self.list_alert_rules, p_r, p_s)
        add("POST", f"{prov}/alert-rules", self.create_alert_rule, p_w)
        add("GET", f"{prov}/alert-rules/export", self.export_alert_rules, p_r, p_s)
        add("GET", f"{prov}/alert-rules/{{uid}}", self.get_alert_rule, p_r, p_s)
        add("PUT", f"{prov}/alert-rules/{{uid}}", self.update_alert_rule, p_w)
        add("DELETE", f"{prov}/alert-rules/{{uid}}", self.delete_alert_rule, p_w)
        add("GET", f"{prov}/alert-rules/{{uid}}/export", self.export_alert_rule, p_r, p_s)
        group = f"{prov}/folder/{{folder}}/rule-groups/{{group}}"
        add("GET", group, self.get_rule_group, p_r, p_s)
        add("PUT", group, self.put_rule_group, p_w)
        add("DELETE", group, self.delete_rule_group, p_w)
        add("GET", f"{group}/export", self.export_rule_group, p_r, p_s)
        # The UI "Test" button of a contact point, removed in 13.0.
        removed = self.fake.profile.major >= 13
        add(
            "POST",
            RECEIVERS_TEST_PATH,
            self.receivers_test_gone if removed else self.post_receivers_test,
            PERM_NOTIFICATIONS_WRITE,
            "alert.notifications.receivers:test",
            checks_body=not removed,
        )
        add("GET", "/api/frontend/settings", self.frontend_settings)
        # The app platform's discovery: any signed-in caller (Grafana's /apis needs sign-in).
        add("GET", "/apis", self.api_group_list)
        add("GET", "/apis/{group}", self.api_group)
        add("GET", "/apis/{group}/{version}", self.api_resource_list)
        self._register_apps()

    def _register_apps(self) -> None:
        """Let each app module add the routes of the group versions this profile serves.

        A module is imported here, not at the top, because it imports this module. Until a
        module is written (the app-platform work is in progress) its group version is only
        listed by discovery; any other import error (a bug inside the module) propagates."""
        for group, versions in self.fake.profile.groups.items():
            for version in versions:
                name = APP_MODULES.get((group, version))
                if name is None:
                    continue
                try:
                    module = importlib.import_module(name)
                except ModuleNotFoundError as exc:
                    if exc.name != name:
                        raise
                    continue
                module.register(self, self._add, group, version)

    def frontend_settings(self, ctx: Ctx) -> Reply:
        """The part of FrontendSettingsDTO a client reads: ``buildInfo`` and
        ``featureToggles`` (the enabled toggles only, each ``true``; pkg/api/frontendsettings.go
        fills it from the feature manager's enabled set)."""
        fake = self.fake
        version = fake.profile.version
        build = {
            "hideVersion": False,
            "version": version,
            "versionString": f"Grafana v{version}",
            "commit": "fake",
            "commitShort": "fake",
            "buildstamp": 0,
            "edition": "Open Source",
            "latestVersion": "",
            "hasUpdate": False,
            "env": "production",
        }
        toggles = {name: True for name in sorted(fake.features) if fake.feature_enabled(name)}
        return Reply(200, {"buildInfo": build, "featureToggles": toggles})

    # -- the app platform's discovery (Kubernetes APIGroupList / APIGroup / APIResourceList) --

    def _group_discovery(self, group: str) -> dict[str, Any]:
        versions = self.fake.profile.groups.get(group)
        if not versions:
            raise k8s_path_not_found()
        entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        return {"name": group, "versions": entries, "preferredVersion": entries[0]}

    def api_group_list(self, ctx: Ctx) -> Reply:
        groups = [self._group_discovery(group) for group in self.fake.profile.groups]
        return Reply(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})

    def api_group(self, ctx: Ctx) -> Reply:
        group = self._group_discovery(ctx.params["group"])
        return Reply(200, {"kind": "APIGroup", "apiVersion": "v1", **group})

    def api_resource_list(self, ctx: Ctx) -> Reply:
        group, version = ctx.params["group"], ctx.params["version"]
        if not self.fake.profile.serves(group, version):
            raise k8s_path_not_found()
        resources = [r.discovery() for r in RESOURCES.get((group, version), ())]
        body = {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": f"{group}/{version}",
            "resources": resources,
        }
        return Reply(200, body)

    # -- §2 data sources ------------------------------------------------------------------

    @staticmethod
    def _datasource_out(ds: dict[str, Any]) -> dict[str, Any]:
        out = {k: copy.deepcopy(v) for k, v in ds.items() if k != "secureJsonData"}
        out["secureJsonFields"] = {k: True for k, v in ds.get("secureJsonData", {}).items() if v}
        return out

    @staticmethod
    def _datasource_item(ds: dict[str, Any]) -> dict[str, Any]:
        return {k: copy.deepcopy(ds[k]) for k in _DATASOURCE_LIST_KEYS}

    def _datasource(self, ctx: Ctx) -> dict[str, Any]:
        ds = ctx.org.datasources.get(ctx.params["uid"])
        if ds is None:
            raise error(404, "Data source not found")
        return ds

    def list_datasources(self, ctx: Ctx) -> Reply:
        items = sorted(ctx.org.datasources.values(), key=lambda d: d["name"].lower())
        return Reply(200, [self._datasource_item(ds) for ds in items])

    def get_datasource(self, ctx: Ctx) -> Reply:
        return Reply(200, self._datasource_out(self._datasource(ctx)))

    def get_datasource_by_name(self, ctx: Ctx) -> Reply:
        for ds in ctx.org.datasources.values():
            if ds["name"] == ctx.params["name"]:
                return Reply(200, self._datasource_out(ds))
        raise error(404, "Data source not found")

    def datasource_health(self, ctx: Ctx) -> Reply:
        """GET /api/datasources/uid/{uid}/health (api/datasources.go checkDatasourceHealth):
        200 when the plugin's check passed, 400 with its message when not. Prometheus's check
        (promlib/healthcheck.go) is the instant query ``1+1``: sent for real to a loopback URL;
        a host name stands for a Compose service, reached (Grafana beside Prometheus). The
        fake has no other plugin: 404 "Plugin not found" (translatePluginRequestErrorToAPIError,
        backendplugin.ErrPluginNotRegistered)."""
        ds = self._datasource(ctx)
        if ds["type"] != "prometheus":
            raise error(404, "Plugin not found")
        problem = prometheus_query_problem(ds.get("url") or "")
        if problem:
            message = f"{problem} - There was an error returned querying the Prometheus API."
            return Reply(400, {"status": "ERROR", "message": message})
        return Reply(200, {"status": "OK", "message": "Successfully queried the Prometheus API."})

    @staticmethod
    def _require_type_and_access(body: dict[str, Any]) -> None:
        # AddDataSourceCommand: `type` and `access` carry binding:"Required".
        if not body.get("type") or not body.get("access"):
            raise error(400, "bad request data")

    def _set_default(self, org: OrgState, ds: dict[str, Any]) -> None:
        if ds["isDefault"]:
            for other in org.datasources.values():
                if other is not ds:
                    other["isDefault"] = False

    def create_datasource(self, ctx: Ctx) -> Reply:
        body = ctx.body
        self._require_type_and_access(body)
        org = ctx.org
        name = body.get("name") or f"{body['type']}-{len(org.datasources) + 1}"
        if any(ds["name"] == name for ds in org.datasources.values()):
            raise error(409, "data source with the same name already exists")
        uid = body.get("uid") or new_uid()
        if uid in org.datasources:
            raise error(409, "data source with the same uid already exists")
        ds = self.fake.make_datasource(org, uid=uid, name=name, body=body)
        org.datasources[uid] = ds
        self._set_default(org, ds)
        out = self._datasource_out(ds)
        return Reply(
            200, {"datasource": out, "id": ds["id"], "message": "Datasource added", "name": name}
        )

    def update_datasource(self, ctx: Ctx) -> Reply:
        ds = self._datasource(ctx)
        if ds["readOnly"]:
            raise error(403, "Cannot update read-only data source")  # file-provisioned (§2)
        body = ctx.body
        self._require_type_and_access(body)
        version = body.get("version")
        if version and ds["version"] > version:
            raise error(409, "trying to update old version of datasource")
        name = body.get("name") or ds["name"]
        if any(o["name"] == name and o is not ds for o in ctx.org.datasources.values()):
            raise error(409, "data source with the same name already exists")
        # The store updates the row by id and writes the body's uid when it has one
        # (datasources/service/store.go UpdateDataSource): a PUT can move a data source to
        # another uid; one taken is the unique index's refusal, answered 500 (api/datasources.go).
        uid = body.get("uid") or ds["uid"]
        if uid != ds["uid"]:
            if check_uid(uid):
                raise error(400, f"invalid UID for datasource {name}")
            if uid in ctx.org.datasources:
                raise error(500, "Failed to update datasource")
        # PUT replaces the object; jsonData keys omitted are dropped, secureJsonData kept (§2).
        secure = dict(ds.get("secureJsonData", {}))
        secure.update(body.get("secureJsonData") or {})
        replacement = self.fake.make_datasource(
            ctx.org, uid=uid, name=name, body=body, ds_id=ds["id"]
        )
        if uid != ds["uid"]:
            ctx.org.datasources[uid] = ctx.org.datasources.pop(ds["uid"])
        replacement["version"] = ds["version"] + 1
        replacement["secureJsonData"] = secure
        ds.clear()
        ds.update(replacement)
        self._set_default(ctx.org, ds)
        out = self._datasource_out(ds)
        return Reply(
            200, {"datasource": out, "id": ds["id"], "message": "Datasource updated", "name": name}
        )

    def _delete_datasource(self, org: OrgState, ds: dict[str, Any]) -> Reply:
        if ds["readOnly"]:
            raise error(403, "Cannot delete read-only data source")
        del org.datasources[ds["uid"]]
        return Reply(200, {"message": "Data source deleted", "id": ds["id"]})

    def delete_datasource(self, ctx: Ctx) -> Reply:
        return self._delete_datasource(ctx.org, self._datasource(ctx))

    def delete_datasource_by_name(self, ctx: Ctx) -> Reply:
        for ds in list(ctx.org.datasources.values()):
            if ds["name"] == ctx.params["name"]:
                return self._delete_datasource(ctx.org, ds)
        raise error(404, "Data source not found")

    # -- §3 folders -----------------------------------------------------------------------

    @staticmethod
    def _folder_not_found() -> ApiError:
        return error(404, "folder not found", status="not-found")

    def _folder_out(self, org: OrgState, folder: dict[str, Any]) -> dict[str, Any]:
        out = {
            "id": folder["id"],
            "uid": folder["uid"],
            "orgId": org.org_id,
            "title": folder["title"],
            "url": f"/dashboards/f/{folder['uid']}/{slugify(folder['title'])}",
            "hasAcl": False,
            "canSave": True,
            "canEdit": True,
            "canAdmin": True,
            "canDelete": True,
            "createdBy": "admin",
            "created": folder["created"],
            "updatedBy": "admin",
            "updated": folder["updated"],
            "version": folder["version"],
        }
        if folder.get("description"):
            out["description"] = folder["description"]
        if folder.get("parentUid"):
            out["parentUid"] = folder["parentUid"]
            parents: list[dict[str, Any]] = []
            parent = org.folders.get(folder["parentUid"])
            while parent is not None:
                parents.insert(0, {"uid": parent["uid"], "title": parent["title"]})
                parent = org.folders.get(parent.get("parentUid") or "")
            out["parents"] = parents
        return out

    def list_folders(self, ctx: Ctx) -> Reply:
        parent = ctx.arg("parentUid")
        found = [f for f in ctx.org.folders.values() if (f.get("parentUid") or "") == parent]
        found.sort(key=lambda f: f["title"].lower())
        limit = int(ctx.arg("limit") or 1000)
        page = max(int(ctx.arg("page") or 1), 1)
        found = found[(page - 1) * limit : page * limit]
        out = []
        for folder in found:
            item = {"id": folder["id"], "uid": folder["uid"], "title": folder["title"]}
            if folder.get("parentUid"):
                item["parentUid"] = folder["parentUid"]
            out.append(item)
        return Reply(200, out)

    def _folder(self, ctx: Ctx) -> dict[str, Any]:
        folder = ctx.org.folders.get(ctx.params["uid"])
        if folder is None:
            raise self._folder_not_found()
        return folder

    def get_folder(self, ctx: Ctx) -> Reply:
        return Reply(200, self._folder_out(ctx.org, self._folder(ctx)))

    @staticmethod
    def _title_taken(org: OrgState, title: str, parent: str, uid: str) -> bool:
        return any(
            f["title"] == title and (f.get("parentUid") or "") == parent and f["uid"] != uid
            for f in org.folders.values()
        )

    def create_folder(self, ctx: Ctx) -> Reply:
        body, org = ctx.body, ctx.org
        title = (body.get("title") or "").strip()
        if not title:
            raise error(400, "folder title cannot be empty")
        if is_root_folder_name(title):
            raise error(400, FOLDER_NAME_EXISTS)
        uid = body.get("uid") or new_uid()
        problem = check_uid(uid)
        if problem:
            raise error(400, problem)
        if uid in org.folders or uid in org.dashboards:
            raise error(409, "a folder/dashboard with the same uid already exists")
        parent = body.get("parentUid") or ""
        if parent and parent not in org.folders:
            raise self._folder_not_found()
        if self._title_taken(org, title, parent, uid):
            raise error(409, "a folder with the same name already exists in the current location")
        folder = self.fake.make_folder(org, uid, title, parent, body.get("description") or "")
        org.folders[uid] = folder
        return Reply(200, self._folder_out(org, folder))

    def update_folder(self, ctx: Ctx) -> Reply:
        folder, body = self._folder(ctx), ctx.body
        if not body.get("overwrite") and body.get("version", 0) != folder["version"]:
            raise error(
                412, "the folder has been changed by someone else", status="version-mismatch"
            )
        title = body.get("title") or folder["title"]
        if is_root_folder_name(title):
            raise error(400, FOLDER_NAME_EXISTS)
        if self._title_taken(ctx.org, title, folder.get("parentUid") or "", folder["uid"]):
            raise error(409, "a folder with the same name already exists in the current location")
        folder["title"] = title
        if "description" in body:
            folder["description"] = body["description"]
        folder["version"] += 1
        folder["updated"] = now_iso()
        return Reply(200, self._folder_out(ctx.org, folder))

    def delete_folder(self, ctx: Ctx) -> Reply:
        folder, org = self._folder(ctx), ctx.org
        doomed = {folder["uid"]}
        changed = True
        while changed:  # the folder and all its descendants
            before = len(doomed)
            doomed |= {f["uid"] for f in org.folders.values() if f.get("parentUid") in doomed}
            changed = len(doomed) != before
        rules = [key for key in org.rule_groups if key[0] in doomed]
        if rules and not ctx.flag("forceDeleteRules"):
            raise public_error(
                400, "folder.not-empty", "Folder cannot be deleted: folder is not empty"
            )
        # §3: deleting a folder deletes its dashboards and its alert rules.
        for key in rules:
            del org.rule_groups[key]
        for uid in [u for u, d in org.dashboards.items() if d["folderUid"] in doomed]:
            del org.dashboards[uid]
            org.dashboard_versions.pop(uid, None)
        for uid in doomed:
            del org.folders[uid]
        return Reply(
            200, {"message": "Folder deleted", "id": folder["id"], "title": folder["title"]}
        )

    # -- §4 dashboards --------------------------------------------------------------------

    @staticmethod
    def _dashboard_url(record: dict[str, Any]) -> str:
        return f"/d/{record['uid']}/{slugify(record['dashboard'].get('title', ''))}"

    def _dashboard(self, ctx: Ctx) -> dict[str, Any]:
        record = ctx.org.dashboards.get(ctx.params["uid"])
        if record is None:
            raise error(404, "Dashboard not found")
        return record

    def store_dashboard(
        self,
        org: OrgState,
        dashboard: dict[str, Any],
        folder_uid: str,
        message: str,
        existing: dict[str, Any] | None,
        provisioned: bool = False,
    ) -> dict[str, Any]:
        """Save a dashboard version (version 1, or the existing version + 1)."""
        now = now_iso()
        uid = existing["uid"] if existing else (dashboard.get("uid") or new_uid())
        dash_id = existing["id"] if existing else org.next_id()
        version = existing["version"] + 1 if existing else 1
        stored = copy.deepcopy(dashboard)
        stored.update({"id": dash_id, "uid": uid, "version": version})
        record = {
            "id": dash_id,
            "uid": uid,
            "dashboard": stored,
            "folderUid": folder_uid,
            "version": version,
            "provisioned": existing["provisioned"] if existing else provisioned,
            "created": existing["created"] if existing else now,
            "updated": now,
            "message": message,
        }
        org.dashboards[uid] = record
        org.dashboard_versions.setdefault(uid, []).append(
            {
                "id": org.next_id(),
                "dashboardId": dash_id,
                "uid": uid,
                "parentVersion": version - 1,
                "restoredFrom": 0,
                "version": version,
                "created": now,
                "createdBy": "admin",
                "message": message,
                "data": copy.deepcopy(stored),
            }
        )
        return record

    def _save_reply(self, record: dict[str, Any]) -> Reply:
        return Reply(
            200,
            {
                "id": record["id"],
                "uid": record["uid"],
                "url": self._dashboard_url(record),
                "status": "success",
                "version": record["version"],
                "slug": slugify(record["dashboard"].get("title", "")),
                "folderUid": record["folderUid"],
            },
        )

    def save_dashboard(self, ctx: Ctx) -> Reply:
        body, org = ctx.body, ctx.org
        dashboard = body.get("dashboard") or {}
        title = dashboard.get("title")
        if not isinstance(title, str) or not title.strip():
            raise error(400, "Dashboard title cannot be empty", status="empty-name")
        if len(body.get("message") or "") > 500:
            raise error(400, "message too long, max 500 characters")
        uid = dashboard.get("uid") or ""
        if not isinstance(uid, str):
            raise BadRequestData("dashboard.uid must be a string")
        problem = check_uid(uid)
        if problem:
            raise error(400, problem)
        folder_uid = body.get("folderUid") or ""
        folder_id = body.get("folderId") or 0
        if not folder_uid and folder_id:  # deprecated folderId (§4)
            folder_uid = next(
                (f["uid"] for f in org.folders.values() if f["id"] == folder_id), "-missing-"
            )
        if folder_uid and folder_uid not in org.folders:
            raise error(404, "Folder not found", status="not-found")
        existing = org.dashboards.get(uid) if uid else None
        dash_id = dashboard.get("id")
        if isinstance(dash_id, int) and dash_id > 0:
            if existing is None:
                by_id = [d for d in org.dashboards.values() if d["id"] == dash_id]
                if not by_id:
                    raise error(404, "Dashboard not found", status="not-found")
                if uid:
                    raise error(400, "A dashboard with the same uid already exists")
                existing = by_id[0]
            elif existing["id"] != dash_id:
                raise error(400, "A dashboard with the same uid already exists")
        if uid in org.folders:
            raise error(400, "A dashboard with the same uid already exists")
        if existing is not None:
            if existing["provisioned"]:
                raise error(400, "Cannot save provisioned dashboard")
            # §4: a stale (or missing) version without overwrite is a 412 version-mismatch.
            if dashboard.get("version", 0) != existing["version"] and not body.get("overwrite"):
                raise error(
                    412,
                    "The dashboard has been changed by someone else",
                    status="version-mismatch",
                )
        record = self.store_dashboard(
            org, dashboard, folder_uid, body.get("message") or "", existing
        )
        return self._save_reply(record)

    def get_dashboard(self, ctx: Ctx) -> Reply:
        record, org = self._dashboard(ctx), ctx.org
        folder = org.folders.get(record["folderUid"])
        meta = {
            "type": "db",
            "canSave": True,
            "canEdit": True,
            "canAdmin": True,
            "canStar": True,
            "canDelete": True,
            "slug": slugify(record["dashboard"].get("title", "")),
            "url": self._dashboard_url(record),
            "expires": ZERO_TIME,
            "created": record["created"],
            "updated": record["updated"],
            "updatedBy": "admin",
            "createdBy": "admin",
            "version": record["version"],
            "hasAcl": False,
            "isFolder": False,
            "folderId": folder["id"] if folder else 0,
            "folderUid": record["folderUid"],
            "folderTitle": folder["title"] if folder else "General",
            "folderUrl": self._folder_out(org, folder)["url"] if folder else "",
            "provisioned": record["provisioned"],
            "provisionedExternalId": "dashboard.json" if record["provisioned"] else "",
        }
        return Reply(200, {"dashboard": copy.deepcopy(record["dashboard"]), "meta": meta})

    def delete_dashboard(self, ctx: Ctx) -> Reply:
        record = self._dashboard(ctx)
        if record["provisioned"]:
            raise error(400, "provisioned dashboard cannot be deleted")
        del ctx.org.dashboards[record["uid"]]
        ctx.org.dashboard_versions.pop(record["uid"], None)
        title = record["dashboard"].get("title", "")
        return Reply(
            200, {"title": title, "message": f"Dashboard {title} deleted", "uid": record["uid"]}
        )

    def dashboard_versions(self, ctx: Ctx) -> Reply:
        self._dashboard(ctx)
        history = list(reversed(ctx.org.dashboard_versions.get(ctx.params["uid"], [])))
        start = int(ctx.arg("start") or 0)
        limit = int(ctx.arg("limit") or 0) or len(history)
        page = history[start : start + limit]
        return Reply(200, [{k: v for k, v in h.items() if k != "data"} for h in page])

    def dashboard_version(self, ctx: Ctx) -> Reply:
        self._dashboard(ctx)
        for entry in ctx.org.dashboard_versions.get(ctx.params["uid"], []):
            if str(entry["version"]) == ctx.params["version"]:
                return Reply(200, copy.deepcopy(entry))
        raise error(404, "Dashboard version not found")

    def restore_dashboard(self, ctx: Ctx) -> Reply:
        record = self._dashboard(ctx)
        wanted = ctx.body.get("version")
        for entry in ctx.org.dashboard_versions.get(record["uid"], []):
            if entry["version"] == wanted:
                restored = self.store_dashboard(
                    ctx.org,
                    entry["data"],
                    record["folderUid"],
                    f"Restored from version {wanted}",
                    record,
                )
                return self._save_reply(restored)
        raise error(404, "Dashboard version not found")

    def search(self, ctx: Ctx) -> Reply:
        limit, page = query_int64(ctx.arg("limit")), query_int64(ctx.arg("page"))
        if limit > SEARCH_LIMIT_MAX:  # api/search.go, before anything else
            raise error(
                422,
                f"Limit is above maximum allowed ({SEARCH_LIMIT_MAX}), use page parameter to "
                "access hits beyond limit",
            )
        org = ctx.org
        kind = ctx.arg("type")
        query = ctx.arg("query").lower()
        tags = ctx.query.get("tag", [])
        # folderUIDs: repeated or comma-separated; "" (or "general") means the root.
        folder_uids = {
            "" if part == "general" else part
            for value in ctx.query.get("folderUIDs", [])
            for part in value.split(",")
        }
        dashboard_uids = set(ctx.args("dashboardUIDs"))
        hits: list[dict[str, Any]] = []
        if kind in ("", "dash-folder") and not tags:
            for folder in org.folders.values():
                if query and query not in folder["title"].lower():
                    continue
                if folder_uids and (folder.get("parentUid") or "") not in folder_uids:
                    continue
                if dashboard_uids and folder["uid"] not in dashboard_uids:
                    continue
                hits.append(
                    {
                        "id": folder["id"],
                        "uid": folder["uid"],
                        "title": folder["title"],
                        "uri": f"db/{slugify(folder['title'])}",
                        "url": self._folder_out(org, folder)["url"],
                        "slug": "",
                        "type": "dash-folder",
                        "tags": [],
                        "isStarred": False,
                        "sortMeta": 0,
                    }
                )
        if kind in ("", "dash-db"):
            for record in org.dashboards.values():
                dash = record["dashboard"]
                title = dash.get("title", "")
                if query and query not in title.lower():
                    continue
                # searchstore.TagsFilter: term IN (tags) ... HAVING COUNT(dashboard.id) >=
                # len(tags), one row per stored tag: every requested tag must be carried (AND).
                carried = [tag for tag in dash.get("tags") or [] if tag in tags]
                if tags and len(carried) < len(tags):
                    continue
                if folder_uids and record["folderUid"] not in folder_uids:
                    continue
                if dashboard_uids and record["uid"] not in dashboard_uids:
                    continue
                hit = {
                    "id": record["id"],
                    "uid": record["uid"],
                    "title": title,
                    "uri": f"db/{slugify(title)}",
                    "url": self._dashboard_url(record),
                    "slug": "",
                    "type": "dash-db",
                    "tags": list(dash.get("tags") or []),
                    "isStarred": False,
                    "sortMeta": 0,
                }
                folder = org.folders.get(record["folderUid"])
                if folder:
                    hit.update(
                        folderId=folder["id"],
                        folderUid=folder["uid"],
                        folderTitle=folder["title"],
                        folderUrl=self._folder_out(org, folder)["url"],
                    )
                hits.append(hit)
        hits.sort(key=lambda h: h["title"].lower(), reverse=ctx.arg("sort") == "alpha-desc")
        # The store (dashboards database FindDashboards): a limit below 1 is 1000, pages from 1.
        limit, page = limit if limit >= 1 else 1000, max(page, 1)
        return Reply(200, hits[(page - 1) * limit : page * limit])

    # -- §5.1 contact points --------------------------------------------------------------

    @staticmethod
    def contact_point_out(cp: dict[str, Any], decrypt: bool = False) -> dict[str, Any]:
        settings = copy.deepcopy(cp["settings"])
        if not decrypt:
            for key in SECRET_KEYS.get(cp["type"], ()):
                if settings.get(key):
                    settings[key] = REDACTED  # §0.3
        out = {
            "uid": cp["uid"],
            "name": cp["name"],
            "type": cp["type"],
            "settings": settings,
            "disableResolveMessage": cp["disableResolveMessage"],
        }
        if cp["provenance"]:
            out["provenance"] = cp["provenance"]
        return out

    def _contact_points(self, ctx: Ctx) -> list[dict[str, Any]]:
        name = ctx.arg("name")
        found = [cp for cp in ctx.org.contact_points.values() if not name or cp["name"] == name]
        return sorted(found, key=lambda cp: (cp["name"], cp["uid"]))

    def list_contact_points(self, ctx: Ctx) -> Reply:
        return Reply(200, [self.contact_point_out(cp) for cp in self._contact_points(ctx)])

    def export_contact_points(self, ctx: Ctx) -> Reply:
        decrypt = ctx.flag("decrypt")
        if decrypt and PERM_PROVISIONING_SECRETS_READ not in ctx.principal.permissions:
            raise self.fake.forbidden(PERM_PROVISIONING_SECRETS_READ)  # §0.3
        groups: dict[str, list[dict[str, Any]]] = {}
        for cp in self._contact_points(ctx):
            out = self.contact_point_out(cp, decrypt=decrypt)
            groups.setdefault(cp["name"], []).append(
                {
                    "uid": out["uid"],
                    "type": out["type"],
                    "settings": out["settings"],
                    "disableResolveMessage": out["disableResolveMessage"],
                }
            )
        payload = {
            "apiVersion": 1,
            "contactPoints": [
                {"orgId": ctx.org.org_id, "name": name, "receivers": receivers}
                for name, receivers in groups.items()
            ],
        }
        return self._export(ctx, payload)

    @staticmethod
    def _integration_problem(kind: str, settings: dict[str, Any]) -> str | None:
        """What grafana/alerting's config factories reject, for the common types."""
        if kind == "telegram":
            if not settings.get("bottoken"):
                return "could not find Bot Token in settings"
            if not settings.get("chatid"):
                return "could not find Chat Id in settings"
            for key in ("chatid", "message_thread_id", "message", "parse_mode"):
                if key in settings and not isinstance(settings[key], str):
                    return f"failed to unmarshal settings: {key} must be a string"
            for key in ("disable_web_page_preview", "protect_content", "disable_notifications"):
                if key in settings and not isinstance(settings[key], bool):
                    return f"failed to unmarshal settings: {key} must be a boolean"
            thread = settings.get("message_thread_id")
            if thread:
                try:
                    ok = -(2**31) <= int(thread) < 2**31
                except ValueError:
                    ok = False
                if not ok:
                    return "message thread id must be an integer"
            mode = settings.get("parse_mode")
            if mode and mode.lower() not in TELEGRAM_PARSE_MODES:
                return "unknown parse_mode, must be Markdown, MarkdownV2, HTML or None"
        elif kind == "email" and not settings.get("addresses"):
            return "could not find addresses in settings"
        elif kind == "webhook":
            if not settings.get("url"):
                return "required field 'url' is not specified"
            basic = settings.get("username") and settings.get("password")
            if basic and settings.get("authorization_credentials"):
                return (
                    "both HTTP Basic Authentication and Authorization Header are set, only 1 is "
                    "permitted"
                )
        elif kind == "slack":
            # receivers/slack/config.go: the url, else endpointUrl, else the chat API, which
            # needs a recipient, then a token.
            target = settings.get("url") or settings.get("endpointUrl") or SLACK_API_URL
            chat_api = target == SLACK_API_URL
            if chat_api and not str(settings.get("recipient") or "").strip():
                return "recipient must be specified when using the Slack chat API"
            mention = settings.get("mentionChannel") or ""
            if mention not in ("", "here", "channel"):
                return f'invalid value for mentionChannel: "{mention}"'
            if chat_api and not settings.get("token"):
                return "token must be specified when using the Slack chat API"
        return None

    def _validate_contact_point(self, cp: dict[str, Any]) -> None:
        kind = cp.get("type") or ""
        if not kind:
            raise error(400, "invalid object specification: type should not be an empty string")
        if kind not in SECRET_KEYS:
            raise error(400, f"invalid object specification: unknown type '{kind}'")
        if cp.get("settings") is None:
            raise error(400, "invalid object specification: settings should not be empty")
        if not cp.get("name"):
            raise error(400, "invalid object specification: name should not be empty")
        problem = self._integration_problem(kind, cp["settings"])
        if problem:
            raise error(400, f"invalid object specification: {problem}")

    def create_contact_point(self, ctx: Ctx) -> Reply:
        body, org = ctx.body, ctx.org
        self._validate_contact_point(body)
        uid = body.get("uid") or new_uid()
        if uid in org.contact_points:
            owner = org.contact_points[uid]["name"]
            # A plain error in the handler (ErrResp 500), per api_provisioning.go.
            raise error(
                500,
                "[alerting.notifications.contact-points.uidInUse] Receiver configuration with "
                f"UID '{uid}' already exists in contact point '{owner}'. Please use unique "
                "identifiers for receivers across all contact points.",
            )
        cp = {
            "uid": uid,
            "name": body["name"],
            "type": body["type"],
            "settings": copy.deepcopy(body["settings"]),
            "disableResolveMessage": bool(body.get("disableResolveMessage", False)),
            "provenance": ctx.provenance,
        }
        org.contact_points[uid] = cp
        return Reply(202, self.contact_point_out(cp))

    def update_contact_point(self, ctx: Ctx) -> Reply:
        body, org = ctx.body, ctx.org
        uid = ctx.params["uid"]  # the path wins over the body
        if body.get("settings") is None:
            raise error(400, "invalid object specification: settings should not be empty")
        stored = org.contact_points.get(uid)
        if stored is None:
            raise error(404, f"object not found: contact point with uid '{uid}' not found")
        settings = copy.deepcopy(body["settings"])
        for key in SECRET_KEYS.get(body.get("type") or "", ()):
            if settings.get(key) == REDACTED:  # §0.3: "[REDACTED]" keeps the stored secret
                settings[key] = stored["settings"].get(key, "")
        merged = {**body, "settings": settings}
        self._validate_contact_point(merged)
        check_relaxed_provenance(stored["provenance"], ctx.provenance)
        old_name = stored["name"]
        stored.update(
            name=body["name"],
            type=body["type"],
            settings=settings,
            disableResolveMessage=bool(body.get("disableResolveMessage", False)),
            provenance=ctx.provenance,
        )
        if old_name != stored["name"] and old_name not in org.receiver_names():
            self._rename_receiver(org, old_name, stored["name"])
        return Reply(202, {"message": "contactpoint updated"})

    @staticmethod
    def _rename_receiver(org: OrgState, old: str, new: str) -> None:
        """A renamed contact point is renamed in the policy tree and in rules."""
        for node in org.routes():
            if node.get("receiver") == old:
                node["receiver"] = new
        for rule in org.alert_rules().values():
            settings = rule.get("notification_settings")
            if settings and settings.get("receiver") == old:
                settings["receiver"] = new

    def delete_contact_point(self, ctx: Ctx) -> Reply:
        org, uid = ctx.org, ctx.params["uid"]
        cp = org.contact_points.get(uid)
        if cp is not None:
            name = cp["name"]
            last = sum(1 for other in org.contact_points.values() if other["name"] == name) == 1
            if last and any(node.get("receiver") == name for node in org.routes()):
                raise public_error(
                    409,
                    "alerting.notifications.contact-points.referenced",
                    "Contact point is currently referenced by a notification policy.",
                )
            used = [
                r
                for r in org.alert_rules().values()
                if (r.get("notification_settings") or {}).get("receiver") == name
            ]
            if last and used:
                raise public_error(
                    409,
                    "alerting.notifications.contact-points.used-by-rule",
                    "Contact point is currently used in the notification settings of one or "
                    "many alert rules.",
                )
            del org.contact_points[uid]
        # Unknown uids are not an error: the handler saves the unchanged configuration.
        return Reply(202, {"message": "contactpoint deleted"})

    # -- §5.2 policy tree -----------------------------------------------------------------

    def normalise_route(self, route: dict[str, Any]) -> dict[str, Any]:
        """A Route as Go decodes and re-encodes it (omitempty fields vanish, durations and
        matchers normalised, provenance and unknown keys dropped)."""
        out: dict[str, Any] = {}
        try:
            if route.get("receiver"):
                out["receiver"] = route["receiver"]
            if route.get("group_by"):
                out["group_by"] = list(route["group_by"])
            for key in ("match", "match_re"):
                if route.get(key):
                    out[key] = dict(route[key])
            # Matchers and ObjectMatchers sort themselves when decoded (labels.Matchers order:
            # name, value, type; alertmanager config/common/matchers.go and the definition
            # package's ObjectMatchers.UnmarshalJSON).
            if route.get("matchers"):
                matchers = [normalise_matcher(m) for m in route["matchers"]]
                out["matchers"] = sorted(matchers, key=lambda m: matcher_order(split_matcher(m)))
            if route.get("object_matchers"):
                objects = [check_object_matcher(m) for m in route["object_matchers"]]
                out["object_matchers"] = sorted(objects, key=matcher_order)
            for key in ("mute_time_intervals", "active_time_intervals"):
                if route.get(key):
                    out[key] = list(route[key])
            if route.get("continue"):
                out["continue"] = True
            if route.get("routes"):
                out["routes"] = [self.normalise_route(child) for child in route["routes"]]
            for key in ("group_wait", "group_interval", "repeat_interval"):
                if route.get(key) is not None:
                    out[key] = normalise_prom_duration(route[key])
        except (ValueError, re.error) as exc:
            raise BadRequestData(str(exc)) from exc
        return out

    @staticmethod
    def _route_problem(route: dict[str, Any]) -> str | None:
        """``Route.ValidateChild`` of the Grafana definitions, recursively."""
        group_by = route.get("group_by") or []
        if "..." in group_by and len(group_by) > 1:
            return "cannot have wildcard group_by (`...`) and other other labels at the same time"
        if len(set(group_by)) != len(group_by):
            dup = next(label for label in group_by if group_by.count(label) > 1)
            return f'duplicated label "{dup}" in group_by'
        for key in ("group_interval", "repeat_interval"):
            if route.get(key) == "0s":
                return f"{key} cannot be zero"
        for child in route.get("routes") or []:
            problem = _Api._route_problem(child)
            if problem:
                return problem
        return None

    def _validate_tree(self, org: OrgState, tree: dict[str, Any]) -> None:
        """``Route.Validate`` + receivers + mute timings: 400 ``invalid object specification``."""
        problem = self.tree_problem(org, tree)
        if problem:
            raise error(400, f"invalid object specification: {problem}")
        # 11.4 validates mute_time_intervals only (Route.ValidateMuteTimes); an unknown active
        # time interval fails later, when the saved configuration is decoded again
        # (checkTimeInterval in the definition package, "undefined active time interval"), a
        # plain error that RoutePutPolicyTree answers with a bare 500.
        if self.unknown_active_interval(org, tree):
            raise error(500, "Internal Server Error")

    @staticmethod
    def unknown_active_interval(org: OrgState, tree: dict[str, Any]) -> str | None:
        return next(
            (
                name
                for node in org.routes_of(tree)
                for name in node.get("active_time_intervals") or []
                if name not in org.mute_timings
            ),
            None,
        )

    def tree_problem(self, org: OrgState, tree: dict[str, Any]) -> str | None:
        """What ``Route.Validate`` and the receiver and mute-timing checks refuse in a tree
        (None if nothing)."""
        return self.structure_problem(tree) or self.reference_problem(org, tree)

    def structure_problem(self, tree: dict[str, Any]) -> str | None:
        """``Route.Validate``: the root's own rules, then every route's (ValidateChild)."""
        if not tree.get("receiver"):
            return "root route must specify a default receiver"
        if any(tree.get(k) for k in ("match", "match_re", "matchers", "object_matchers")):
            return "root route must not have any matchers"
        if tree.get("mute_time_intervals"):
            return "root route must not have any mute time intervals"
        if tree.get("active_time_intervals"):
            return "root route must not have any active time intervals"
        return self._route_problem(tree)

    @staticmethod
    def reference_problem(org: OrgState, tree: dict[str, Any]) -> str | None:
        """The first receiver or mute timing a tree names that does not exist."""
        names = org.receiver_names()
        problem = None
        stack = [tree]
        while stack and problem is None:
            node = stack.pop()
            receiver = node.get("receiver", "")
            if node is not tree and receiver == "":
                pass  # children may inherit the receiver
            elif receiver not in names:
                problem = f"receiver '{receiver}' does not exist"
            for name in node.get("mute_time_intervals") or []:
                if name not in org.mute_timings:
                    problem = problem or f"mute time interval '{name}' does not exist"
            stack.extend(node.get("routes") or [])
        return problem

    def policy_tree_out(self, org: OrgState) -> dict[str, Any]:
        out = copy.deepcopy(org.policy_tree)
        if org.policy_provenance:
            out["provenance"] = org.policy_provenance
        return out

    def get_policies(self, ctx: Ctx) -> Reply:
        return Reply(200, self.policy_tree_out(ctx.org))

    def put_policies(self, ctx: Ctx) -> Reply:
        # §0.4: the tree is one resource; the PUT replaces it entirely.
        tree = self.normalise_route(ctx.body)
        self._validate_tree(ctx.org, tree)
        check_relaxed_provenance(ctx.org.policy_provenance, ctx.provenance)
        ctx.org.policy_tree = tree
        ctx.org.policy_provenance = ctx.provenance
        return Reply(202, {"message": "policies updated"})

    def reset_policies(self, ctx: Ctx) -> Reply:
        # §5.2: resets the tree, clears provenance, re-adds the default receiver.
        org = ctx.org
        org.policy_tree = default_policy_tree()
        org.policy_provenance = ""
        if DEFAULT_RECEIVER not in org.receiver_names():
            org.contact_points[DEFAULT_RECEIVER_UID] = default_contact_point()
        return Reply(202, self.policy_tree_out(org))

    def export_policies(self, ctx: Ctx) -> Reply:
        route = copy.deepcopy(ctx.org.policy_tree)
        return self._export(
            ctx, {"apiVersion": 1, "policies": [{"orgId": ctx.org.org_id, **route}]}
        )

    # -- §5.5 templates -------------------------------------------------------------------

    @staticmethod
    def template_out(tmpl: dict[str, Any]) -> dict[str, Any]:
        out = {
            "name": tmpl["name"],
            "template": tmpl["template"],
            "version": template_version(tmpl["template"]),
        }
        if tmpl["provenance"]:
            out["provenance"] = tmpl["provenance"]
        return out

    def list_templates(self, ctx: Ctx) -> Reply:
        found = sorted(ctx.org.templates.values(), key=lambda t: t["name"])
        # §5.5: the list is null (not []) when there are no templates.
        return Reply(200, [self.template_out(t) for t in found] or None)

    def get_template(self, ctx: Ctx) -> Reply:
        tmpl = ctx.org.templates.get(ctx.params["name"])
        if tmpl is None:
            raise public_error(404, "alerting.notifications.templates.notFound", "Not found")
        return Reply(200, self.template_out(tmpl))

    @staticmethod
    def _check_template(name: str, text: str) -> str:
        """``NotificationTemplate.Validate`` (11.4, definitions/provisioning_templates.go):
        content required, trimmed (TrimSpace; comments stay), wrapped in a define unless it
        has one (the regex is Grafana's), then parsed as a Go template (go_template_error)."""

        def invalid(reason: str) -> ApiError:
            return public_error(
                400,
                "alerting.notifications.templates.invalidFormat",
                "Template is in invalid format. Correct the payload and try again.",
                {"Error": reason},
            )

        if not text:
            raise invalid("template must have content")
        content = text.strip()
        if not re.search(r"\{\{\s*define", content):
            body = "\n".join("  " + line for line in content.split("\n"))
            content = f'{{{{ define "{name}" }}}}\n{body}\n{{{{ end }}}}'
        problem = go_template_error(name, content)
        if problem:
            raise invalid(f"invalid template: {problem}")
        return content

    def put_template(self, ctx: Ctx) -> Reply:
        name, org = ctx.params["name"], ctx.org
        text = ctx.body.get("template") or ""
        content = self._check_template(name, text)
        stored = org.templates.get(name)
        if stored is not None:
            version = ctx.body.get("version") or ""
            if version and version != template_version(stored["template"]):
                raise public_error(
                    409,
                    "alerting.notifications.conflict",
                    "provided version does not match current version",
                )
            check_relaxed_provenance(stored["provenance"], ctx.provenance)
        tmpl = {"name": name, "template": content, "provenance": ctx.provenance}
        org.templates[name] = tmpl
        return Reply(202, self.template_out(tmpl))

    def delete_template(self, ctx: Ctx) -> Reply:
        stored = ctx.org.templates.get(ctx.params["name"])
        if stored is not None:
            version = ctx.arg("version")
            if version and version != template_version(stored["template"]):
                raise public_error(
                    409,
                    "alerting.notifications.conflict",
                    "provided version does not match current version",
                )
            check_relaxed_provenance(stored["provenance"], ctx.provenance)
            del ctx.org.templates[ctx.params["name"]]
        return Reply(204)

    # -- §5.5 mute timings ----------------------------------------------------------------
    # The 11.4 service: pkg/services/ngalert/provisioning/mute_timings.go (MuteTimingService),
    # errors from provisioning/errors.go; the values are Alertmanager's (normalise_time_interval).

    @staticmethod
    def mute_timing_out(timing: dict[str, Any]) -> dict[str, Any]:
        out = {
            "name": timing["name"],
            "time_intervals": copy.deepcopy(timing["time_intervals"]),
            "version": template_version(json.dumps(timing["time_intervals"], sort_keys=True)),
        }
        if timing["provenance"]:
            out["provenance"] = timing["provenance"]
        return out

    @staticmethod
    def _find_mute_timing(org: OrgState, name_or_uid: str) -> dict[str, Any] | None:
        """By name, else by uid (legacy_storage.NameToUid: the name in unpadded base64url)."""
        timing = org.mute_timings.get(name_or_uid)
        if timing is None:
            try:
                padded = name_or_uid + "=" * (-len(name_or_uid) % 4)
                name = base64.urlsafe_b64decode(padded.encode()).decode()
            except (binascii.Error, UnicodeDecodeError, ValueError):
                return None
            timing = org.mute_timings.get(name)
        return timing

    def _mute_timing(self, ctx: Ctx) -> dict[str, Any]:
        timing = self._find_mute_timing(ctx.org, ctx.params["name"])
        if timing is None:
            # ErrTimeIntervalNotFound has no public message: errutil answers its status text.
            raise public_error(404, "alerting.notifications.time-intervals.notFound", "Not found")
        return timing

    @staticmethod
    def _time_intervals(body: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The body's intervals as stored. Alertmanager's UnmarshalJSON methods validate while
        the request is decoded, so a bad value is "bad request data" (400)."""
        try:
            return [normalise_time_interval(item) for item in body.get("time_intervals") or []]
        except ValueError as exc:
            raise BadRequestData(f"time_intervals: {exc}") from exc

    @staticmethod
    def _check_mute_timing_name(name: str) -> None:
        """MuteTimeInterval.Validate (a YAML round trip): the only rule is a non-empty name."""
        if not name:
            raise public_error(
                400,
                "alerting.notifications.time-intervals.invalidFormat",
                "Time interval is in invalid format. Correct the payload and try again.",
                {"Error": "missing name in mute time interval"},
            )

    def list_mute_timings(self, ctx: Ctx) -> Reply:
        found = sorted(ctx.org.mute_timings.values(), key=lambda t: t["name"])
        return Reply(200, [self.mute_timing_out(t) for t in found])

    def get_mute_timing(self, ctx: Ctx) -> Reply:
        return Reply(200, self.mute_timing_out(self._mute_timing(ctx)))

    def create_mute_timing(self, ctx: Ctx) -> Reply:
        intervals = self._time_intervals(ctx.body)
        name = ctx.body.get("name") or ""
        self._check_mute_timing_name(name)
        if name in ctx.org.mute_timings:
            raise public_error(
                400,
                "alerting.notifications.time-intervals.nameExists",
                "Time interval with this name already exists. Use a different name or update "
                "existing one.",
            )
        timing = {"name": name, "time_intervals": intervals, "provenance": ctx.provenance}
        ctx.org.mute_timings[name] = timing
        return Reply(201, self.mute_timing_out(timing))

    def put_mute_timing(self, ctx: Ctx) -> Reply:
        intervals = self._time_intervals(ctx.body)
        # RoutePutMuteTiming: the body's name defaults to the path; a different body name
        # makes the path a uid, and the timing is renamed.
        name = ctx.body.get("name") or ctx.params["name"]
        if name == ctx.params["name"]:
            timing = ctx.org.mute_timings.get(name)
        else:
            timing = self._find_mute_timing(ctx.org, ctx.params["name"])
            timing = None if timing is None or timing["name"] == ctx.params["name"] else timing
        if timing is None:
            raise public_error(404, "alerting.notifications.time-intervals.notFound", "Not found")
        version = ctx.body.get("version") or ""
        if version and version != self.mute_timing_out(timing)["version"]:
            raise public_error(409, "alerting.notifications.conflict", "Conflict")
        check_relaxed_provenance(timing["provenance"], ctx.provenance)
        if name != timing["name"]:
            self._rename_mute_timing(ctx.org, timing["name"], name)
        timing.update(name=name, time_intervals=intervals, provenance=ctx.provenance)
        return Reply(202, self.mute_timing_out(timing))

    @staticmethod
    def _rename_mute_timing(org: OrgState, old: str, new: str) -> None:
        """replaceMuteTiming and RenameTimeIntervalInNotificationSettings: routes (mute and
        active) and rules follow the new name."""
        org.mute_timings[new] = org.mute_timings.pop(old)
        for node in org.routes():
            for key in ("mute_time_intervals", "active_time_intervals"):
                if node.get(key):
                    node[key] = [new if n == old else n for n in node[key]]
        for rule in org.alert_rules().values():
            settings = rule.get("notification_settings") or {}
            if settings.get("mute_time_intervals"):
                settings["mute_time_intervals"] = [
                    new if n == old else n for n in settings["mute_time_intervals"]
                ]

    def delete_mute_timing(self, ctx: Ctx) -> Reply:
        timing = self._find_mute_timing(ctx.org, ctx.params["name"])
        if timing is None:
            return Reply(204)  # "Time interval was not found. Skip deleting"
        name = timing["name"]
        check_relaxed_provenance(timing["provenance"], ctx.provenance)
        # isMuteTimeInUseInRoutes looks at mute_time_intervals only (active ones are not checked
        # in 11.4); the rules are those whose notification settings name it.
        in_routes = any(name in (n.get("mute_time_intervals") or []) for n in ctx.org.routes())
        rules = sorted(
            uid
            for uid, rule in ctx.org.alert_rules().items()
            if name in ((rule.get("notification_settings") or {}).get("mute_time_intervals") or [])
        )
        if in_routes or rules:
            # MakeErrTimeIntervalInUse: a template without a public message, so errutil
            # answers the status text; what uses it is in "extra".
            extra: dict[str, Any] = {}
            if rules:
                extra["UsedByRules"] = rules
            if in_routes:
                extra["UsedByRoutes"] = True
            raise public_error(409, "alerting.notifications.time-intervals.used", "Conflict", extra)
        version = ctx.arg("version")
        if version and version != self.mute_timing_out(timing)["version"]:
            raise public_error(409, "alerting.notifications.conflict", "Conflict")
        del ctx.org.mute_timings[name]
        return Reply(204)

    def export_mute_timings(self, ctx: Ctx) -> Reply:
        timings = [
            {"orgId": ctx.org.org_id, "name": t["name"], "time_intervals": t["time_intervals"]}
            for t in sorted(ctx.org.mute_timings.values(), key=lambda t: t["name"])
        ]
        return self._export(ctx, {"apiVersion": 1, "muteTimes": timings})

    # -- §5.3 alert rules: normalisation and validation -----------------------------------

    def _duration(self, value: Any, what: str) -> str:
        try:
            return normalise_prom_duration(value if isinstance(value, str) else "")
        except ValueError as exc:
            raise BadRequestData(f"{what}: {exc}") from exc

    @staticmethod
    def _query(query: dict[str, Any]) -> dict[str, Any]:
        """An AlertQuery as stored: queryType from the model, model defaults (PreSave)."""
        model = copy.deepcopy(query.get("model") or {})
        for key, default in (("maxDataPoints", 43200), ("intervalMs", 1000)):
            if not isinstance(model.get(key), int | float) or model.get(key) == 0:
                model[key] = default
        query_type = query.get("queryType", "")
        if isinstance(model.get("queryType"), str):
            query_type = model["queryType"]
        span = query.get("relativeTimeRange") or {}
        return {
            "refId": query.get("refId", ""),
            "queryType": query_type,
            "relativeTimeRange": {"from": span.get("from", 0), "to": span.get("to", 0)},
            "datasourceUid": query.get("datasourceUid", ""),
            "model": model,
        }

    def normalise_rule(self, raw: dict[str, Any], org: OrgState, folder: str, group: str) -> dict:
        """A ProvisionedAlertRule as the server stores it (no id/updated/provenance yet)."""
        rule: dict[str, Any] = {
            "uid": raw.get("uid") or "",
            "orgID": org.org_id,
            "folderUID": folder,
            "ruleGroup": group,
            "title": raw.get("title", ""),
            "condition": raw.get("condition", ""),
            "data": [self._query(q) for q in raw.get("data") or []],
            "noDataState": raw.get("noDataState") or "NoData",
            "execErrState": raw.get("execErrState") or "Alerting",
            "for": self._duration(raw.get("for", "0s"), "for"),
            "isPaused": bool(raw.get("isPaused", False)),
        }
        rule.update(self._keep_firing_for(raw))
        for key in ("annotations", "labels"):
            if raw.get(key):
                rule[key] = dict(raw[key])
        rule["notification_settings"] = self.notification_settings(raw)
        rule["record"] = dict(raw["record"]) if raw.get("record") else None
        if not rule["record"]:  # models.ClearRecordingRuleIgnoredFields drops it from those
            rule.update(self._missing_series(raw))
        return rule

    def _keep_firing_for(self, raw: Mapping[str, Any]) -> dict[str, str]:
        """Grafana 12's keep_firing_for, a model.Duration always encoded ("0s" when unset);
        11.x has no such field (Go drops it)."""
        if self.fake.profile.major < 12:
            return {}
        return {
            "keep_firing_for": self._duration(raw.get("keep_firing_for") or "0s", "keep_firing_for")
        }

    def _missing_series(self, raw: Mapping[str, Any]) -> dict[str, int]:
        """Grafana 12's missingSeriesEvalsToResolve, a ``*int`` with omitempty (api/compat.go
        copies it both ways): absent when unset (nil: resolve after 2 missing evaluations);
        11.x has no such field (Go drops it)."""
        value = raw.get("missingSeriesEvalsToResolve")
        if self.fake.profile.major < 12 or value is None:
            return {}
        return {"missingSeriesEvalsToResolve": value}

    def notification_settings(self, raw: Mapping[str, Any]) -> dict[str, Any] | None:
        """A rule's ``notification_settings`` as Go re-encodes AlertRuleNotificationSettings:
        a nil pointer is null; receiver always there; group_by, the durations (normalised) and
        mute_time_intervals omitted when empty. 11.4 has no active_time_intervals (its spec and
        struct lack it, so Go drops it), nor keep_firing_for or missingSeriesEvalsToResolve on
        the rule (both came in Grafana 12: grafana/grafana#100750, #102150)."""
        settings = raw.get("notification_settings")
        if settings is None:
            return None
        out: dict[str, Any] = {"receiver": settings.get("receiver") or ""}
        if settings.get("group_by"):
            out["group_by"] = list(settings["group_by"])
        for key in ("group_wait", "group_interval", "repeat_interval"):
            if settings.get(key) is not None:
                out[key] = self._duration(settings[key], f"notification_settings.{key}")
        if settings.get("mute_time_intervals"):
            out["mute_time_intervals"] = list(settings["mute_time_intervals"])
        if settings.get("policy"):  # only the 13.x spec has it (omitempty)
            out["policy"] = settings["policy"]
        return out

    @staticmethod
    def notification_settings_problems(settings: Mapping[str, Any], org: OrgState) -> list[str]:
        """notifier.staticValidator.Validate (pkg/services/ngalert/notifier/validation.go):
        the settings' own Validate first (its first error only), else every unknown receiver
        and mute timing ("receiver does not exist: X", "time interval does not exist: Y").
        A ``policy`` (13.x) is PolicyRouting, exclusive with the contact point routing
        (models/notifications.go NotificationSettings.Validate, PolicyRouting.Validate), and
        must name a named tree (the validator's ErrorRouteDoesNotExist)."""
        receiver, policy = settings.get("receiver", ""), settings.get("policy", "")
        if policy:
            if receiver:
                return ["only one of policy routing or contact point routing can be specified"]
            if policy == DEFAULT_TREE:
                return [
                    "policy routing should not explicitly point to the default tree: "
                    f'"{DEFAULT_TREE}"'
                ]
            if policy not in org.managed_routes:
                # [infer] the wording, after its siblings ErrorReceiverDoesNotExist "receiver %s
                # does not exist" (notifier/validation.go); its own text is not in the index.
                return [f"route {policy} does not exist"]
            return []
        if not receiver:
            return ["receiver must be specified"]
        group_by = settings.get("group_by") or []
        required = {"alertname", "grafana_folder"}
        if group_by and group_by != ["..."] and not required <= set(group_by):
            return [
                "group by override must contain two required labels: 'alertname' and "
                "'grafana_folder'"
            ]
        for key, what in (
            ("group_interval", "group interval"),
            ("repeat_interval", "repeat interval"),
        ):
            if settings.get(key) == "0s":
                return [f"{what} must be greater than zero"]
        problems = []
        if receiver not in org.receiver_names():
            problems.append(f"receiver does not exist: {receiver}")
        for name in settings.get("mute_time_intervals") or []:
            if name not in org.mute_timings:
                problems.append(f"time interval does not exist: {name}")
        return problems

    def check_single_rule_settings(self, rule: Mapping[str, Any], org: OrgState) -> None:
        """CreateAlertRule / UpdateAlertRule (provisioning/alert_rules.go) return the
        validator's plain error, which the handler answers with a bare 500."""
        settings = rule.get("notification_settings")
        if settings and self.notification_settings_problems(settings, org):
            raise error(500, "Internal Server Error")

    def check_rule(self, rule: dict[str, Any], org: OrgState) -> None:
        """Grafana's rule validation (PreSave, expressions); the notification settings are
        checked by the endpoints (notification_settings_problems)."""
        data = rule["data"]
        if not data:
            raise invalid_rule("no queries or expressions are found")
        if not rule["title"]:
            raise invalid_rule("title is empty")
        refs = [q["refId"] for q in data]
        for ref in refs:
            if refs.count(ref) > 1:
                raise invalid_rule(f"refID '{ref}' is used by more than one query")
        if rule["condition"] not in refs:
            raise error(
                400,
                "[alerting.alert-rule.conditionNotExist] Condition "
                f"{rule['condition']} does not exist, must be one of [{' '.join(refs)}]",
            )
        for query in data:
            if query["datasourceUid"] in EXPRESSION_DATASOURCE_UIDS:
                self._check_expression(query, refs)
                continue
            if query["datasourceUid"] not in org.datasources:
                raise invalid_rule(
                    f"invalid query {query['refId']}: data source not found: "
                    f"{query['datasourceUid']}"
                )
            span = query["relativeTimeRange"]
            if not span["from"] > span["to"]:  # seconds (§5.3); From must be before To
                raise error(
                    400,
                    "[alerting.alert-rule.invalidRelativeTime] Invalid alert rule query "
                    f"{query['refId']}: invalid relative time range [From: "
                    f"{go_duration(span['from'])}, To: {go_duration(span['to'])}]",
                )
        if rule.get("record") and not self.fake.recording_rules_enabled:
            raise invalid_rule("recording rules cannot be created on this instance")
        missing = rule.get("missingSeriesEvalsToResolve")
        if missing is not None and missing <= 0:  # models/alert_rule.go validateAlertRuleFields
            raise invalid_rule("field `missing_series_evals_to_resolve` must be greater than 0")
        for label in rule.get("labels") or {}:  # ValidateAlertRule, after the fields
            if label in RESERVED_RULE_LABELS:
                raise invalid_rule(f"system reserved label {label} cannot be defined")

    @staticmethod
    def _check_expression(query: dict[str, Any], refs: list[str]) -> None:
        """Server-side expressions (§5.3): reduce, threshold, math, resample, classic."""
        model, ref = query["model"], query["refId"]

        def fail(message: str) -> ApiError:
            return invalid_rule(f"failed to build query '{ref}': {message}")

        kind = model.get("type")
        if not isinstance(kind, str) or not kind:
            raise fail("no expression command type in query")
        if kind not in EXPRESSION_TYPES:
            raise fail(f"expression command type '{kind}' in query is not supported")
        if kind in ("reduce", "threshold", "resample"):
            target = model.get("expression")
            if not isinstance(target, str) or not target:
                raise fail(f"no variable specified to reference for refId {ref}")
            if target.lstrip("$") not in refs:
                raise fail(f"unable to find dependent node '{target}'")
        if kind == "reduce":
            reducer = model.get("reducer")
            if reducer not in REDUCERS:
                raise fail(f"reducer '{reducer}' is not supported")
            settings = model.get("settings") or {}
            mode = settings.get("mode", "")
            if mode not in REDUCE_MODES:
                raise fail(
                    f"reducer mode '{mode}' is not supported. Supported only: [dropNN,replaceNN]"
                )
            replace = settings.get("replaceWithValue")
            if mode == "replaceNN" and not isinstance(replace, int | float):
                raise fail("setting replaceWithValue must be specified when mode is 'replaceNN'")
        elif kind == "threshold":
            conditions = model.get("conditions")
            if not isinstance(conditions, list) or len(conditions) != 1:
                raise fail("threshold expression requires exactly one condition")
            for key in ("evaluator", "unloadEvaluator"):
                evaluator = conditions[0].get(key)
                if evaluator is None and key == "unloadEvaluator":
                    continue
                evaluator = evaluator or {}
                func, params = evaluator.get("type"), evaluator.get("params")
                if func in THRESHOLD_ONE_PARAM:
                    need = 1
                elif func in THRESHOLD_TWO_PARAMS:
                    need = 2
                else:
                    known = sorted(THRESHOLD_ONE_PARAM | THRESHOLD_TWO_PARAMS)
                    raise fail(
                        f"expected threshold function to be one of [{', '.join(known)}], got {func}"
                    )
                if (
                    not isinstance(params, list)
                    or len(params) < need
                    or not all(isinstance(p, int | float) for p in params[:need])
                ):
                    got = len(params) if isinstance(params, list) else 0
                    raise fail(f"incorrect number of arguments: got {got} but need {need}")
        elif kind == "math":
            expression = model.get("expression")
            if not isinstance(expression, str) or not expression.strip():
                raise fail("math expression is empty")
            for name in _MATH_REF_RE.findall(expression):
                if name not in refs:
                    raise fail(f"unable to find dependent node '{name}'")
        elif kind == "classic_conditions":
            conditions = model.get("conditions")
            if not isinstance(conditions, list) or not conditions:
                raise fail("classic conditions requires at least one condition")
            for condition in conditions:
                params = ((condition or {}).get("query") or {}).get("params") or []
                if not params or params[0] not in refs:
                    raise fail("classic condition refers to an unknown query")

    def rule_out(self, rule: dict[str, Any]) -> dict[str, Any]:
        """A stored rule as the API returns it (provenance omitted when empty; the pointers
        notification_settings and record are null when unset, as in the 11.x docs' example
        response, docs/sources/developers/http_api/alerting_provisioning.md)."""
        out = {k: copy.deepcopy(v) for k, v in rule.items() if k != "provenance"}
        if rule.get("provenance"):
            out["provenance"] = rule["provenance"]
        out.setdefault("isPaused", False)
        out.setdefault("notification_settings", None)
        out.setdefault("record", None)
        for key, value in self._keep_firing_for({}).items():
            out.setdefault(key, value)  # a rule stored before an upgrade to 12 reads as "0s"
        return out

    @staticmethod
    def _comparable(rule: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in rule.items() if k not in ("id", "updated", "provenance")}

    def _title_conflict(self, rule: dict[str, Any], others: Iterable[dict[str, Any]]) -> None:
        for other in others:
            if other["title"] == rule["title"] and other["uid"] != rule["uid"]:
                raise error(
                    400,
                    "[alerting.alert-rule.conflict] conflicting alert rule found [rule_uid: "
                    f"'{rule['uid']}', title: '{rule['title']}', namespace_uid: "
                    f"'{rule['folderUID']}']: a conflicting alert rule is found: rule title "
                    "under the same organisation and folder should be unique",
                )

    def _folder_for_rules(self, org: OrgState, folder_uid: str) -> None:
        if folder_uid not in org.folders:
            raise public_error(404, "folder.notFound", "folder not found")

    @staticmethod
    def _check_interval(interval: Any, base: int) -> None:
        """§0.6: > 0 and a multiple of the scheduler's base interval (10 s)."""
        if not isinstance(interval, int) or interval <= 0 or interval % base:
            raise invalid_rule(
                f"interval ({go_duration(interval if isinstance(interval, int) else 0)}) should "
                f"be non-zero and divided exactly by scheduler interval: {base}"
            )

    # -- §5.3 alert rules: endpoints ------------------------------------------------------

    def _locate(self, org: OrgState, uid: str) -> tuple[tuple[str, str], dict[str, Any]] | None:
        for key, group in org.rule_groups.items():
            for rule in group["rules"]:
                if rule["uid"] == uid:
                    return key, rule
        return None

    def list_alert_rules(self, ctx: Ctx) -> Reply:
        rules = sorted(ctx.org.alert_rules().values(), key=lambda r: r["id"])
        return Reply(200, [self.rule_out(rule) for rule in rules])

    def get_alert_rule(self, ctx: Ctx) -> Reply:
        found = self._locate(ctx.org, ctx.params["uid"])
        if found is None:
            raise ApiError(404)  # §1: alert rule 404 has an empty body
        return Reply(200, self.rule_out(found[1]))

    def _insert_rule(
        self, org: OrgState, rule: dict[str, Any], interval: int, provenance: str
    ) -> dict[str, Any]:
        key = (rule["folderUID"], rule["ruleGroup"])
        group = org.rule_groups.setdefault(
            key, {"title": key[1], "folderUid": key[0], "interval": interval, "rules": []}
        )
        rule.update(id=rule.get("id") or org.next_id(), updated=now_iso(), provenance=provenance)
        group["rules"].append(rule)
        return rule

    def _drop_empty_groups(self, org: OrgState) -> None:
        for key in [k for k, g in org.rule_groups.items() if not g["rules"]]:
            del org.rule_groups[key]

    def create_alert_rule(self, ctx: Ctx) -> Reply:
        body, org = ctx.body, ctx.org
        folder, group = body.get("folderUID", ""), body.get("ruleGroup", "")
        self._folder_for_rules(org, folder)
        rule = self.normalise_rule(body, org, folder, group)
        self.check_single_rule_settings(rule, org)
        self.check_rule(rule, org)
        rule["uid"] = rule["uid"] or new_uid()
        if self._locate(org, rule["uid"]) is not None:
            raise public_error(
                409,
                "alerting.alert-rule.conflict",
                f"conflicting alert rule found [rule_uid: '{rule['uid']}']: rule UID exists",
            )
        self._title_conflict(
            rule, (r for r in org.alert_rules().values() if r["folderUID"] == folder)
        )
        # §0.6: POST ignores any interval; the group's interval or the default 1m applies.
        existing = org.rule_groups.get((folder, group))
        interval = existing["interval"] if existing else 60
        stored = self._insert_rule(org, rule, interval, ctx.provenance)
        return Reply(201, self.rule_out(stored))

    def update_alert_rule(self, ctx: Ctx) -> Reply:
        body, org, uid = ctx.body, ctx.org, ctx.params["uid"]
        found = self._locate(org, uid)
        if found is None:
            raise ApiError(404)
        key, stored = found
        # §0.2: stored provenance other than none must equal the request's, else a plain 500.
        if stored["provenance"] and stored["provenance"] != ctx.provenance:
            raise error(
                500,
                f"cannot change provenance from '{stored['provenance']}' to '{ctx.provenance}'",
            )
        folder, group = body.get("folderUID", ""), body.get("ruleGroup", "")
        self._folder_for_rules(org, folder)
        rule = self.normalise_rule({**body, "uid": uid}, org, folder, group)
        self.check_single_rule_settings(rule, org)
        self.check_rule(rule, org)
        self._title_conflict(
            rule, (r for r in org.alert_rules().values() if r["folderUID"] == folder)
        )
        old_group = org.rule_groups[key]
        if key == (folder, group):
            index = old_group["rules"].index(stored)
            rule.update(id=stored["id"], updated=now_iso(), provenance=ctx.provenance)
            old_group["rules"][index] = rule
        else:
            old_group["rules"].remove(stored)
            existing = org.rule_groups.get((folder, group))
            rule["id"] = stored["id"]
            self._insert_rule(org, rule, existing["interval"] if existing else 60, ctx.provenance)
            self._drop_empty_groups(org)
        return Reply(200, self.rule_out(rule))

    def delete_alert_rule(self, ctx: Ctx) -> Reply:
        found = self._locate(ctx.org, ctx.params["uid"])
        if found is not None:  # §5.3: idempotent, 204 also when the rule does not exist
            key, stored = found
            if stored["provenance"] and stored["provenance"] != ctx.provenance:
                raise public_error(
                    409,
                    "alerting.provenanceMismatch",
                    f"cannot delete with provided provenance '{ctx.provenance}', needs "
                    f"'{stored['provenance']}'",
                )
            ctx.org.rule_groups[key]["rules"].remove(stored)
            self._drop_empty_groups(ctx.org)
        return Reply(204)

    # -- §5.4 rule groups -----------------------------------------------------------------

    def group_out(self, group: dict[str, Any]) -> dict[str, Any]:
        return {
            "title": group["title"],
            "folderUid": group["folderUid"],
            "interval": group["interval"],
            "rules": [self.rule_out(rule) for rule in group["rules"]],
        }

    def _group(self, ctx: Ctx) -> dict[str, Any]:
        group = ctx.org.rule_groups.get((ctx.params["folder"], ctx.params["group"]))
        if group is None:
            raise public_error(404, "alerting.alert-rule.notFound", "rule group not found")
        return group

    def get_rule_group(self, ctx: Ctx) -> Reply:
        return Reply(200, self.group_out(self._group(ctx)))

    def _echo_rule(self, raw: dict[str, Any]) -> dict[str, Any]:
        """The rule-group PUT echoes the decoded body re-encoded by Go (§5.4): no generated
        uids or ids, zero ``updated``, durations normalised."""
        out: dict[str, Any] = {
            "id": raw.get("id", 0),
            "uid": raw.get("uid", ""),
            "orgID": raw.get("orgID", 0),
            "folderUID": raw.get("folderUID", ""),
            "ruleGroup": raw.get("ruleGroup", ""),
            "title": raw.get("title", ""),
            "condition": raw.get("condition", ""),
            "data": [
                {
                    "refId": q.get("refId", ""),
                    "queryType": q.get("queryType", ""),
                    "relativeTimeRange": {
                        "from": (q.get("relativeTimeRange") or {}).get("from", 0),
                        "to": (q.get("relativeTimeRange") or {}).get("to", 0),
                    },
                    "datasourceUid": q.get("datasourceUid", ""),
                    "model": copy.deepcopy(q.get("model")),
                }
                for q in raw.get("data") or []
            ],
            "updated": ZERO_TIME,
            "noDataState": raw.get("noDataState", ""),
            "execErrState": raw.get("execErrState", ""),
            "for": self._duration(raw.get("for", "0s"), "for"),
            "isPaused": bool(raw.get("isPaused", False)),
            "notification_settings": self.notification_settings(raw),
            "record": copy.deepcopy(raw.get("record")),
            **self._keep_firing_for(raw),
            **self._missing_series(raw),
        }
        for key in ("annotations", "labels"):
            if raw.get(key):
                out[key] = copy.deepcopy(raw[key])
        return out

    def put_rule_group(self, ctx: Ctx) -> Reply:
        body, org = ctx.body, ctx.org
        folder, title = ctx.params["folder"], ctx.params["group"]  # the path wins (§5.4)
        raw_rules = body.get("rules")
        interval = body.get("interval", 0)
        echo = {
            "title": title,
            "folderUid": folder,
            "interval": interval,
            "rules": None if raw_rules is None else [self._echo_rule(r) for r in raw_rules],
        }
        self._check_interval(interval, self.fake.base_interval_seconds)
        self._folder_for_rules(org, folder)
        key = (folder, title)
        current = org.rule_groups.get(key)
        current_rules = current["rules"] if current else []
        if raw_rules is None:  # §5.4: rules omitted or null: only the interval changes
            raw_rules = [self.rule_out(rule) for rule in current_rules]
        rules = [self.normalise_rule(raw, org, folder, title) for raw in raw_rules]
        for rule in rules:
            self.check_rule(rule, org)
        # calcDelta: rules matched by uid (anywhere in the org) are updated when they differ
        # (content, position or group interval), the others inserted; missing ones deleted.
        everywhere = {r["uid"]: (k, r) for k, g in org.rule_groups.items() for r in g["rules"]}
        interval_changed = current is not None and current["interval"] != interval
        result: list[dict[str, Any]] = []
        updated: list[dict[str, Any]] = []  # the stored versions of rules that change
        inserted = 0
        for index, rule in enumerate(rules):
            found = everywhere.get(rule["uid"]) if rule["uid"] else None
            if found is None:
                rule["uid"] = rule["uid"] or new_uid()
                inserted += 1
                result.append(rule)
                continue
            old_key, old = found
            same = (
                old_key == key
                and not interval_changed
                and current_rules.index(old) == index
                and self._comparable(old) == self._comparable(rule)
            )
            if same:
                result.append(old)  # unchanged: keeps id, updated and provenance
            else:
                updated.append(old)
                rule["id"] = old["id"]
                result.append(rule)
        kept = {rule["uid"] for rule in result}
        deleted = [rule for rule in current_rules if rule["uid"] not in kept]
        if not updated and not inserted and not deleted:
            return Reply(200, echo)  # §5.4: an identical body is a no-op (delta.IsEmpty())
        # ReplaceRuleGroup validates the new or updated rules' notification settings and joins
        # the validator's errors to ErrAlertRuleFailedValidation (errors.Join: one per line).
        for rule in result:
            settings = rule.get("notification_settings")
            problems = self.notification_settings_problems(settings, org) if settings else []
            if "updated" not in rule and problems:
                raise error(400, "\n".join(["invalid alert rule", *problems]))
        # §0.2: api -> none is allowed in a rule group, file -> anything is a 409.
        for old in [*updated, *deleted]:
            if not rule_group_provenance_allowed(old["provenance"], ctx.provenance):
                raise self._provenance_mismatch(old["provenance"], ctx.provenance)
        others = [
            r
            for k, g in org.rule_groups.items()
            if k[0] == folder and k != key
            for r in g["rules"]
            if r["uid"] not in kept
        ]
        for index, rule in enumerate(result):
            self._title_conflict(rule, [*others, *result[:index]])
        now = now_iso()
        for rule in result:
            if "updated" not in rule:  # inserted or updated
                rule.setdefault("id", org.next_id())
                rule.update(updated=now, provenance=ctx.provenance)
        for k, group in org.rule_groups.items():
            if k != key:  # rules moved into this group leave their old group
                group["rules"] = [r for r in group["rules"] if r["uid"] not in kept]
        org.rule_groups[key] = {
            "title": title,
            "folderUid": folder,
            "interval": interval,
            "rules": result,
        }
        self._drop_empty_groups(org)
        return Reply(200, echo)

    @staticmethod
    def _provenance_mismatch(stored: str, requested: str) -> ApiError:
        return public_error(
            409,
            "alerting.provenanceMismatch",
            f"cannot update with provided provenance '{requested}', needs '{stored}'",
        )

    def delete_rule_group(self, ctx: Ctx) -> Reply:
        group = self._group(ctx)
        for rule in group["rules"]:
            if not rule_group_provenance_allowed(rule["provenance"], ctx.provenance):
                raise self._provenance_mismatch(rule["provenance"], ctx.provenance)
        del ctx.org.rule_groups[(ctx.params["folder"], ctx.params["group"])]
        return Reply(204)

    # -- exports (§0.5: the file format, not the API format) ------------------------------

    def _export(self, ctx: Ctx, payload: dict[str, Any]) -> Reply:
        accept = ctx.headers.get("accept", "")
        kind = "json" if "json" in accept else "yaml"
        if ctx.arg("format") in ("yaml", "json", "hcl"):
            kind = ctx.arg("format")
        if kind == "hcl":
            raise error(501, "fake grafana: the hcl export is not implemented")
        if kind == "json":
            return Reply(200, payload)
        text = yaml.safe_dump(payload, sort_keys=False, allow_unicode=True)
        return Reply(200, raw=text.encode(), content_type="text/yaml")

    def _group_export(self, org: OrgState, group: dict[str, Any], only: str = "") -> dict:
        folder = org.folders.get(group["folderUid"], {})
        rules = []
        for rule in group["rules"]:
            if only and rule["uid"] != only:
                continue
            exported = {
                "uid": rule["uid"],
                "title": rule["title"],
                "condition": rule["condition"],
                "data": [
                    {
                        "refId": q["refId"],
                        "relativeTimeRange": dict(q["relativeTimeRange"]),
                        "datasourceUid": q["datasourceUid"],
                        "model": copy.deepcopy(q["model"]),
                    }
                    for q in rule["data"]
                ],
                "noDataState": rule["noDataState"],
                "execErrState": rule["execErrState"],
                "for": rule["for"],
                "isPaused": rule["isPaused"],
            }
            for key in ("annotations", "labels", "notification_settings", "record"):
                if rule.get(key):
                    exported[key] = copy.deepcopy(rule[key])
            if rule.get("missingSeriesEvalsToResolve") is not None:  # snake_case in files
                exported["missing_series_evals_to_resolve"] = rule["missingSeriesEvalsToResolve"]
            rules.append(exported)
        return {
            "orgId": org.org_id,
            "name": group["title"],
            "folder": folder.get("title", ""),
            "interval": format_prom_duration(group["interval"] * 1000),
            "rules": rules,
        }

    def export_rule_group(self, ctx: Ctx) -> Reply:
        group = self._group(ctx)
        return self._export(ctx, {"apiVersion": 1, "groups": [self._group_export(ctx.org, group)]})

    def export_alert_rule(self, ctx: Ctx) -> Reply:
        found = self._locate(ctx.org, ctx.params["uid"])
        if found is None:
            raise error(404, "could not find alert rule")
        group = ctx.org.rule_groups[found[0]]
        exported = self._group_export(ctx.org, group, only=ctx.params["uid"])
        return self._export(ctx, {"apiVersion": 1, "groups": [exported]})

    def export_alert_rules(self, ctx: Ctx) -> Reply:
        folders, group_name, rule_uid = ctx.args("folderUid"), ctx.arg("group"), ctx.arg("ruleUid")
        if rule_uid:
            ctx.params["uid"] = rule_uid
            return self.export_alert_rule(ctx)
        groups = [
            g
            for (folder, title), g in sorted(ctx.org.rule_groups.items())
            if (not folders or folder in folders) and (not group_name or title == group_name)
        ]
        if not groups:
            raise ApiError(404)
        exported = [self._group_export(ctx.org, g) for g in groups]
        return self._export(ctx, {"apiVersion": 1, "groups": exported})

    # -- the receiver test endpoint (UI "Test" button) ------------------------------------

    @staticmethod
    def receivers_test_gone(ctx: Ctx) -> Reply:
        return Reply(410, {"message": RECEIVERS_TEST_GONE})

    def post_receivers_test(self, ctx: Ctx) -> Reply:
        """POST /api/alertmanager/grafana/config/api/v1/receivers/test.

        Secure settings follow ``ProcessSecureSettings``: a value in ``secureSettings`` wins,
        then a secret key found in ``settings``, then (for an integration with a ``uid``) the
        stored secret; an unknown ``uid`` is a 400 ``unknown receiver``. Each integration that
        passes validation is "sent" and recorded in ``OrgState.test_notifications``. Answers
        200 (all sent), 400 (all invalid) or 207 (anything else failed).
        """
        org, body = ctx.org, ctx.body
        receivers = body.get("receivers") or []
        pairs = [
            (receiver, integration)
            for receiver in receivers
            for integration in receiver.get("grafana_managed_receiver_configs") or []
        ]
        if not pairs:
            raise error(400, "no receivers")
        for _, integration in pairs:
            uid = integration.get("uid") or ""
            if uid and uid not in org.contact_points:
                raise error(400, f"unknown receiver: {uid}")
        alert = notification_test_alert(body.get("alert") or {})
        results: dict[int, dict[str, Any]] = {}
        invalid = failed = 0
        for receiver, integration in pairs:
            kind = integration.get("type") or ""
            name = integration.get("name") or receiver.get("name") or ""
            uid = integration.get("uid") or new_uid()
            settings = copy.deepcopy(integration.get("settings") or {})
            secure = integration.get("secureSettings") or {}
            stored = org.contact_points.get(integration.get("uid") or "")
            for key in SECRET_KEYS.get(kind, ()):
                if key in secure:
                    settings[key] = secure[key]
                elif key not in settings and stored is not None and key in stored["settings"]:
                    settings[key] = stored["settings"][key]
            entry: dict[str, Any] = {"name": name, "uid": uid, "status": "ok"}
            problem = (
                "type should not be an empty string"
                if not kind
                else self._integration_problem(kind, settings)
            )
            if problem:
                invalid += 1
                entry.update(
                    status="failed",
                    error=f'failed to validate integration "{name}" (UID {uid}) of type '
                    f'"{kind}": {problem}',
                )
            else:
                delivery_error = self.fake.delivery_error(kind, settings)
                if delivery_error:
                    failed += 1
                    entry.update(status="failed", error=delivery_error)
                org.test_notifications.append(
                    {
                        "receiver": receiver.get("name", ""),
                        "name": name,
                        "uid": uid,
                        "type": kind,
                        "settings": settings,
                        "alert": copy.deepcopy(alert),
                        "status": entry["status"],
                        "error": entry.get("error", ""),
                    }
                )
            results.setdefault(id(receiver), {"name": receiver.get("name", ""), "configs": []})[
                "configs"
            ].append(entry)
        status = 200
        if invalid == len(pairs):
            status = 400
        elif invalid or failed:
            status = 207
        answer = {
            "alert": alert,
            "receivers": [
                {"name": r["name"], "grafana_managed_receiver_configs": r["configs"]}
                for r in results.values()
            ],
            "notified_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        }
        return Reply(status, answer)


# --------------------------------------------------------------------------------------------
# HTTP glue
# --------------------------------------------------------------------------------------------


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    fake: FakeGrafana


class _HttpHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeGrafana"
    disable_nagle_algorithm = True  # headers and body are two writes: avoid the 40 ms stall
    server: _HttpServer

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        reply = self.server.fake.handle(self.command, self.path, list(self.headers.items()), raw)
        payload = reply.payload()
        self.send_response(reply.status)
        if payload:
            self.send_header("Content-Type", reply.content_type)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return


# --------------------------------------------------------------------------------------------
# The public object
# --------------------------------------------------------------------------------------------


class FakeGrafana:
    """A fake Grafana on 127.0.0.1. See the module docstring and ``start_fake_grafana``.

    Options:
        user, password: the basic-auth admin (all permissions), default admin/admin.
        tokens: bearer tokens, ``{token: FakeToken | iterable of permissions}``; default one
            admin token ``glsa_fake_admin_token``.
        orgs: organisation ids that exist (each has its own ``OrgState``), default ``(1,)``.
        spec_path: the Swagger document to validate against (default: the reference copy).
        base_interval_seconds: the scheduler interval rule-group intervals must divide (10).
        recording_rules_enabled: accept ``record`` rules (11.4 has them behind a flag: False).
        telegram_valid_tokens: if given, a test notification through Telegram fails with
            "Unauthorized" unless its bot token is in the set; ``"[REDACTED]"`` always fails.
        version: the profile, "11.6", "12.4" or "13.2" (default ``$FAKE_GRAFANA_VERSION``, else
            "11.6").
        features: the feature toggles switched on (default ``$FAKE_GRAFANA_FEATURES``, comma
            separated), kept in ``fake.features`` (a set tests may change between requests).
    """

    def __init__(
        self,
        *,
        user: str = "admin",
        password: str = "admin",
        tokens: Mapping[str, FakeToken | Iterable[str]] | None = None,
        orgs: Iterable[int] = (1,),
        spec_path: str | Path | None = None,
        base_interval_seconds: int = 10,
        recording_rules_enabled: bool = False,
        telegram_valid_tokens: Iterable[str] | None = None,
        version: str | None = None,
        features: Iterable[str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        name = version or os.environ.get("FAKE_GRAFANA_VERSION") or DEFAULT_PROFILE
        if name not in PROFILES:
            raise ValueError(f"no fake Grafana profile {name!r}: one of {sorted(PROFILES)}")
        self.profile = PROFILES[name]
        self.user, self.password = user, password
        raw_tokens = tokens if tokens is not None else {DEFAULT_TOKEN: FakeToken()}
        self.tokens: dict[str, FakeToken] = {
            token: spec if isinstance(spec, FakeToken) else FakeToken(frozenset(spec))
            for token, spec in raw_tokens.items()
        }
        org_ids = set(orgs) | {t.org_id for t in self.tokens.values()}
        self.orgs: dict[int, OrgState] = {org_id: OrgState(org_id) for org_id in sorted(org_ids)}
        self._spec_path = str(spec_path or DEFAULT_SPEC_PATH)
        self.spec = spec_validator(self._spec_path, self.profile.major)
        self.features: set[str] = set(
            features
            if features is not None
            else filter(None, os.environ.get("FAKE_GRAFANA_FEATURES", "").split(","))
        )
        self.base_interval_seconds = base_interval_seconds
        self.recording_rules_enabled = recording_rules_enabled
        self.telegram_valid_tokens = (
            None if telegram_valid_tokens is None else set(telegram_valid_tokens)
        )
        self.database_ok = True  # False: /api/health answers 503 (§1)
        self.requests: list[RecordedRequest] = []
        self.spec_violations: list[dict[str, Any]] = []
        self.unknown_requests: list[tuple[str, str]] = []
        self.internal_errors: list[str] = []  # exceptions in the fake itself (should stay [])
        self._failures: list[_Failure] = []
        self._lock = threading.RLock()
        self.api = _Api(self)
        self._server = _HttpServer((host, port), _HttpHandler)
        self._server.fake = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="fake-grafana", daemon=True
        )
        self._started = False

    # -- lifecycle ----------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeGrafana:
        if not self._started:
            self._thread.start()
            self._started = True
        return self

    def stop(self) -> None:
        if self._started:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._started = False
        self._server.server_close()

    def __enter__(self) -> FakeGrafana:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def version(self) -> str:
        """The profile's name ("11.6", "12.4", "13.2"); ``profile.version`` is the full one."""
        return self.profile.name

    def feature_enabled(self, name: str) -> bool:
        """A toggle is on when switched on and known to the profile's release
        (``TOGGLES_SINCE``)."""
        return name in self.features and self.profile.major >= TOGGLES_SINCE.get(name, 0)

    def upgrade(self, version: str) -> None:
        """Grafana upgraded in place to the profile ``version``: the same state (its database),
        that release's endpoints, discovery and checks from the next request on."""
        with self._lock:
            self.profile = PROFILES[version]
            self.spec = spec_validator(self._spec_path, self.profile.major)
            self.api = _Api(self)

    # -- state and instrumentation ------------------------------------------------------

    @property
    def state(self) -> OrgState:
        """Organisation 1's state (``org_state(n)`` for the others)."""
        return self.orgs[1] if 1 in self.orgs else next(iter(self.orgs.values()))

    def org_state(self, org_id: int) -> OrgState:
        return self.orgs[org_id]

    @property
    def sent_test_notifications(self) -> list[dict[str, Any]]:
        """What the receiver test endpoint sent in org 1 (``{receiver, name, uid, type,
        settings (secrets resolved), alert, status, error}``)."""
        return self.state.test_notifications

    def writes(self, prefix: str | None = None) -> int:
        """Requests other than GET/HEAD, /api/health excluded (optionally under a prefix)."""
        return sum(
            1
            for r in list(self.requests)
            if r.method not in ("GET", "HEAD")
            and r.path != "/api/health"
            and (prefix is None or r.path.startswith(prefix))
        )

    def reads(self, prefix: str | None = None) -> int:
        """GET requests, /api/health excluded (optionally under a prefix)."""
        return sum(
            1
            for r in list(self.requests)
            if r.method == "GET"
            and r.path != "/api/health"
            and (prefix is None or r.path.startswith(prefix))
        )

    def write_requests(self) -> list[RecordedRequest]:
        return [
            r
            for r in list(self.requests)
            if r.method not in ("GET", "HEAD") and r.path != "/api/health"
        ]

    def reset_log(self) -> None:
        """Forget the recorded requests (spec violations and unknown requests are kept)."""
        with self._lock:
            self.requests.clear()

    def fail_next(
        self,
        n: int = 1,
        status: int = 500,
        paths: str | Iterable[str] | None = None,
        *,
        methods: str | Iterable[str] | None = None,
        retry_after: str | int | None = None,
        body: Any = None,
    ) -> None:
        """Answer the next ``n`` matching requests with ``status`` instead of handling them.

        ``paths`` is a prefix or several (None: any path but /api/health); ``methods`` limits the
        methods. A 429 carries ``Retry-After`` (default "1"). The requests are still recorded.
        """
        prefixes = None if paths is None else ((paths,) if isinstance(paths, str) else tuple(paths))
        wanted = None
        if methods is not None:
            wanted = frozenset([methods] if isinstance(methods, str) else methods)
        if retry_after is None and status == 429:
            retry_after = 1
        with self._lock:
            self._failures.append(
                _Failure(
                    n,
                    status,
                    prefixes,
                    wanted,
                    None if retry_after is None else str(retry_after),
                    body if body is not None else {"message": "fake grafana: injected failure"},
                )
            )

    def delivery_error(self, kind: str, settings: Mapping[str, Any]) -> str:
        """Whether a test notification would be refused by the far end ("" = delivered)."""
        if kind == "telegram":
            token = settings.get("bottoken", "")
            if token == REDACTED or (
                self.telegram_valid_tokens is not None and token not in self.telegram_valid_tokens
            ):
                return "failed to send telegram message: Unauthorized (401)"
        return ""

    @staticmethod
    def forbidden(permission: str) -> ApiError:
        """The access-control 403, naming the missing permission."""
        return ApiError(
            403,
            {
                "accessErrorId": "ACE0000000001",
                "message": "You'll need additional permissions to perform this action. "
                f"Permissions needed: {permission}",
                "title": "Access denied",
            },
        )

    # -- seeding ("someone else's" objects, UI edits) ------------------------------------

    def make_datasource(
        self,
        org: OrgState,
        *,
        uid: str,
        name: str,
        body: Mapping[str, Any],
        ds_id: int | None = None,
    ) -> dict[str, Any]:
        return {
            "id": ds_id or org.next_id(),
            "uid": uid,
            "orgId": org.org_id,
            "name": name,
            "type": body.get("type", ""),
            "typeLogoUrl": f"public/app/plugins/datasource/{body.get('type', '')}/img/logo.svg",
            "access": body.get("access", "proxy"),
            "url": body.get("url", ""),
            "user": body.get("user", ""),
            "database": body.get("database", ""),
            "basicAuth": bool(body.get("basicAuth", False)),
            "basicAuthUser": body.get("basicAuthUser", ""),
            "withCredentials": bool(body.get("withCredentials", False)),
            "isDefault": bool(body.get("isDefault", False)),
            "jsonData": copy.deepcopy(body.get("jsonData") or {}),
            "secureJsonData": dict(body.get("secureJsonData") or {}),
            "version": 1,
            "readOnly": False,
        }

    def make_folder(
        self, org: OrgState, uid: str, title: str, parent: str = "", description: str = ""
    ) -> dict[str, Any]:
        now = now_iso()
        return {
            "id": org.next_id(),
            "uid": uid,
            "title": title,
            "description": description,
            "parentUid": parent,
            "version": 1,
            "created": now,
            "updated": now,
        }

    def seed_datasource(
        self,
        uid: str,
        name: str,
        type: str = "prometheus",
        *,
        url: str = "http://prometheus:9090",
        read_only: bool = False,
        org_id: int = 1,
        **fields: Any,
    ) -> dict[str, Any]:
        """A data source created outside the API; ``read_only`` = file-provisioned (§2)."""
        org = self.orgs[org_id]
        body = {"type": type, "access": "proxy", "url": url, **fields}
        ds = self.make_datasource(org, uid=uid, name=name, body=body)
        ds["readOnly"] = read_only
        with self._lock:
            org.datasources[uid] = ds
        return ds

    def seed_folder(
        self, uid: str, title: str, *, parent_uid: str = "", org_id: int = 1
    ) -> dict[str, Any]:
        org = self.orgs[org_id]
        folder = self.make_folder(org, uid, title, parent_uid)
        with self._lock:
            org.folders[uid] = folder
        return folder

    def seed_dashboard(
        self,
        dashboard: dict[str, Any],
        *,
        folder_uid: str = "",
        provisioned: bool = False,
        org_id: int = 1,
    ) -> dict[str, Any]:
        """A dashboard saved by someone else (``provisioned``: from a file, read-only)."""
        org = self.orgs[org_id]
        with self._lock:
            existing = org.dashboards.get(dashboard.get("uid") or "")
            return self.api.store_dashboard(
                org, dashboard, folder_uid, "seeded", existing, provisioned
            )

    def ui_save_dashboard(self, uid: str, dashboard: dict[str, Any], *, org_id: int = 1) -> dict:
        """Someone saves the dashboard in the UI: a new version with this JSON."""
        org = self.orgs[org_id]
        with self._lock:
            record = org.dashboards[uid]
            return self.api.store_dashboard(
                org, {**dashboard, "uid": uid}, record["folderUid"], "ui edit", record
            )

    def ui_edit_rule(
        self, uid: str, *, org_id: int = 1, allow_provisioned: bool = False, **fields: Any
    ) -> dict[str, Any]:
        """Someone edits alert rule ``uid`` in the UI. ``fields`` are ProvisionedAlertRule keys
        that replace the rule's (``isPaused=True``, ``labels={...}``, ``notification_settings=
        {"receiver": ...}`` or ``None``, ``**{"for": "5m"}``), normalised and validated as the
        server does: ValueError when the profile's Grafana would refuse the edit, or has no such
        field (``keep_firing_for`` before 12). The UI cannot edit a provisioned rule (provenance
        "api" or "file") unless ``allow_provisioned``. The rule keeps its id and provenance;
        ``updated`` moves. Returns the rule as the API now shows it."""
        org = self.orgs[org_id]
        fixed = {"id", "uid", "orgID", "folderUID", "ruleGroup", "updated", "provenance"}
        editable = set(self.spec.definitions["ProvisionedAlertRule"]["properties"]) - fixed
        if set(fields) - editable:
            raise ValueError(
                f"not an editable rule field in {self.profile.version}: {sorted(fields)}"
            )
        with self._lock:
            found = self.api._locate(org, uid)
            if found is None:
                raise KeyError(f"no alert rule {uid!r}")
            (folder, title), stored = found
            if stored["provenance"] and not allow_provisioned:
                raise ValueError(f"rule {uid!r} is provisioned ({stored['provenance']}): locked")
            raw = {**self.api.rule_out(stored), **fields}
            try:
                rule = self.api.normalise_rule(raw, org, folder, title)
                self.api.check_rule(rule, org)
            except (ApiError, BadRequestData) as exc:
                raise ValueError(f"Grafana refuses this edit: {exc}") from exc
            settings = rule["notification_settings"]
            problems = self.api.notification_settings_problems(settings, org) if settings else []
            if problems:
                raise ValueError(f"Grafana refuses this edit: {problems}")
            rule.update(id=stored["id"], updated=now_iso(), provenance=stored["provenance"])
            rules = org.rule_groups[(folder, title)]["rules"]
            rules[rules.index(stored)] = rule
            return self.api.rule_out(rule)

    def seed_contact_point(
        self,
        name: str,
        type: str = "email",
        settings: dict[str, Any] | None = None,
        *,
        uid: str | None = None,
        provenance: str = "",
        disable_resolve_message: bool = False,
        org_id: int = 1,
    ) -> dict[str, Any]:
        cp = {
            "uid": uid or new_uid(),
            "name": name,
            "type": type,
            "settings": settings if settings is not None else {"addresses": f"{name}@example.com"},
            "disableResolveMessage": disable_resolve_message,
            "provenance": provenance,
        }
        with self._lock:
            self.orgs[org_id].contact_points[cp["uid"]] = cp
        return cp

    def seed_route(
        self, route: dict[str, Any], *, index: int | None = None, org_id: int = 1
    ) -> dict[str, Any]:
        """Add a route (normalised) under the root of the policy tree."""
        node = self.api.normalise_route(route)
        with self._lock:
            routes = self.orgs[org_id].policy_tree.setdefault("routes", [])
            routes.insert(len(routes) if index is None else index, node)
        return node

    def seed_template(
        self, name: str, template: str, *, provenance: str = "", org_id: int = 1
    ) -> dict[str, Any]:
        tmpl = {"name": name, "template": template, "provenance": provenance}
        with self._lock:
            self.orgs[org_id].templates[name] = tmpl
        return tmpl

    def seed_mute_timing(
        self,
        name: str,
        time_intervals: list[dict[str, Any]] | None = None,
        *,
        provenance: str = "",
        org_id: int = 1,
    ) -> dict[str, Any]:
        """Normalised as Grafana stores it (ValueError for what Alertmanager refuses)."""
        intervals = [normalise_time_interval(item) for item in time_intervals or []]
        timing = {"name": name, "time_intervals": intervals, "provenance": provenance}
        with self._lock:
            self.orgs[org_id].mute_timings[name] = timing
        return timing

    def seed_rule_group(
        self,
        folder_uid: str,
        title: str,
        rules: list[dict[str, Any]],
        *,
        interval: int = 60,
        provenance: str = "",
        org_id: int = 1,
    ) -> dict[str, Any]:
        """Another team's rule group (the folder is created if missing). Each rule needs a
        ``title``; the rest defaults to an always-firing math expression."""
        org = self.orgs[org_id]
        with self._lock:
            if folder_uid not in org.folders:
                org.folders[folder_uid] = self.make_folder(org, folder_uid, folder_uid)
            stored = []
            for raw in rules:
                full = {
                    "condition": "A",
                    "data": [
                        {
                            "refId": "A",
                            "datasourceUid": "__expr__",
                            "model": {"type": "math", "expression": "1 == 1"},
                        }
                    ],
                    "noDataState": "NoData",
                    "execErrState": "Error",
                    "for": "1m",
                    **raw,
                }
                rule = self.api.normalise_rule(full, org, folder_uid, title)
                rule["uid"] = rule["uid"] or new_uid()
                rule.update(id=org.next_id(), updated=now_iso(), provenance=provenance)
                stored.append(rule)
            group = {"title": title, "folderUid": folder_uid, "interval": interval, "rules": stored}
            org.rule_groups[(folder_uid, title)] = group
        return group

    # -- request handling -----------------------------------------------------------------

    def _authenticate(self, headers: Mapping[str, str]) -> Principal:
        auth = headers.get("authorization", "")
        scheme, _, credentials = auth.partition(" ")
        if scheme.lower() == "basic":
            try:
                login, _, secret = base64.b64decode(credentials).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                login, secret = "", ""
            if (login, secret) != (self.user, self.password):
                raise public_error(401, "password-auth.failed", "Invalid username or password")
            org_header = headers.get("x-grafana-org-id", "1").strip() or "1"
            org_id = int(org_header) if org_header.isdigit() else -1
            if org_id not in self.orgs:
                raise public_error(401, "auth.unauthorized", "Unauthorized")
            return Principal(login, ALL_PERMISSIONS, org_id)
        if scheme.lower() == "bearer":
            token = self.tokens.get(credentials.strip())
            if token is None:
                raise public_error(401, "api-key.invalid", "Invalid API key")
            # A service-account token is bound to its org; X-Grafana-Org-Id does not move it.
            return Principal("service-account", token.permissions, token.org_id)
        raise public_error(401, "auth.unauthorized", "Unauthorized")

    def _namespace_org(
        self, method: str, path: str, principal: Principal, namespace: str
    ) -> OrgState:
        """The org of an /apis namespace, as the org-id authorizer allows it
        (pkg/services/apiserver/auth/authorizer/org_id.go): a parse error or an org the caller
        is not a member of is a 403 (the basic-auth admin belongs to every org; a service
        account to its own)."""
        try:
            org_id = namespace_org_id(namespace)
        except ValueError as exc:
            raise k8s_forbidden(
                method, path, principal.login, f"error reading namespace: {exc}"
            ) from None
        member = org_id in self.orgs and (
            principal.login != "service-account" or org_id == principal.org_id
        )
        if not member:
            reason = f"{principal.login} is not a member of org {org_id}"
            raise k8s_forbidden(method, path, principal.login, reason)
        return self.orgs[org_id]

    def _take_failure(self, method: str, path: str) -> Reply | None:
        for failure in self._failures:
            if failure.remaining > 0 and failure.matches(method, path):
                failure.remaining -= 1
                headers = (
                    {} if failure.retry_after is None else {"Retry-After": failure.retry_after}
                )
                return Reply(failure.status, copy.deepcopy(failure.body), headers)
        self._failures = [f for f in self._failures if f.remaining > 0]
        return None

    def record_violation(
        self, method: str, path: str, operation: str, errors: list[str], body: Any
    ) -> None:
        """Keep a request body real Grafana would refuse (``fake.spec_violations``)."""
        self.spec_violations.append(
            {"method": method, "path": path, "operation": operation, "errors": errors, "body": body}
        )

    def handle(self, method: str, target: str, headers: list[tuple[str, str]], raw: bytes) -> Reply:
        """Handle one request (called by the HTTP handler threads)."""
        parts = urlsplit(target)
        path = parts.path.rstrip("/") or "/"
        query = parse_qs(parts.query, keep_blank_values=True)
        lower = {name.lower(): value for name, value in headers}
        text = raw.decode("utf-8", errors="replace")
        try:
            body: Any = json.loads(text) if text.strip() else None
            bad_json = None
        except json.JSONDecodeError as exc:
            body, bad_json = text, str(exc)
        logged_headers = {
            name: (
                value.split(" ", 1)[0] + " <redacted>" if name.lower() == "authorization" else value
            )
            for name, value in headers
        }
        record = RecordedRequest(method, path, query, logged_headers, body)
        with self._lock:
            self.requests.append(record)
            reply = self._dispatch(method, path, query, lower, body, bad_json)
            record.status = reply.status
        return reply

    def _dispatch(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: Mapping[str, str],
        body: Any,
        bad_json: str | None,
    ) -> Reply:
        injected = self._take_failure(method, path)
        if injected is not None:
            return injected
        if path == "/api/health" and method in ("GET", "HEAD"):  # §1: no auth needed
            health = {"commit": "fake", "database": "ok", "version": self.profile.version}
            if not self.database_ok:
                return Reply(503, {**health, "database": "failing"})
            return Reply(200, health)
        apis = path == "/apis" or path.startswith("/apis/")
        found = self.api.match(method, path)
        if found is None:
            self.unknown_requests.append((method, path))
            return k8s_path_not_found().reply() if apis else Reply(404, {"message": "Not found"})
        route, params = found
        deprecation: dict[str, str] = {}  # set once the caller got through to the handler
        try:
            principal = self._authenticate(headers)
            org = self.orgs[principal.org_id]
            namespace = params.get("namespace", "") if apis else ""
            if namespace:
                org = self._namespace_org(method, path, principal, namespace)
            if route.permissions and not set(route.permissions) & principal.permissions:
                missing = " or ".join(route.permissions)
                if apis:
                    raise k8s_forbidden(method, path, principal.login, f"needs {missing}")
                raise self.forbidden(missing)
            replacement = DEPRECATED_ENDPOINTS.get((method, route.template))
            if replacement and self.profile.major >= 13:
                deprecation = deprecation_headers(replacement)
            decoded = body
            if apis and bad_json is not None:
                raise k8s_status(400, f"couldn't get version/kind; json parse error: {bad_json}")
            if not apis and route.checks_body and method in ("POST", "PUT", "PATCH"):
                decoded = self._check_body(method, path, body, bad_json)
            ctx = Ctx(method, path, params, query, headers, decoded, org, principal, namespace)
            try:
                reply = route.handler(ctx)
            except BadRequestData as exc:
                self.record_violation(method, path, "decode", [str(exc)], body)
                reply = Reply(400, {"message": "bad request data"})
        except ApiError as exc:
            reply = exc.reply()
        except Exception as exc:  # a bug of the fake: answer, and keep it for the tests
            self.internal_errors.append(f"{method} {path}: {traceback.format_exc()}")
            return Reply(500, {"message": f"fake grafana internal error: {exc!r}"})
        reply.headers.update(deprecation)
        return reply

    def _check_body(self, method: str, path: str, body: Any, bad_json: str | None) -> Any:
        """Validate a request body against the spec; the Go-decoded body, or an ApiError."""
        operation = self.spec.find(method, path)
        if operation is None or operation.body_schema is None:
            return body
        if bad_json is not None or body is None:
            reason = bad_json or "empty body"
            self.record_violation(method, path, operation.operation_id, [f"$: {reason}"], body)
            raise error(400, "bad request data")
        # Validate what Go decodes: unknown keys and nulls on typed fields are ignored by Go.
        decoded = self.spec.go_decode(operation.body_schema, body)
        errors = self.spec.errors(operation, decoded)
        if errors:
            described = [describe_error(e) for e in errors]
            self.record_violation(method, path, operation.operation_id, described, body)
            raise error(
                400, f"fake grafana: request body does not match the OpenAPI spec: {described[0]}"
            )
        return decoded


def start_fake_grafana(**options: Any) -> FakeGrafana:
    """Start a ``FakeGrafana`` (options as its constructor); call ``.stop()`` when done."""
    return FakeGrafana(**options).start()


def prometheus_query_problem(url: str) -> str:
    """Why the instant query ``1+1`` at ``url`` fails, as Go's HTTP client says it ("" when
    it answers): queried for real on loopback; any other host is taken as reachable."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f'Post "{url}/api/v1/query": unsupported protocol scheme "{parts.scheme}"'
    if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        return ""
    endpoint = f"{url.rstrip('/')}/api/v1/query"
    try:
        answer = requests.post(endpoint, data={"query": "1+1", "time": "4"}, timeout=5)
    except requests.ConnectionError:
        return f'Post "{endpoint}": dial tcp {parts.netloc}: connect: connection refused'
    except requests.RequestException as exc:
        return f'Post "{endpoint}": {exc}'
    if answer.status_code != 200:
        return f"bad_response: {answer.status_code}"
    return ""
