"""Post-escalation reviews: who may attach one, and the fact that records it.

After an escalation is resolved, anyone who was in its chain (offered, holding or paged), the
person who raised it, or an admin may attach a review: did the threshold fire in the right
place, what would firing earlier have changed, and which gap (runbook, alert, ownership)
caused it. The ledger writes it as a `review` fact in the hash chain itself (it is the only
Postgres writer; nothing else on the bus needs reviews), keyed by a digest of the author and
the review, so a retried POST records it once.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Final, Literal

from custody_ledger.domain.chain import canonical_json, canonical_time
from custody_ledger.domain.facts import Fact, clean_text
from custody_ledger.domain.projection import Escalation

KIND: Final = "review"
STREAM: Final = "LEDGER"  # not a JetStream stream: the ledger wrote this fact itself
Gap = Literal["runbook", "alert", "ownership", "none"]
GAPS: Final = ("runbook", "alert", "ownership", "none")


@dataclass(frozen=True)
class Review:
    threshold_right: bool  # did the threshold fire in the right place?
    if_earlier: str  # what would have changed had it fired earlier
    gap: Gap  # which runbook, alert or ownership gap caused it ("none": no gap)
    threshold_note: str = ""
    gap_detail: str = ""


def refusal(view: Escalation, author: str, *, is_person: bool, is_admin: bool) -> str | None:
    """Why `author` may not review `view` (an error code), or None when they may."""
    if not is_person:
        return "forbidden"  # agents raise and resolve; people review
    in_chain = author in view.people or author == view.raised_by
    if not (is_admin or in_chain):
        return "not_found"  # never confirm the escalation exists (as the read API does)
    if view.state != "resolved":
        return "not_resolved"
    return None


def review_fact(escalation_id: str, author: str, review: Review, now: datetime) -> Fact:
    body = {k: clean_text(v) if isinstance(v, str) else v for k, v in asdict(review).items()}
    digest = hashlib.sha256(canonical_json([escalation_id, author, body]).encode()).hexdigest()
    msg_id = f"review:{escalation_id}:{digest[:24]}"
    payload = {
        "kind": KIND,
        "event_id": msg_id,
        "escalation_id": escalation_id,
        "occurred_at": canonical_time(now),
        "actor": author,
        **body,
    }
    return Fact(
        msg_id=msg_id,
        escalation_id=escalation_id,
        kind=KIND,
        stream=STREAM,
        subject=f"ledger.review.{escalation_id}",
        occurred_at=now,
        actor=author,
        trace_id=None,
        payload=payload,
    )
