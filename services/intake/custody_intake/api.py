"""Intake's HTTP surface (FastAPI): assembles the routes and answers every error in one shape,
`{"error_code", "field", "message"}`, with `503` and `Retry-After` when the bus is away."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.routing import Match

from custody.bus.publishing import BusUnavailable
from custody.contracts import IncidentEvent
from custody_intake import callbacks
from custody_intake.adapters.rejection_log import RejectionLog
from custody_intake.domain import alertmanager, pagerduty
from custody_intake.domain.rejection import from_validation_errors
from custody_intake.door import Door
from custody_intake.routes import commands, compat, events, heartbeats, rejections
from custody_intake.routes.edge import read_body
from custody_intake.routes.openapi import install, of
from custody_intake.watchdog import Watchdog

RETRY_AFTER_S = 2


@dataclass(frozen=True)
class Parts:
    """What the routes need, built once the bus is connected (see app.py)."""

    door: Door
    watchdog: Watchdog
    rejection_log: RejectionLog
    is_admin: rejections.IsAdmin
    command_wait_s: float = 5.0


def create_app(parts: Parts) -> FastAPI:
    app = FastAPI(
        title="Custody intake",
        version="1",
        description="The one door in: events, PagerDuty and Alertmanager formats, heartbeats, "
        "and responder commands. `202` means durable in JetStream.",
    )
    _handlers(app, parts.door)
    app.include_router(events.router(parts.door))
    app.include_router(compat.router(parts.door))
    app.include_router(heartbeats.router(parts.door, parts.watchdog))
    app.include_router(commands.router(parts.door, parts.command_wait_s))
    app.include_router(rejections.router(parts.door, parts.rejection_log, parts.is_admin))
    app.include_router(callbacks.router(parts.door))  # links, replies, buttons, canary
    install(
        app,
        {
            "IncidentEvent": of(IncidentEvent),
            "PagerDutyEvent": pagerduty.schema,
            "AlertmanagerWebhook": of(alertmanager.AlertmanagerWebhook),
            "HeartbeatPing": of(heartbeats.HeartbeatPing),
            "CommandBody": of(commands.CommandBody),
        },
    )

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], responses={503: {"description": "NATS not connected"}})
    async def readyz() -> JSONResponse:
        connected = parts.door.gateway.broker.connection.is_connected
        return JSONResponse({"nats": connected}, status_code=200 if connected else 503)

    return app


def _handlers(app: FastAPI, door: Door) -> None:
    @app.exception_handler(BusUnavailable)
    async def unavailable(request: Request, exc: BusUnavailable) -> JSONResponse:
        return bus_unavailable(str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        """A bad path or query parameter: refused and kept like any other input."""
        rejection = from_validation_errors(list(exc.errors()))
        token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        try:
            # Named after the caller when the token says who: FastAPI checked the path before
            # any route (or the door) could authenticate.
            principal = await door.gateway.principal(token) if token else None
            raw, _, sha = await read_body(request)
            await door.gateway.reject(
                rejection,
                source=principal.name if principal else "",
                body=raw,
                body_sha256=sha,
                request_id=uuid.uuid4().hex,
            )
        except BusUnavailable as unkept:
            return bus_unavailable(str(unkept))
        return JSONResponse(rejection.body(), status_code=rejection.status)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        body = {"error_code": code, "field": "(path)", "message": str(exc.detail)}
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(app, request))
        return JSONResponse(body, status_code=exc.status_code, headers=headers)


def allowed_methods(app: FastAPI, request: Request) -> list[str]:
    """Every method of every route on this path. Starlette names only the first route's, and
    one path may have several (POST and DELETE /v1/heartbeats/{name})."""
    methods: set[str] = set()
    for route in app.router.routes:
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


def bus_unavailable(why: str) -> JSONResponse:
    body = {"error_code": "bus_unavailable", "field": "", "message": f"{why}; retry"}
    return JSONResponse(body, status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)})
