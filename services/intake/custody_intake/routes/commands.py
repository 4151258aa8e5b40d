"""Responder commands: `POST /v1/escalations/{id}/{ack|resolve|reassign|decline|note}`."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from custody import clock
from custody.contracts import CommandIssued, Refusal
from custody.contracts.facts import CommandAction, IncidentRole
from custody.contracts.incident import ONE_LINE, PROSE
from custody_intake.domain.identity import command_event_id
from custody_intake.domain.rejection import refuse
from custody_intake.door import Caller, Door
from custody_intake.routes.edge import (
    REFUSALS,
    Bearer,
    IdempotencyKey,
    door_request,
    optional_body,
    token_of,
)
from custody_intake.routes.openapi import json_body

# Ids become subject tokens (`commands.<id>`): nothing that NATS reads as a separator or wildcard.
EscalationId = Annotated[str, Path(pattern=r"^esc-[A-Za-z0-9_-]{1,60}$")]
OUTCOME_STATUS = {"not_custodian": 403, "not_found": 404}


class CommandBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(default="", max_length=4000, json_schema_extra=PROSE)
    reason: str = Field(default="", max_length=1000, json_schema_extra=PROSE)
    to: str | None = Field(default=None, min_length=1, max_length=128, json_schema_extra=ONE_LINE)
    role: IncidentRole | None = None  # assign_role: commander, decision_log or comms_lead


class CommandResult(BaseModel):
    escalation_id: str
    state: str | None = None
    custodian: str | None = None
    status: str | None = None
    command_id: str | None = None


def router(door: Door, wait_s: float) -> APIRouter:
    api = APIRouter(tags=["commands"])

    @api.post(
        "/v1/escalations/{escalation}/{action}",
        responses={
            200: {"model": CommandResult},
            202: {"model": CommandResult, "description": "queued: no answer yet"},
            404: {"model": Refusal},
            409: {"model": Refusal},
            **REFUSALS,
        },
        openapi_extra=json_body("CommandBody", required=False),
        summary="Act on an escalation as a responder",
    )
    async def command(
        escalation: EscalationId,
        action: CommandAction,
        request: Request,
        credentials: Bearer,
        idempotency_key: IdempotencyKey = None,
    ) -> JSONResponse:
        req = await door_request(request, token_of(credentials))

        async def work(caller: Caller) -> JSONResponse:
            principal = await door.authenticate(req.token, caller)
            if principal.kind != "person":
                raise refuse(403, "not_a_person", "authorization", "only people act on escalations")
            body = command_body(req.raw, req.size)
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
                role=body.role,
                via="api",
            )
            return await _relay(door, cmd, wait_s)

        result = await door.admit(req, work, budget_s=door.budget_s + wait_s)
        if isinstance(result, JSONResponse):
            return result
        return JSONResponse(result.body(), status_code=result.status)

    return api


async def _relay(door: Door, cmd: CommandIssued, wait_s: float) -> JSONResponse:
    """The escalator's answer, or `202 queued` when it did not answer within `wait_s`."""
    _, outcome = await door.gateway.command(cmd, wait_s)
    esc = cmd.escalation_id
    if outcome is None:
        queued = {"escalation_id": esc, "status": "queued", "command_id": cmd.command_id}
        return JSONResponse(queued, status_code=202)
    if not outcome.accepted:
        status = OUTCOME_STATUS.get(outcome.error_code or "", 409)
        body = {"error_code": outcome.error_code, "field": "escalation", "message": outcome.message}
        return JSONResponse(body, status_code=status)
    result = {"escalation_id": esc, "state": outcome.state, "custodian": outcome.custodian}
    return JSONResponse(result, status_code=200)


def command_body(raw: bytes, size: int | None) -> CommandBody:
    return optional_body(raw, size, CommandBody, frozenset({"to"}))
