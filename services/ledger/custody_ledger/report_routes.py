"""The ledger API's report and review routes: GET /v1/reports, POST .../{id}/reviews.

A report covers what the caller may see (everything for an admin). A review is written by
the ledger itself, as a `review` fact in the hash chain (domain/reviews.py says who may).
"""

# No `from __future__ import annotations`: FastAPI reads the route signatures at runtime.

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from custody import clock
from custody_ledger.adapters.batched_writer import Writer
from custody_ledger.adapters.reads import Reads
from custody_ledger.api_errors import ApiError, Caller
from custody_ledger.domain import reports, reviews

_REFUSALS = {
    "forbidden": (403, "only a person in the escalation's chain can attach a review"),
    "not_found": (404, "no such escalation"),
    "not_resolved": (409, "attach a review once the escalation is resolved"),
}


class ReviewBody(BaseModel):
    """A post-escalation review: was the threshold right, and what gap caused it."""

    model_config = ConfigDict(extra="forbid")

    threshold_right: bool = Field(description="did the threshold fire in the right place?")
    if_earlier: str = Field(
        max_length=2000, description="what would have changed had it fired earlier"
    )
    gap: Literal["runbook", "alert", "ownership", "none"] = Field(
        description="which gap caused it: a runbook, an alert, ownership, or none"
    )
    threshold_note: str = Field(default="", max_length=2000)
    gap_detail: str = Field(default="", max_length=2000, description="which runbook, alert…")


def install(
    app: FastAPI,
    caller: Callable[..., Awaitable[Caller]],
    reads: Reads,
    writer: Writer | None,
    now: Callable[[], datetime] = clock.now,
) -> None:
    Who = Annotated[Caller, Depends(caller)]

    @app.get("/v1/reports", tags=["reports"])
    async def report(
        who: Who,
        days: Annotated[int, Query(ge=1, le=366, description="window, in days")] = 7,
    ) -> dict[str, Any]:
        """`custody report --json`: MTTA/MTTR, acceptance per level, handoffs, exception rate,
        stalled escalations, the daily table, pending follow-ups, in-doubt pages, reviews."""
        at = now()
        rows, pages, written = await reads.report(
            who.name, is_admin=who.is_admin, since=at - timedelta(days=days)
        )
        return reports.build(rows, pages, written, now=at, days=days)

    if writer is None:
        return

    @app.post("/v1/escalations/{escalation_id}/reviews", tags=["reviews"], status_code=201)
    async def attach_review(who: Who, escalation_id: str, body: ReviewBody) -> JSONResponse:
        """Attach a post-escalation review (after resolve; anyone in the chain, or an admin).
        Posting the same review again records it once (`duplicate: true`)."""
        view = await reads.escalation(escalation_id)
        refusal = (
            "not_found"
            if view is None
            else reviews.refusal(
                view, who.name, is_person=who.kind == "person", is_admin=who.is_admin
            )
        )
        if refusal is not None:
            status, message = _REFUSALS[refusal]
            raise ApiError(status, refusal, "escalation_id", message)
        review = reviews.Review(**body.model_dump())
        fact = reviews.review_fact(escalation_id, who.name, review, now())
        new = await writer.append([fact])
        document = {
            "review_id": fact.msg_id,
            "escalation_id": escalation_id,
            "author": who.name,
            "at": fact.occurred_at.isoformat(),
            **body.model_dump(),
            "duplicate": new == 0,
        }
        return JSONResponse(document, status_code=201)
