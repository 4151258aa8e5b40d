"""Doors in other tools' formats: PagerDuty Events API v2 and the Alertmanager webhook (v4)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from custody.contracts import Refusal
from custody_intake.domain.rejection import Rejection
from custody_intake.door import Compat, Door
from custody_intake.routes.edge import REFUSALS, Bearer, answer, door_request, token_of
from custody_intake.routes.openapi import json_body


class PagerDutyAccepted(BaseModel):
    status: Literal["success"] = "success"
    message: str = "Event processed"
    dedup_key: str
    escalation_id: str


class PagerDutyInvalid(Refusal):
    """PagerDuty's own error fields, plus Custody's stable ones."""

    status: str = "invalid event"
    errors: list[str] = Field(default_factory=list)


class AlertOutcome(BaseModel):
    dedup_key: str
    escalation_id: str
    action: str


class AlertmanagerAccepted(BaseModel):
    status: Literal["success"] = "success"
    alerts: list[AlertOutcome]


def router(door: Door) -> APIRouter:
    api = APIRouter(tags=["compatibility"])
    pd_refusals = {
        code: {**spec, "model": PagerDutyInvalid if code != 503 else Refusal}
        for code, spec in REFUSALS.items()
        if code != 403
    }

    @api.post(
        "/v2/enqueue",
        status_code=202,
        responses={202: {"model": PagerDutyAccepted}, **pd_refusals},
        openapi_extra=json_body("PagerDutyEvent"),
        summary="PagerDuty Events API v2: trigger, acknowledge, resolve by dedup_key",
    )
    async def enqueue(request: Request) -> JSONResponse:
        """`routing_key` is an agent's token. Severities map critical and error to RED,
        warning to YELLOW, info to GREEN."""
        result = await door.pagerduty(await door_request(request, None))
        if isinstance(result, Rejection):
            # PagerDuty senders treat any 400 as "do not retry"; field errors are 400 there.
            status = 400 if result.status == 422 else result.status
            body = {**result.body(), "status": "invalid event", "errors": [result.message]}
            return JSONResponse(body, status_code=status)
        return JSONResponse(_pagerduty(result), status_code=202)

    @api.post(
        "/v1/integrations/alertmanager",
        status_code=202,
        responses={202: {"model": AlertmanagerAccepted}, **REFUSALS},
        openapi_extra=json_body("AlertmanagerWebhook"),
        summary="Alertmanager webhook (version 4): firing raises or updates, resolved resolves",
    )
    async def alertmanager(request: Request, credentials: Bearer) -> JSONResponse:
        """Each alert is deduplicated on the group key plus its fingerprint. A resolved alert
        resolves its escalation, recorded as resolved by the source."""
        result = await door.alertmanager(await door_request(request, token_of(credentials)))
        return answer(result, _alerts)

    return api


def _pagerduty(done: Compat) -> dict[str, Any]:
    return PagerDutyAccepted(
        dedup_key=done.dedup_key, escalation_id=done.escalation_id
    ).model_dump()


def _alerts(done: list[Compat]) -> dict[str, Any]:
    outcomes = [AlertOutcome(**vars(item)) for item in done]
    return AlertmanagerAccepted(alerts=outcomes).model_dump()
