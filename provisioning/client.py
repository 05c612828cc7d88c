"""A small client for Grafana's HTTP API: auth, org, timeouts, bounded retries, and errors a
person can act on. It never logs or prints a request body (they can carry secrets)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import requests
from urllib3.exceptions import NewConnectionError

from provisioning.errors import ProvisioningError

# Answers that a moment later may not repeat: throttling, and Grafana or a gateway failing.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER_SECONDS = 60.0

# What Grafana sends about a deprecated endpoint (apps/NOTES.md §a): Warning, and headers
# named X-API-* (X-API-Deprecation-Date, X-API-Replacement; any later one too).
WARNING, API_HEADER_PREFIX = "warning", "x-api-"
# What a 403 on a path most likely lacks (API-NOTES §1, "Permissions").
PERMISSIONS = (
    ("/api/v1/provisioning", "alert.provisioning:write (role fixed:alerting.provisioning:writer)"),
    ("/api/datasources", "datasources:write"),
    ("/api/folders", "folders:write (role fixed:folders:writer)"),
    ("/api/dashboards", "dashboards:write (role fixed:dashboards:writer)"),
    ("/api/alertmanager", "alert.notifications:write"),
)


class GrafanaError(ProvisioningError):
    """One line for a person: what failed and what to do."""

    def __init__(self, message: str, status: int | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.status, self.body = status, body


class _Passing(Exception):
    """A failure that may pass: the request is sent again, after ``wait`` s at least.
    ``unsent``: Grafana certainly did not act on it (no connection, or throttled)."""

    def __init__(self, error: GrafanaError, wait: float = 0, unsent: bool = False) -> None:
        self.error, self.wait, self.unsent = error, wait, unsent


class GrafanaClient:
    """Every request is retried ``retries`` times on a failure that may pass: no connection,
    a reset, a timeout, an answer cut short, 429 and 5xx. That holds for writes too, as every
    write names its uid: a repeat of a write that landed is refused as a duplicate or a stale
    version, or finds nothing to delete, and the caller settles that by reading again
    (``plan.apply``)."""

    def __init__(
        self,
        url: str,
        *,
        org_id: int = 1,
        token: str | None = None,
        user: str | None = None,
        password: str | None = None,
        timeout: float = 10,
        retries: int = 3,
        disable_provenance: bool = False,
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout, self.retries = timeout, retries
        # The first pause between tries, doubled after each: 0.5 s with the default timeout.
        self.backoff = timeout / 20
        self.disable_provenance = disable_provenance
        self.writes = 0
        self.deprecations: dict[str, str] = {}  # what Grafana said -> the first request
        self._session = requests.Session()
        self._session.headers["X-Grafana-Org-Id"] = str(org_id)
        if token:
            self._session.headers["Authorization"] = f"Bearer {token}"
        elif user is not None:
            self._session.auth = (user, password or "")

    def get(self, path: str, params: dict[str, Any] | None = None, missing_ok: bool = False) -> Any:
        """The JSON body, or None for a 404 when ``missing_ok``."""
        return self.request("GET", path, params=params, missing_ok=missing_ok)

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        missing_ok: bool = False,
        repeatable: bool = True,
    ) -> Any:
        """The JSON answer (None: none, or a 404 when ``missing_ok``); a GrafanaError once
        Grafana refused, or failed ``retries`` + 1 times. A request that is not
        ``repeatable`` (it acts each time, as sending a test message) is sent again only
        when Grafana certainly did not act on it."""
        headers = {}
        if method != "GET":
            self.writes += 1
            if self.disable_provenance:  # only its presence counts (API-NOTES §0.1)
                headers["X-Disable-Provenance"] = "true"
        attempt = 0
        while True:
            try:
                return self._once(method, path, json, params, headers, missing_ok)
            except _Passing as failure:
                if attempt == self.retries or not (repeatable or failure.unsent):
                    raise failure.error from None
                time.sleep(max(self.backoff * 2**attempt, failure.wait))
            attempt += 1

    def _once(
        self,
        method: str,
        path: str,
        json: Any,
        params: dict[str, Any] | None,
        headers: dict[str, str],
        missing_ok: bool,
    ) -> Any:
        try:
            response = self._session.request(
                method, self.url + path, json=json, params=params, headers=headers,
                timeout=self.timeout, stream=True,
            )  # fmt: skip
        except requests.Timeout:
            message = f"Grafana at {self.url} did not answer {method} {path} in {self.timeout:g} s"
            raise _Passing(GrafanaError(message)) from None
        except requests.ConnectionError as exc:
            if any(isinstance(cause, NewConnectionError) for cause in _causes(exc)):
                message = f"cannot reach Grafana at {self.url}: {short_reason(exc)}"
                raise _Passing(GrafanaError(message), unsent=True) from None
            message = f"{method} {path}: Grafana dropped the connection ({short_reason(exc)})"
            raise _Passing(GrafanaError(message)) from None
        except requests.RequestException as exc:
            raise GrafanaError(f"{method} {path} failed: {short_reason(exc)}") from None
        with response:
            try:
                content = response.content  # read here: a reset or a cut shows now
            except requests.RequestException as exc:
                message = f"{method} {path}: the answer was cut short ({short_reason(exc)})"
                raise _Passing(GrafanaError(message)) from None
        self._note_deprecation(method, path, response)
        status = response.status_code
        if status in RETRY_STATUSES:
            wait, unsent = _retry_after(response), status == 429
            raise _Passing(_error(method, path, response), wait, unsent)
        if status == 404 and missing_ok:
            return None
        if status >= 400:
            raise _error(method, path, response)
        if not content:
            return None
        try:
            return response.json()
        except ValueError:  # half a document, read up to a close; or not Grafana at all
            message = (
                f"{method} {path}: the answer (HTTP {status}) is not JSON: cut short, or "
                f"{self.url} is not Grafana"
            )
            raise _Passing(GrafanaError(message)) from None

    def _note_deprecation(self, method: str, path: str, response: requests.Response) -> None:
        """Keep what Grafana says about a deprecated endpoint (``Warning`` and every
        ``X-API-*`` header): each message once, with the first request it came with."""
        names = [name for name in response.headers if name.lower() == WARNING
                 or name.lower().startswith(API_HEADER_PREFIX)]  # fmt: skip
        names.sort(key=lambda name: (name.lower() != WARNING, name.lower()))
        said = [f"{name}: {response.headers[name]}" for name in names if response.headers[name]]
        if said:
            self.deprecations.setdefault("; ".join(said), f"{method} {path}")

    def check_health(self) -> dict[str, Any]:
        """The health answer (its version); one clear line unless a healthy Grafana answers
        at the URL."""
        try:
            health = self.get("/api/health")
        except GrafanaError as exc:
            if exc.status is None or exc.status in RETRY_STATUSES:  # unreachable, failing, busy
                raise
            raise GrafanaError(
                f"{self.url} does not answer like Grafana (GET /api/health: HTTP {exc.status}); "
                "check GRAFANA_URL"
            ) from None
        if not isinstance(health, dict) or "database" not in health:
            raise GrafanaError(f"{self.url} does not answer like Grafana; check GRAFANA_URL")
        if health["database"] != "ok":
            raise GrafanaError(
                f"Grafana at {self.url} is not healthy: database {health['database']}"
            )
        return health

    def wait_until_healthy(self, seconds: float) -> dict[str, Any]:
        """Poll /api/health until Grafana and its database answer; the health answer."""
        deadline = time.monotonic() + seconds
        while True:
            try:
                return self.check_health()
            except GrafanaError as exc:
                if time.monotonic() >= deadline:
                    raise GrafanaError(
                        f"Grafana was not healthy within {seconds:g} s: {exc}"
                    ) from None
            time.sleep(1)


def _error(method: str, path: str, response: requests.Response) -> GrafanaError:
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    message = body.get("message") if isinstance(body, dict) else None
    detail = f": {message}" if message else ""
    if status == 401:
        text = (
            "Grafana refused the credentials (401): set GRAFANA_TOKEN (a service-account token) "
            "or GRAFANA_USER and GRAFANA_PASSWORD"
        )
    elif status == 403:
        needed = next((perm for prefix, perm in PERMISSIONS if path.startswith(prefix)), None)
        hint = f"; the account needs {needed}" if needed else ""
        text = f"permission denied (403) for {method} {path}{hint}{detail}"
    elif status == 404:
        text = f"not found (404): {method} {path}{detail}"
    elif status == 409:
        text = f"conflict (409) on {method} {path}{detail}"
    elif status == 412:
        text = f"changed by someone else (412) on {method} {path}{detail}; run plan again"
    elif status >= 500:
        text = f"Grafana failed (HTTP {status}) on {method} {path}{detail}"
    else:
        text = f"Grafana refused {method} {path} (HTTP {status}){detail}"
    return GrafanaError(text, status, body)


def _retry_after(response: requests.Response) -> float:
    """The seconds a 429 or 503 asks to wait (Retry-After in seconds; 0 if absent), bounded."""
    try:
        return min(float(response.headers.get("Retry-After", 0)), MAX_RETRY_AFTER_SECONDS)
    except ValueError:  # an HTTP date: the backoff is enough
        return 0


def _causes(exc: BaseException | None) -> Iterator[BaseException]:
    """The exception and what caused it, innermost last."""
    while exc is not None:
        yield exc
        exc = exc.__cause__ or exc.__context__


def short_reason(exc: BaseException) -> str:
    """The innermost cause, without urllib3's long chain."""
    innermost = list(_causes(exc))[-1]
    return str(innermost).split(": ", 1)[-1].strip() or type(innermost).__name__
