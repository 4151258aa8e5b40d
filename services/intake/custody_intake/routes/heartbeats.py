"""`POST /v1/heartbeats/{name}`: declare and ping a dead-man's switch; `DELETE` retires it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from custody.contracts import Refusal, Severity
from custody.contracts.incident import ONE_LINE
from custody_intake.domain.heartbeat import (
    MAX_INTERVAL_S,
    MIN_INTERVAL_S,
    NAME_PATTERN,
    Declaration,
    Heartbeat,
)
from custody_intake.domain.rejection import refuse
from custody_intake.door import Caller, Door
from custody_intake.routes.edge import (
    REFUSALS,
    Bearer,
    answer,
    door_request,
    optional_body,
    token_of,
)
from custody_intake.routes.openapi import json_body
from custody_intake.watchdog import Watchdog


class HeartbeatPing(BaseModel):
    """An optional body: the first ping must declare `interval`; later ones may change it."""

    model_config = ConfigDict(extra="forbid")

    interval: float | None = Field(
        default=None, ge=MIN_INTERVAL_S, le=MAX_INTERVAL_S, description="seconds between pings"
    )
    severity: Severity | None = Field(default=None, description="of the silence incident")
    service: str | None = Field(
        default=None, min_length=1, max_length=128, json_schema_extra=ONE_LINE
    )


Name = Annotated[str, Path(pattern=NAME_PATTERN, max_length=128, description="the heartbeat")]


class HeartbeatState(BaseModel):
    name: str
    owner: str
    interval_s: float
    last_ping_at: str
    status: str = "ok"


def router(door: Door, watchdog: Watchdog) -> APIRouter:
    api = APIRouter(tags=["heartbeats"])

    @api.post(
        "/v1/heartbeats/{name}",
        status_code=202,
        responses={202: {"model": HeartbeatState}, 404: {"model": Refusal}, **REFUSALS},
        openapi_extra=json_body("HeartbeatPing", required=False),
        summary="Ping (and declare) a heartbeat; a missed interval raises NAME went silent",
    )
    async def ping(name: Name, request: Request, credentials: Bearer) -> JSONResponse:
        req = await door_request(request, token_of(credentials))

        async def work(caller: Caller) -> Heartbeat:
            principal = await door.authenticate(req.token, caller)
            declared = declaration(req.raw, req.size)
            return await watchdog.ping(principal.name, name, declared)

        return answer(await door.admit(req, work), _state)

    @api.delete(
        "/v1/heartbeats/{name}",
        status_code=200,
        responses={404: {"model": Refusal}, **REFUSALS},
        summary="Retire a heartbeat: no silence is raised for it any more",
    )
    async def forget(name: Name, request: Request, credentials: Bearer) -> JSONResponse:
        req = await door_request(request, token_of(credentials))

        async def work(caller: Caller) -> str:
            principal = await door.authenticate(req.token, caller)
            if not await watchdog.forget(principal.name, name):
                raise refuse(404, "not_found", "name", f"name: no heartbeat {name!r} of yours")
            return name

        result = await door.admit(req, work)
        return answer(result, lambda _: {"name": name, "status": "retired"}, status=200)

    return api


def declaration(raw: bytes, size: int | None) -> Declaration:
    body = optional_body(raw, size, HeartbeatPing, frozenset({"service"}))
    return Declaration(body.interval, body.severity, body.service)


def _state(hb: Heartbeat) -> dict[str, Any]:
    return HeartbeatState(
        name=hb.name,
        owner=hb.owner,
        interval_s=hb.interval_s,
        last_ping_at=hb.last_ping_at.isoformat(),
    ).model_dump()
