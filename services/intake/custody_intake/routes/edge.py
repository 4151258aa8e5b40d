"""What every HTTP route shares: reading a body without trusting its size, turning a request
into a door `Request`, and answering a refusal in the one error shape."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ValidationError

from custody.contracts import Refusal
from custody_intake import door
from custody_intake.domain.event import check_model_text
from custody_intake.domain.json_input import MAX_BODY_BYTES, parse_object
from custody_intake.domain.rejection import Refused, Rejection, from_validation_errors

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
HASH_CAP_BYTES = 8 * 1024 * 1024  # past this we stop reading a refused body at all
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")

bearer = HTTPBearer(auto_error=False, description="a person's or agent's token")
Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
IdempotencyKey = Annotated[
    str | None,
    Header(max_length=255, description="reused by every retry of one input"),
]
TraceParent = Annotated[str | None, Header(description="W3C trace context")]

REFUSALS: dict[int | str, dict[str, Any]] = {
    code: {"model": Refusal, "description": why}
    for code, why in (
        (400, "unreadable body: not UTF-8, not JSON, too deep, NaN, duplicate key"),
        (401, "unknown, revoked or missing token"),
        (403, "not allowed for this token"),
        (413, "body over 64 KiB"),
        (422, "a field is missing, wrong, or too long"),
    )
}
REFUSALS[503] = {
    "model": Refusal,
    "description": "the bus is unavailable: retry after Retry-After seconds",
    "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}},
}


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> tuple[bytes, int, str]:
    """(first limit+1 bytes, total size, sha256). Only the head is kept in memory, however
    large the body; its hash covers up to 8 MiB, past which reading stops."""
    kept = bytearray()
    size = 0
    digest = hashlib.sha256()
    async for chunk in request.stream():
        size += len(chunk)
        digest.update(chunk)
        if len(kept) <= limit:
            kept += chunk[: limit + 1 - len(kept)]
        if size > HASH_CAP_BYTES:
            break
    return bytes(kept), size, digest.hexdigest()


async def door_request(request: Request, token: str | None) -> door.Request:
    raw, size, sha = await read_body(request)
    traceparent = request.headers.get("traceparent", "")
    return door.Request(
        raw=raw,
        token=token,
        request_id=uuid.uuid4().hex,
        idempotency_key=request.headers.get("idempotency-key") or None,
        traceparent=traceparent if _TRACEPARENT.match(traceparent) else None,
        size=size,
        sha256=sha,
    )


def token_of(credentials: HTTPAuthorizationCredentials | None) -> str | None:
    return credentials.credentials.strip() if credentials else None


def refusal(rejection: Rejection, extra: dict[str, Any] | None = None) -> JSONResponse:
    return JSONResponse({**rejection.body(), **(extra or {})}, status_code=rejection.status)


def answer(result: T | Rejection, ok: Callable[[T], Any], status: int = 202) -> JSONResponse:
    if isinstance(result, Rejection):
        return refusal(result)
    return JSONResponse(ok(result), status_code=status)


def optional_body(raw: bytes, size: int | None, model: type[M], one_line: frozenset[str]) -> M:
    """An optional JSON body read strictly: no body at all is the model's defaults; anything
    sent must be a JSON object. A body of only white space is not JSON, and is refused rather
    than taken for none."""
    if not raw:
        return model()
    parse_object(raw, size)
    try:
        body = model.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        raise Refused(from_validation_errors(exc.errors())) from None
    check_model_text(body.model_dump(mode="json"), one_line)
    return body
