"""Intake's HTTP surface (FastAPI): events in, commands in, nothing out but the answer."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from opentelemetry import propagate, trace
from pydantic import BaseModel, ConfigDict, Field

from custody import clock, subjects
from custody.auth import Principal
from custody.bus.publishing import BusUnavailable
from custody.contracts import CommandIssued, IncidentAccepted, IncidentEvent
from custody.contracts.facts import CommandAction
from custody_intake.adapters.gateway import Gateway
from custody_intake.domain.identity import command_event_id, escalation_id, incident_event_id
from custody_intake.domain.rejection import Rejection, from_validation_errors

tracer = trace.get_tracer("custody.intake")


class CommandBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(default="", max_length=4000)
    reason: str = Field(default="", max_length=1000)
    to: str | None = Field(default=None, max_length=128)


class Refused(Exception):
    def __init__(self, rejection: Rejection) -> None:
        self.rejection = rejection


def create_app(gateway: Gateway, command_wait_s: float = 5.0) -> FastAPI:
    app = FastAPI(title="Custody intake", version="1")

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused) -> JSONResponse:
        return JSONResponse(exc.rejection.body(), status_code=exc.rejection.status)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        rejection = from_validation_errors(list(exc.errors()))
        await gateway.reject(
            error_code=rejection.error_code,
            field=rejection.field,
            message=rejection.message,
            source=request.headers.get("x-custody-source", ""),
            body=await request.body(),
        )
        return JSONResponse(rejection.body(), status_code=rejection.status)

    @app.exception_handler(BusUnavailable)
    async def unavailable(request: Request, exc: BusUnavailable) -> JSONResponse:
        body = {"error_code": "bus_unavailable", "field": "", "message": str(exc)}
        return JSONResponse(body, status_code=503, headers={"Retry-After": "2"})

    async def authenticate(authorization: str | None) -> Principal:
        token = (authorization or "").removeprefix("Bearer ").strip()
        principal = await gateway.principal(token) if token else None
        if principal is None:
            raise Refused(
                Rejection(401, "unauthorized", "authorization", "unknown or missing bearer token")
            )
        return principal

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        connected = gateway.broker.connection.is_connected
        return JSONResponse({"nats": connected}, status_code=200 if connected else 503)

    @app.post("/v1/events", status_code=202)
    async def raise_event(
        event: IncidentEvent,
        authorization: Annotated[str | None, Header()] = None,
        traceparent: Annotated[str | None, Header()] = None,
    ) -> dict[str, Any]:
        principal = await authenticate(authorization)
        esc = escalation_id(event.source, event.dedup_key)
        with tracer.start_as_current_span(
            "intake.accept", attributes={"custody.escalation_id": esc}
        ):
            carrier: dict[str, str] = {}
            propagate.inject(carrier)
            accepted = IncidentAccepted(
                event_id=incident_event_id(esc),
                escalation_id=esc,
                occurred_at=event.occurred_at or clock.now(),
                traceparent=traceparent or carrier.get("traceparent"),
                event=event,
                raised_by=principal.name,
            )
            duplicate = await gateway.accept(subjects.incident_accepted(esc), accepted)
        return {"escalation_id": esc, "duplicate": duplicate, "status": "accepted"}

    @app.post("/v1/escalations/{escalation}/{action}")
    async def command(
        escalation: str,
        action: CommandAction,
        body: CommandBody | None = None,
        authorization: Annotated[str | None, Header()] = None,
        idempotency_key: Annotated[str | None, Header()] = None,
    ) -> JSONResponse:
        principal = await authenticate(authorization)
        if principal.kind != "person":
            raise Refused(
                Rejection(403, "not_a_person", "authorization", "only people act on escalations")
            )
        if not escalation.startswith("esc-") or len(escalation) > 64:
            raise Refused(Rejection(404, "not_found", "escalation", f"no escalation {escalation}"))
        body = body or CommandBody()
        command_id = idempotency_key or uuid.uuid4().hex
        cmd = CommandIssued(
            event_id=command_event_id(command_id),
            escalation_id=escalation,
            occurred_at=clock.now(),
            command_id=command_id,
            action=action,
            actor=principal.name,
            to=body.to,
            note=body.note,
            reason=body.reason,
            via="api",
        )
        _, outcome = await gateway.command(cmd, command_wait_s)
        if outcome is None:
            queued = {"escalation_id": escalation, "status": "queued", "command_id": command_id}
            return JSONResponse(queued, status_code=202)
        if not outcome.accepted:
            status = {"not_custodian": 403, "not_found": 404}.get(outcome.error_code or "", 409)
            refusal = {
                "error_code": outcome.error_code,
                "field": "escalation",
                "message": outcome.message,
            }
            return JSONResponse(refusal, status_code=status)
        result = {
            "escalation_id": escalation,
            "state": outcome.state,
            "custodian": outcome.custodian,
        }
        return JSONResponse(result, status_code=200)

    return app
