"""Whether to send one page: the claim decision table and the "still offered to this epoch" rule.

A page is the unit of invariant 5: (escalation, level, recipient, channel, attempt). Its claim
record in KV `page_claims` is created (create fails if the key exists) *before* the provider is
called, so the record, not the broker's delivery count, decides what a redelivery does:

| claim            | escalation (KV `escalations`)     | decision                               |
|------------------|-----------------------------------|----------------------------------------|
| sent             | (not read)                        | re-announce page_sent, no provider call |
| failed           | (not read)                        | re-announce page_failed                |
| in_doubt         | (not read)                        | re-announce page_in_doubt              |
| claimed, fresh   | (not read)                        | transient: a live sender is mid-send   |
| claimed, expired | (not read)                        | page_in_doubt: the sender died         |
| retry, not yet   | (not read)                        | transient: wait until its retry_at     |
| retry, due       | offered, epoch == page.epoch      | send again (CAS on the claim revision) |
| skipped          | (not read)                        | re-announce page_skipped               |
| unreadable       | (not read)                        | page_in_doubt                          |
| none             | missing, or older than page.epoch | transient: the escalator writes first  |
| none             | offered, epoch == page.epoch      | send                                   |
| none             | offered, another epoch            | page_skipped                           |
| none             | any other state                   | page_skipped                           |

`retry` means the provider refused *for now* (429, 4xx SMTP reply, connection refused): it
definitely did not deliver, so the page may go out later, and the sender moves the claim back to
`claimed` by compare-and-set on its revision, which only one sender can win.

A claim is fresh for `CLAIM_LEASE` after `claimed_at`: longer than any live sender holds it
(the send itself is bounded by the handler's timeout), so a duplicate that arrives while the
first copy is still sending waits for its outcome instead of reporting a false in-doubt.

The claim is read before the escalation, so a redelivered page that was sent before an ack
re-announces page_sent rather than contradicting it with page_skipped.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from custody.contracts import PageRequested
from custody.contracts.facts import PageOutcomeKind

ClaimStatus = Literal["claimed", "sent", "failed", "in_doubt", "retry", "skipped", "unreadable"]
_STORED_STATUSES = ("claimed", "sent", "failed", "in_doubt", "retry", "skipped")

CLAIM_LEASE = timedelta(seconds=45)


class NotYet(Exception):
    """Transient: the answer will exist shortly. The handler naks and is redelivered."""


class SendInProgress(NotYet):
    """Another delivery of this page holds a fresh claim and is still sending."""


class RetryAt(NotYet):
    """Transient with a known time: the provider asked us to wait (Retry-After), or the
    recipient's SMS window is still closed. The handler naks with exactly this delay."""

    def __init__(self, delay_s: float, why: str) -> None:
        super().__init__(why)
        self.delay_s = max(0.0, delay_s)


class EscalationNotVisible(NotYet):
    """The escalation's state (or this page's epoch of it) is not in KV yet. The escalator
    writes state before it publishes a page, so this is transient: nak and redeliver."""


class EscalationUnreadable(ValueError):
    """The escalation document is not what the escalator writes: redelivery cannot fix it."""


@dataclass(frozen=True)
class Claim:
    """The record in KV `page_claims`. Only this page's sender moves it on from `claimed`."""

    status: ClaimStatus
    page_id: str
    claimed_at: str
    claimant: str = ""  # who created it: tells our own timed-out create from another's
    finished_at: str = ""
    provider_id: str = ""
    detail: str = ""
    retry_at: str = ""  # status retry: not before this instant
    receipt: str = ""  # the provider's delivery receipt, once one arrived

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes | None) -> Claim:
        """Never raises: a record nobody can read is treated as in doubt, never resent."""
        try:
            data = json.loads(raw or b"")
            status = data["status"]
            if status not in _STORED_STATUSES:
                raise ValueError(status)
            return cls(
                status=status,
                page_id=str(data["page_id"]),
                claimed_at=str(data.get("claimed_at", "")),
                claimant=str(data.get("claimant", "")),
                finished_at=str(data.get("finished_at", "")),
                provider_id=str(data.get("provider_id", "")),
                detail=str(data.get("detail", "")),
                retry_at=str(data.get("retry_at", "")),
                receipt=str(data.get("receipt", "")),
            )
        except (ValueError, KeyError, TypeError):
            return cls(status="unreadable", page_id="", claimed_at="", detail=repr(raw)[:200])


