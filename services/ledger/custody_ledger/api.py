"""The ledger's query API (FastAPI, OpenAPI at /openapi.json and /docs).

Every /v1 route needs a bearer token. A caller sees an escalation they raised, were ever
offered or held, or any escalation when they are an admin; anything else is a 404, so the
API never confirms that an id exists to someone who may not see it.
"""

# No `from __future__ import annotations`: FastAPI reads the route signatures at runtime.

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, Protocol

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from custody import clock
from custody.auth.credentials import Principal
from custody_ledger import report_routes, web
from custody_ledger.adapters.batched_writer import Writer
from custody_ledger.adapters.metrics import CONTENT_TYPE
from custody_ledger.adapters.outage import Unavailable
from custody_ledger.adapters.reads import Reads
from custody_ledger.api_errors import ApiError, Caller
from custody_ledger.domain import documents, paging
from custody_ledger.domain.projection import Escalation
from custody_ledger.domain.visibility import can_see

STATES = ("open", "offered", "accepted", "resolved", "deferred", "digest", "muted")


class Directory(Protocol):
    async def principal(self, token: str) -> Principal | None: ...
    async def admins(self) -> frozenset[str]: ...


def _error(status: int, code: str, field: str, message: str, **headers: str) -> JSONResponse:
    body = {"error_code": code, "field": field, "message": message}
    return JSONResponse(body, status_code=status, headers=headers or None)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.error_code, exc.field, exc.message)

    @app.exception_handler(Unavailable)
    async def unavailable(_: Request, exc: Unavailable) -> JSONResponse:
        return _error(503, "unavailable", "", f"{exc}; retry shortly", **{"Retry-After": "2"})

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        field = ".".join(str(p) for p in first.get("loc", ())[1:]) or "request"
        return _error(400, "invalid", field, str(first.get("msg", "invalid request")))


def create_app(
    reads: Reads,
    directory: Directory,
    readiness: Callable[[], Awaitable[dict[str, bool]]],
    *,
    writer: Writer | None = None,
    metrics: Callable[[], bytes] | None = None,
    now: Callable[[], datetime] = clock.now,
) -> FastAPI:
    """`writer` enables attaching reviews; `metrics` serves GET /metrics (Prometheus text);
    `now` is the clock of reports and reviews."""
    app = FastAPI(
        title="Custody ledger",
        version="1",
        description="Escalations, inboxes, timelines, traces, reports and reviews, read from"
        " (and reviews written to) the ledger.",
    )
    _install_error_handlers(app)
    bearer = HTTPBearer(auto_error=False, description="A person's or agent's token")

    async def caller(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Caller:
        if credentials is None:
            raise ApiError(
                401, "unauthorized", "authorization", "send 'Authorization: Bearer <token>'"
            )
        principal = await directory.principal(credentials.credentials)
        if principal is None:
            raise ApiError(401, "unauthorized", "authorization", "unknown or revoked token")
        admin = principal.kind == "person" and principal.name in await directory.admins()
        return Caller(principal.name, principal.kind, admin)

    Who = Annotated[Caller, Depends(caller)]

    async def visible(who: Caller, escalation_id: str) -> Escalation:
        view = await reads.escalation(escalation_id)
        if view is None or not can_see(
            who.name, is_admin=who.is_admin, raised_by=view.raised_by, people=view.people
        ):
            raise ApiError(404, "not_found", "escalation_id", f"no escalation {escalation_id!r}")
        return view

    @app.get("/v1/escalations", tags=["escalations"])
    async def list_escalations(
        who: Who,
        state: Annotated[str | None, Query(description="one of " + ", ".join(STATES))] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        """The escalations the caller may see (all of them for an admin), newest first."""
        if state is not None and state not in STATES:
            raise ApiError(400, "invalid", "state", f"state must be one of {', '.join(STATES)}")
        try:
            after = paging.decode_cursor(cursor) if cursor else None
        except ValueError as exc:
            raise ApiError(
                400, "invalid", "cursor", "malformed cursor: pass next_cursor back"
            ) from exc
        rows = await reads.visible(
            who.name, is_admin=who.is_admin, state=state, limit=limit, after=after
        )
        last = rows[-1] if len(rows) == limit else None
        next_cursor = (
            paging.encode_cursor(last.opened_at, last.escalation_id)
            if last is not None and last.opened_at is not None
            else None
        )
        return {"items": [documents.summary(v) for v in rows], "next_cursor": next_cursor}

    @app.get("/v1/escalations/{escalation_id}", tags=["escalations"])
    async def show(who: Who, escalation_id: str) -> dict[str, Any]:
        """The same object as `custody show --json`."""
        view = await visible(who, escalation_id)
        return documents.show(view, await reads.facts(escalation_id))

    @app.get("/v1/escalations/{escalation_id}/trace", tags=["escalations"])
    async def trace(who: Who, escalation_id: str) -> dict[str, Any]:
        """The same object as `custody trace --json`."""
        view = await visible(who, escalation_id)
        return documents.trace(view, await reads.facts(escalation_id))

    @app.get("/v1/inbox", tags=["inbox"])
    async def inbox(who: Who) -> list[dict[str, Any]]:
        """What the caller holds or is being offered, as `custody inbox --json`."""
        return [documents.summary(v) for v in await reads.inbox(who.name)]

    report_routes.install(app, caller, reads, writer, now)
    web.install(app, reads, directory, now=now)  # `/`, `/e/{id}`: the web inbox

    if metrics is not None:

        @app.get("/metrics", tags=["health"], response_class=Response)
        async def prometheus() -> Response:
            """Prometheus metrics: custody_ledger_lag_seconds, consumer backlogs, throughput."""
            return Response(metrics(), media_type=CONTENT_TYPE)

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"])
    async def readyz() -> JSONResponse:
        checks = await readiness()
        ready = all(checks.values())
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    return app
