"""A small client for Grafana's HTTP API: auth, org, timeouts, bounded retries, and errors a
person can act on. It never logs or prints a request body (they can carry secrets)."""

from __future__ import annotations

import time
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

# What a 403 on a path most likely lacks (API-NOTES §1, "Permissions").
PERMISSIONS = (
    ("/api/v1/provisioning", "alert.provisioning:write (role fixed:alerting.provisioning:writer)"),
    ("/api/datasources", "datasources:write"),
    ("/api/folders", "folders:write (role fixed:folders:writer)"),
    ("/api/dashboards", "dashboards:write (role fixed:dashboards:writer)"),
    ("/api/alertmanager", "alert.notifications:write"),
)


class GrafanaError(Exception):
    """One line for a person: what failed and what to do."""

    def __init__(self, message: str, status: int | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.status, self.body = status, body


class GrafanaClient:
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
        self.timeout = timeout
        self.disable_provenance = disable_provenance
        self.reads = self.writes = 0
        self._session = requests.Session()
        retry = Retry(
            total=retries,
            backoff_factor=0.5,
            status_forcelist=(429, 500, 502, 503, 504),
            allowed_methods=None,  # every write names its uid: a repeat converges
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        self._session.mount("http://", HTTPAdapter(max_retries=retry))
        self._session.mount("https://", HTTPAdapter(max_retries=retry))
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
    ) -> Any:
        headers = {}
        if method != "GET":
            self.writes += 1
            if self.disable_provenance:  # only its presence counts (API-NOTES §0.1)
                headers["X-Disable-Provenance"] = "true"
        else:
            self.reads += 1
        try:
            response = self._session.request(
                method, self.url + path, json=json, params=params, headers=headers,
                timeout=self.timeout,
            )  # fmt: skip
        except requests.ConnectionError as exc:
            raise GrafanaError(f"cannot reach Grafana at {self.url}: {short_reason(exc)}") from None
        except requests.Timeout:
            raise GrafanaError(
                f"Grafana at {self.url} did not answer {method} {path} within {self.timeout} s"
            ) from None
        except requests.RequestException as exc:
            raise GrafanaError(f"{method} {path} failed: {short_reason(exc)}") from None
        if response.status_code == 404 and missing_ok:
            return None
        if response.status_code >= 400:
            raise _error(method, path, response)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise GrafanaError(
                f"{method} {path}: Grafana answered {response.status_code} with a body that is "
                f"not JSON; is {self.url} really Grafana?"
            ) from None

    def check_health(self) -> None:
        """Fail with one clear line unless a healthy Grafana answers at the URL."""
        try:
            health = self.get("/api/health")
        except GrafanaError as exc:
            if exc.status in (None, 503):  # unreachable, or Grafana's own "database down"
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

    def wait_until_healthy(self, seconds: float) -> None:
        """Poll /api/health until Grafana and its database answer."""
        deadline = time.monotonic() + seconds
        while True:
            try:
                self.check_health()
                return
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


def short_reason(exc: Exception) -> str:
    """The innermost cause, without urllib3's long chain."""
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    reason = str(exc).split(": ", 1)[-1] if ": " in str(exc) else str(exc)
    return reason.strip() or type(exc).__name__