@dataclass(frozen=True)
class EscalationView:
    """The two fields of the escalator's KV document that fence a page."""

    state: str
    epoch: int

    @classmethod
    def from_json(cls, raw: bytes | None) -> EscalationView:
        try:
            data: Any = json.loads(raw or b"")
            state = data["state"]
            epoch = data["epoch"]
            if not isinstance(state, str) or isinstance(epoch, bool):
                raise TypeError(f"state={state!r} epoch={epoch!r}")
            return cls(state=state, epoch=int(epoch))
        except (ValueError, KeyError, TypeError) as exc:
            raise EscalationUnreadable(f"escalation document unreadable: {exc!r}") from exc


@dataclass(frozen=True)
class Decision:
    send: bool
    outcome: PageOutcomeKind | None  # what to announce when not sending
    reason: str


SEND = Decision(send=True, outcome=None, reason="offered to this epoch")
SEND_AGAIN = Decision(send=True, outcome=None, reason="the provider's back-off is over")


def decide_for_claim(claim: Claim, now: datetime, lease: timedelta = CLAIM_LEASE) -> Decision:
    """A claim exists: never call the provider again, only re-announce what it records; the
    one exception is `retry`, which records that nothing went out."""
    if claim.status == "retry":
        retry_at = _parse_time(claim.retry_at)
        if retry_at is not None and now < retry_at:
            wait = (retry_at - now).total_seconds()
            raise RetryAt(wait, f"provider back-off until {claim.retry_at}")
        return SEND_AGAIN
    if claim.status == "skipped":
        return Decision(False, "page_skipped", claim.detail or "already skipped")
    if claim.status == "sent":
        return Decision(False, "page_sent", claim.detail or "already sent")
    if claim.status == "failed":
        return Decision(False, "page_failed", claim.detail or "already failed")
    if claim.status == "in_doubt":
        return Decision(False, "page_in_doubt", claim.detail or "send outcome unknown")
    if claim.status == "claimed":
        claimed_at = _parse_time(claim.claimed_at)
        if claimed_at is not None and now - claimed_at < lease:
            raise SendInProgress(f"claimed at {claim.claimed_at}, still within its lease")
        return Decision(
            False,
            "page_in_doubt",
            f"claimed at {claim.claimed_at or '?'} and never finished: the sender died, the "
            "page may or may not have gone out, so it is not retried",
        )
    return Decision(False, "page_in_doubt", f"claim record unreadable: {claim.detail}")


def _parse_time(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def decide_for_escalation(escalation: EscalationView | None, page_epoch: int) -> Decision:
    """No claim yet: send only while the escalation is still offered to this page's epoch."""
    if escalation is None:
        raise EscalationNotVisible("no escalation state in KV yet")
    if escalation.epoch < page_epoch:
        raise EscalationNotVisible(
            f"escalation at epoch {escalation.epoch}, page is for {page_epoch}"
        )
    if escalation.state != "offered":
        return Decision(False, "page_skipped", f"escalation is {escalation.state}, not offered")
    if escalation.epoch != page_epoch:
        return Decision(
            False,
            "page_skipped",
            f"page is for epoch {page_epoch}, escalation moved on to epoch {escalation.epoch}",
        )
    return SEND


def decide(
    claim: Claim | None, escalation: EscalationView | None, page_epoch: int, now: datetime
) -> Decision:
    """The whole table in one call (see the module docstring)."""
    if claim is not None:
        decision = decide_for_claim(claim, now)
        if not decision.send:
            return decision
    return decide_for_escalation(escalation, page_epoch)


def claim_key(page: PageRequested) -> str:
    """The KV key of the page's unit: `<escalation>.<level>.<recipient>.<channel>.<attempt>`,
    each token escaped into `[-_a-zA-Z0-9=]` so distinct units never share a key."""
    parts = (page.escalation_id, str(page.level), page.recipient, page.channel, str(page.attempt))
    return ".".join(escape_token(p) for p in parts)


def escape_token(value: str) -> str:
    """Injective: keep `[-_a-zA-Z0-9]`, write every other UTF-8 byte as `=XX`."""
    if not value:
        return "="
    out: list[str] = []
    for ch in value:
        if ch.isascii() and (ch.isalnum() or ch in "-_"):
            out.append(ch)
        else:
            out.extend(f"={b:02X}" for b in ch.encode())
    return "".join(out)
