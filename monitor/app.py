"""The monitor's HTTP API: JSON runs in, Prometheus metrics and a status page out."""

import hmac
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl, unquote_plus

from fastapi import Depends, FastAPI, HTTPException, Query, Request, params
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel, ConfigDict, Field
from starlette.convertors import Convertor, register_url_convertor
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import names
from monitor.exposition import Exposition
from monitor.page import StatusPage
from monitor.schema import Feature, LabelValue, Run, Settings, Summary
from monitor.store import SeriesLimitError, Store, StoredRun

log = logging.getLogger("monitor")

MAX_BODY_BYTES = 1 << 20
HISTORY_LIMIT = 500
# Query parameters that carry a credential: refused, whatever the route, since a URL ends up
# in access logs, proxies' logs and browser histories.
CREDENTIAL_PARAMETERS = frozenset(
    {"token", "access_token", "api_key", "apikey", "auth", "authorization", "bearer", "password",
     "secret"}
)  # fmt: skip
QUERY_CREDENTIAL = (
    "credentials are refused in the query string (URLs are logged): "
    "send the token in the header Authorization: Bearer <token>"
)


class DatasetConvertor(Convertor[str]):
    """A dataset's name in a path, "/" included: a name with "/" is refused since, but a run
    stored before still loads and stays addressable. Not ending in "/runs", the history's path
    (a name stored so is reachable only through its history: a DELETE matching it would put
    DELETE in the history's Allow). The lookahead sees only the name's own characters, so a
    dataset named "runs" is addressable."""

    regex = r"(?:(?!/runs$).)+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("dataset", DatasetConvertor())


class Error(BaseModel):
    error: str
    detail: list[dict[str, Any]] | None = None


class LegacyValue(BaseModel):
    """The query of the course's endpoint; anything else in it is refused."""

    model_config = ConfigDict(extra="forbid")
    feature: LabelValue
    metric: LabelValue
    value: Annotated[float, Field(allow_inf_nan=False)]


class RunAccepted(BaseModel):
    dataset: str
    run_id: int
    current: bool  # False when the dataset already has a newer run


class DatasetState(BaseModel):
    dataset: str
    run_id: int
    received_at: datetime
    batch: str
    reference: str
    run_at: datetime
    stale_after_seconds: float | None
    settings: Settings
    summary: Summary
    features: list[Feature]


def dataset_state(stored: StoredRun) -> DatasetState:
    return DatasetState(
        run_id=stored.id,
        received_at=datetime.fromtimestamp(stored.received_at).astimezone(),
        **stored.run.model_dump(),
    )


ERROR_CODES = (400, 401, 404, 413, 422)
ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": Error} for code in ERROR_CODES}
# For a text/plain route: "model" would document its errors as text/plain, but they are JSON.
# (Error is in the components because the other routes use ERRORS.)
JSON_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    for code in ERROR_CODES
}


async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
    problems = [{"loc": [str(part) for part in e["loc"]], "msg": e["msg"]} for e in exc.errors()]
    first = problems[0]
    return JSONResponse(
        {"error": f"{'.'.join(first['loc'])}: {first['msg']}", "detail": problems}, 422
    )


async def storage_failed(_: Request, exc: sqlite3.Error) -> JSONResponse:
    log.error("storage error, nothing stored: %s", exc)
    return JSONResponse({"error": "the monitor's storage failed; nothing was stored"}, 503)


async def over_series_limit(_: Request, exc: SeriesLimitError) -> JSONResponse:
    """A write that would expose more series than the cap: nothing was stored."""
    return JSONResponse({"error": str(exc)}, 422)


