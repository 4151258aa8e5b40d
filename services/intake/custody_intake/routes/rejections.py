"""`GET /v1/rejections`: what intake refused, newest first. An admin sees every source;
anyone else sees only what was refused in their own name."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from custody_intake.adapters.rejection_log import RejectionLog
from custody_intake.door import Caller, Door
from custody_intake.routes.edge import REFUSALS, Bearer, answer, door_request, token_of

IsAdmin = Callable[[str], Awaitable[bool]]


class RejectionRow(BaseModel):
    seq: int | None
    at: str | None
    source: str
    error_code: str
    field: str
    message: str
    body_sha256: str
    body_head: str


def router(door: Door, log: RejectionLog, is_admin: IsAdmin) -> APIRouter:
    api = APIRouter(tags=["rejections"])

    @api.get(
        "/v1/rejections",
        responses={200: {"model": list[RejectionRow]}, **REFUSALS},
        summary="Refused inputs, newest first",
    )
    async def rejections(
        request: Request,
        credentials: Bearer,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        source: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
    ) -> JSONResponse:
        req = await door_request(request, token_of(credentials))

        async def work(caller: Caller) -> list[dict[str, Any]]:
            principal = await door.authenticate(req.token, caller)
            wanted = source if await is_admin(principal.name) else principal.name
            return await log.recent(limit, wanted)

        result = await door.admit(req, work, budget_s=door.budget_s * 4)
        return answer(result, lambda rows: rows, status=200)

    return api
