"""`POST /v1/events`, the native door, and the published JSON Schema of its event.

The body is read raw, not bound by FastAPI: limits (size, depth, NaN, duplicate keys) must be
checked before any parser sees it. The OpenAPI spec still documents it (see `openapi.py`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from custody.contracts import EventAccepted, IncidentEvent
from custody_intake.door import Door, Raised
from custody_intake.routes.edge import (
    REFUSALS,
    Bearer,
    IdempotencyKey,
    TraceParent,
    answer,
    door_request,
    token_of,
)
from custody_intake.routes.openapi import json_body

SCHEMA_PATH = "/v1/schemas/incident-event.json"


def router(door: Door) -> APIRouter:
    api = APIRouter(tags=["events"])

    @api.post(
        "/v1/events",
        status_code=202,
        responses={202: {"model": EventAccepted}, **REFUSALS},
        openapi_extra=json_body("IncidentEvent"),
        summary="Raise an incident (or update its open escalation)",
    )
    async def raise_event(
        request: Request,
        credentials: Bearer,
        idempotency_key: IdempotencyKey = None,
        traceparent: TraceParent = None,
    ) -> JSONResponse:
        """`202` only after JetStream acknowledged the write. The same (source, dedup_key)
        while its escalation is open updates it (`duplicate: true`) and never pages again."""
        result = await door.native(await door_request(request, token_of(credentials)))
        return answer(result, _accepted)

    @api.get(SCHEMA_PATH, summary="The JSON Schema of the native incident event")
    async def schema() -> dict[str, Any]:
        return event_schema()

    return api


def event_schema() -> dict[str, Any]:
    schema = IncidentEvent.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCHEMA_PATH
    schema["description"] = (
        "A native Custody incident event. Beyond this schema: the body is at most 64 KiB and "
        "nests at most 32 levels; numbers are finite; keys are unique; no text carries control "
        "characters; source, dedup_key, title, service and labels are one line each."
    )
    return schema


def _accepted(raised: Raised) -> dict[str, Any]:
    return EventAccepted(
        escalation_id=raised.escalation_id,
        duplicate=raised.duplicate,
        seen_count=raised.seen_count,
    ).model_dump()