async def refused(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    """Every HTTPException, the router's own 404 and 405 included."""
    headers = dict(exc.headers or {})
    if exc.status_code == 405:  # Starlette lists the methods of one route of the path only
        headers["Allow"] = ", ".join(
            sorted(
                method
                for route in request.app.router.routes
                if isinstance(route, APIRoute) and route.matches(request.scope)[0] is Match.PARTIAL
                for method in route.methods
            )
        )
    return JSONResponse({"error": exc.detail}, exc.status_code, headers=headers)


def create_app(store: Store, token: str | None) -> FastAPI:
    app = FastAPI(
        title="Drift monitor",
        version="1.0.0",
        description="Keeps the latest drift results durably and exposes them to Prometheus.",
        docs_url=None,  # the stack runs offline: no UI that loads assets from a CDN
        redoc_url=None,
        exception_handlers={
            RequestValidationError: invalid,
            sqlite3.Error: storage_failed,
            SeriesLimitError: over_series_limit,
            StarletteHTTPException: refused,
        },
    )
    bearer = HTTPBearer(auto_error=False, description="MONITOR_TOKEN, when the monitor has one")
    # Marks the routes that need the token (the OpenAPI description shows it); Guard checks
    # the token before any of the body is read.
    write = Depends(bearer)

    async def refusal(scope: Scope) -> JSONResponse | None:
        """Why a request is refused before its body is read, if it is."""
        if credential_in_query(scope["query_string"].decode("latin-1"), token):
            return JSONResponse({"error": QUERY_CREDENTIAL}, 400)
        writes = (r for r in app.routes if isinstance(r, APIRoute) and write in r.dependencies)
        if token and any(route.matches(scope)[0] is Match.FULL for route in writes):
            credentials = await bearer(Request(scope))
            given = credentials.credentials if credentials else ""
            if not hmac.compare_digest(given.encode(), token.encode()):
                error = {"error": "a valid bearer token is required to write"}
                return JSONResponse(error, 401, headers={"WWW-Authenticate": "Bearer"})
        return None

    app.add_middleware(Guard, refusal=refusal, max_bytes=MAX_BODY_BYTES)
    add_api_routes(app, store, write)
    add_service_routes(app, store)
    return app


def no_dataset(dataset: str) -> HTTPException:
    return HTTPException(404, f"no dataset {dataset!r}")


def add_api_routes(app: FastAPI, store: Store, write: params.Depends) -> None:
    """The JSON API (runs in, datasets out) and the course's endpoint; ``write`` marks the
    routes that need the token."""

    @app.post(names.RUNS_PATH, status_code=201, responses=ERRORS, dependencies=[write])
    def add_run(run: Run) -> RunAccepted:
        """Store one drift run atomically; it replaces the dataset's series unless the
        dataset already has a newer run."""
        stored, current = store.add_run(run)
        return RunAccepted(dataset=run.dataset, run_id=stored.id, current=current)

    @app.get(names.DATASETS_PATH)
    def list_datasets() -> list[DatasetState]:
        """The current run of every dataset."""
        return [dataset_state(s) for _, s in sorted(store.current.items())]

    @app.get(names.DATASETS_PATH + "/{dataset:dataset}/runs", responses=ERRORS)
    def get_history(
        dataset: str, limit: Annotated[int, Query(ge=1, le=HISTORY_LIMIT)] = 50
    ) -> list[DatasetState]:
        """The dataset's runs, newest first."""
        runs = store.history(dataset, limit)
        if not runs:
            raise no_dataset(dataset)
        return [dataset_state(s) for s in runs]

    @app.get(names.DATASETS_PATH + "/{dataset:dataset}", responses=ERRORS)
    def get_dataset(dataset: str) -> DatasetState:
        """The dataset's current run."""
        if dataset not in store.current:
            raise no_dataset(dataset)
        return dataset_state(store.current[dataset])

    @app.delete(
        names.DATASETS_PATH + "/{dataset:dataset}",
        status_code=204,
        responses=ERRORS,
        dependencies=[write],
    )
    def delete_dataset(dataset: str) -> Response:
        """Forget a dataset: its runs and its series. A name with "/", stored before such
        names were refused, is addressed as it is: /api/v1/datasets/team/a."""
        if not store.delete_dataset(dataset):
            raise no_dataset(dataset)
        return Response(status_code=204)

    @app.post(
        names.LEGACY_PATH,
        response_class=PlainTextResponse,
        responses={200: {"content": {"text/plain": {"example": "ok"}}}, **JSON_ERRORS},
        dependencies=[write],
    )
    def legacy(query: Annotated[LegacyValue, Query()]) -> str:
        """The course's endpoint: sets the gauge drift{feature, metric} and answers ok."""
        store.set_legacy(query.feature, query.metric, query.value)
        return "ok"


def add_service_routes(app: FastAPI, store: Store) -> None:
    """/metrics for Prometheus, the health checks, and the status page for people."""
    exposition = Exposition(store)
    page = StatusPage(store)

    @app.get(
        "/metrics",
        response_class=Response,
        responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}},
    )
    def metrics() -> Response:
        """Prometheus text format."""
        return Response(exposition.render(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz", responses={503: {"model": Error}})
    def readyz() -> JSONResponse:
        """Readiness: the database answers."""
        if store.ready():
            return JSONResponse({"status": "ready"})
        return JSONResponse({"error": "the database does not answer"}, 503)

    @app.get("/", response_class=HTMLResponse)
    def status_page() -> HTMLResponse:
        """The status page for people."""
        return HTMLResponse(page.render())


def credential_in_query(query: str, token: str | None) -> bool:
    """Whether a query string carries a credential: a parameter named like one, or the
    token anywhere in it."""
    keys = (key.lower() for key, _ in parse_qsl(query, keep_blank_values=True))
    return any(key in CREDENTIAL_PARAMETERS for key in keys) or bool(
        token and token in unquote_plus(query)
    )


class Guard:
    """Refuse a request before any of its body is read when ``refusal`` says so (a
    credential in the query, a write without the token) or when the body is larger than
    ``max_bytes`` (413); then read the body whole, so nothing after parses a partial one.
    How long the client may take to send it is the server's bound (monitor.server)."""

    def __init__(
        self,
        app: ASGIApp,
        refusal: Callable[[Scope], Awaitable[Response | None]],
        max_bytes: int,
    ) -> None:
        self.app, self.refusal, self.max_bytes = app, refusal, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refused = await self.refusal(scope)
        declared = Headers(scope=scope).get("content-length", "")
        if refused is None and declared.isdigit() and int(declared) > self.max_bytes:
            refused = self._too_large()
        if refused is not None:
            await refused(scope, receive, send)
            return
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_bytes:
                await self._too_large()(scope, receive, send)
                return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:  # later calls wait for the disconnect, as the server's would
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    def _too_large(self) -> Response:
        error = {"error": f"the request body is larger than {self.max_bytes} bytes"}
        return JSONResponse(error, 413)
