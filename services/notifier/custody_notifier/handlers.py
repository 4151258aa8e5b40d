"""The notifier's NATS edge: one `PageRequested` in, at most one page out, one outcome fact.

load (claim, escalation, policy) → decide (domain.claims) → claim (KV create) → send →
record (KV update on the claim's revision) → publish the PageOutcome → ack (consuming.handle).

What a claim becomes, and why nothing here can page twice:
- sent: the provider accepted the page. Redeliveries re-announce page_sent.
- failed: the provider definitely did not deliver (`DeliveryFailed`), or the page could not be
  addressed (unknown person, no contact, no adapter). The claim is *kept*, marked failed,
  rather than deleted: a deleted key can be created again, so a late redelivery would send a
  page the escalator has already replaced with a fallback. Retrying is the escalator's call,
  as a new attempt, which is a new unit and a new claim.
- in_doubt: the provider call raised anything but `DeliveryFailed`, or timed out: it may or
  may not have paged. Recorded as page_in_doubt, never resent (invariant 5).
- claimed: a sender is mid-send. A duplicate waits (nak) while the claim is within its lease;
  past it the sender is taken for dead and the page is in doubt.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import structlog
from nats.js.errors import InvalidKeyError, KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from custody import clock, subjects
from custody.bus.consuming import PermanentError, decode, handle
from custody.bus.publishing import publish
from custody.contracts import PageOutcome, PageRequested
from custody.contracts.facts import PageOutcomeKind
from custody.policy.store import PolicyCache
from custody_notifier.adapters.channels import Channel, DeliveryFailed
from custody_notifier.domain.claims import (
    CLAIM_LEASE,
    Claim,
    ClaimStatus,
    Decision,
    EscalationUnreadable,
    EscalationView,
    claim_key,
    decide_for_claim,
    decide_for_escalation,
)
from custody_notifier.domain.render import RenderedPage, render

if TYPE_CHECKING:
    from faststream.nats import NatsBroker
    from faststream.nats.message import NatsMessage

log = structlog.get_logger(__name__)

SPEC = subjects.NOTIFIER_PAGES
KV_ATTEMPTS = 3
# A live sender holds a claim for at most about this plus a few KV round trips; CLAIM_LEASE
# must stay well above it, or a duplicate would call a slow but live send in doubt.
SEND_TIMEOUT_S = 15.0
assert CLAIM_LEASE.total_seconds() >= 2 * SEND_TIMEOUT_S


@dataclass(frozen=True)
class Stores:
    """KV handles, available only once the broker is connected."""

    claims: KeyValue
    escalations: KeyValue
    policy: PolicyCache


@dataclass(frozen=True)
class _Ready:
    channel: Channel
    address: str
    page: RenderedPage


class Notifier:
    def __init__(
        self, broker: NatsBroker, channels: Mapping[str, Channel], case_url_base: str
    ) -> None:
        self._broker = broker
        self._channels = channels
        self._case_url_base = case_url_base
        self._stores: Stores | None = None
        self._claimant = f"{os.uname().nodename}:{os.getpid()}"

    def bind(self, stores: Stores) -> None:
        self._stores = stores

    @property
    def stores(self) -> Stores:
        if self._stores is None:
            raise RuntimeError("notifier used before its KV stores were bound (on_start)")
        return self._stores

    async def on_page_requested(self, msg: NatsMessage) -> None:
        """Safe under redelivery: the KV claim, not the delivery count, decides whether the
        provider is called, and every outcome is published under a deterministic event id."""
        subject = msg.raw_message.subject or ""
        with structlog.contextvars.bound_contextvars(escalation_id=subject.rsplit(".", 1)[-1]):
            async with _keep_alive(msg, SPEC.ack_wait_s / 3):
                await handle(self._broker, msg, SPEC, lambda: self._work(msg))

    async def _work(self, msg: NatsMessage) -> None:
        page = decode(msg)
        if not isinstance(page, PageRequested):
            raise PermanentError(f"expected PageRequested, got {type(page).__name__}")
        with structlog.contextvars.bound_contextvars(
            escalation_id=page.escalation_id, page_id=page.page_id
        ):
            await self.deliver(page)

    async def deliver(self, page: PageRequested) -> PageOutcome:
        """Handle one page end to end and return the outcome it announced."""
        key = claim_key(page)
        existing = await self._read_claim(key)
        if existing is not None:
            return await self._announce(page, decide_for_claim(existing, clock.now()))
        decision = decide_for_escalation(await self._read_escalation(page), page.epoch)
        if not decision.send:
            return await self._announce(page, decision)
        # Prepare before claiming: a transient failure here (no policy yet, KV hiccup) must
        # not leave a "claimed" record, which would turn into a false page_in_doubt.
        ready = await self._prepare(page)
        if isinstance(ready, str):
            if await self._claim(key, page, status="failed", detail=ready) is None:
                return await self._announce_existing(page, key)
            return await self._announce(page, Decision(False, "page_failed", ready))
        claimed = await self._claim(key, page, status="claimed")
        if claimed is None:  # another delivery or replica claimed it first
            return await self._announce_existing(page, key)
        return await self._send(page, key, claimed, ready)

    async def _send(
        self, page: PageRequested, key: str, claimed: tuple[int, Claim], ready: _Ready
    ) -> PageOutcome:
        try:
            provider_id = await asyncio.wait_for(
                ready.channel.send(ready.page, ready.address, page.page_id), SEND_TIMEOUT_S
            )
        except DeliveryFailed as exc:
            detail = f"{page.channel} refused: {exc}"
            await self._finish(key, claimed, "failed", detail=detail)
            return await self._announce(page, Decision(False, "page_failed", detail))
        except Exception as exc:
            # The provider may or may not have paged: record that, and never retry (inv. 5).
            detail = f"{page.channel} send outcome unknown: {exc!r}"
            await self._finish(key, claimed, "in_doubt", detail=detail)
            return await self._announce(page, Decision(False, "page_in_doubt", detail))
        detail = f"{page.channel} provider id {provider_id}"
        await self._finish(key, claimed, "sent", detail=detail, provider_id=provider_id)
        return await self._announce(page, Decision(False, "page_sent", detail))

    # --- loading -------------------------------------------------------------------------

    async def _read_claim(self, key: str) -> Claim | None:
        try:
            entry = await self.stores.claims.get(key)
        except KeyNotFoundError:
            return None
        return Claim.from_json(entry.value)

    async def _read_escalation(self, page: PageRequested) -> EscalationView | None:
        try:
            entry = await self.stores.escalations.get(page.escalation_id)
        except KeyNotFoundError:
            return None
        except InvalidKeyError as exc:
            raise PermanentError(f"escalation id {page.escalation_id!r} is no KV key") from exc
        try:
            return EscalationView.from_json(entry.value)
        except EscalationUnreadable as exc:
            raise PermanentError(str(exc)) from exc

    async def _prepare(self, page: PageRequested) -> _Ready | str:
        """The adapter, address and text for the page, or why it cannot be sent at all."""
        stored = await self.stores.policy.current(clock.monotonic())
        person = stored.policy.people.get(page.recipient)
        if person is None:
            return f"{page.recipient!r} is not in policy {stored.version}"
        channel = self._channels.get(page.channel)
        if channel is None:
            return f"no adapter for channel {page.channel!r}"
        address = person.contacts.model_dump().get(page.channel)
        if not isinstance(address, str) or not address:
            return f"{page.recipient!r} has no {page.channel} contact in policy {stored.version}"
        rendered = render(page, timezone=person.timezone, case_url_base=self._case_url_base)
        return _Ready(channel, address, rendered)

    # --- the claim -----------------------------------------------------------------------

    async def _claim(
        self, key: str, page: PageRequested, status: ClaimStatus, detail: str = ""
    ) -> tuple[int, Claim] | None:
        """Create the claim; None if the key already exists. A create that timed out may
        still have landed: the claimant token tells our own record from someone else's."""
        record = Claim(
            status=status,
            page_id=page.page_id,
            claimed_at=clock.now().isoformat(),
            claimant=f"{self._claimant}:{uuid.uuid4().hex}",
            detail=detail,
        )
        try:
            return await self.stores.claims.create(key, record.to_json()), record
        except KeyWrongLastSequenceError:
            return None
        except Exception:
            with contextlib.suppress(KeyNotFoundError):
                entry = await self.stores.claims.get(key)
                ours = Claim.from_json(entry.value).claimant == record.claimant
                if ours and entry.revision is not None:
                    return entry.revision, record
            raise

    async def _finish(
        self,
        key: str,
        claimed: tuple[int, Claim],
        status: ClaimStatus,
        *,
        detail: str,
        provider_id: str = "",
    ) -> None:
        """Move our own claim to its final status on the revision we created. If this keeps
        failing the claim stays "claimed", and once its lease runs out a redelivery reports
        page_in_doubt: conservative, since the record never learnt the outcome."""
        revision, claim = claimed
        record = replace(
            claim,
            status=status,
            finished_at=clock.now().isoformat(),
            provider_id=provider_id,
            detail=detail,
        )
        for attempt in range(1, KV_ATTEMPTS + 1):
            try:
                await self.stores.claims.update(key, record.to_json(), last=revision)
                return
            except KeyWrongLastSequenceError:
                # An earlier try that timed out may have landed; anything else is not ours.
                if await self._read_claim(key) == record:
                    return
                raise
            except Exception as exc:
                log.warning("page.claim_update_retry", attempt=attempt, error=repr(exc))
                if attempt == KV_ATTEMPTS:
                    log.error("page.outcome_unrecorded", status=status, detail=detail)
                    raise
                await asyncio.sleep(0.2 * attempt)

    # --- announcing ----------------------------------------------------------------------

    async def _announce_existing(self, page: PageRequested, key: str) -> PageOutcome:
        claim = await self._read_claim(key)
        if claim is None:  # created and then purged by hand: do not guess, retry
            raise RuntimeError(f"claim {key} vanished right after a conflicting create")
        return await self._announce(page, decide_for_claim(claim, clock.now()))

    async def _announce(self, page: PageRequested, decision: Decision) -> PageOutcome:
        if decision.outcome is None:
            raise AssertionError("a decision to send has no outcome to announce")
        outcome: PageOutcomeKind = decision.outcome
        fact = PageOutcome(
            event_id=f"{outcome}:{page.page_id}",
            escalation_id=page.escalation_id,
            occurred_at=clock.now(),
            traceparent=page.traceparent,
            tracestate=page.tracestate,
            outcome=outcome,
            page_id=page.page_id,
            recipient=page.recipient,
            channel=page.channel,
            level=page.level,
            attempt=page.attempt,
            detail=decision.reason[:2000],
        )
        subject = subjects.page_outcome(outcome.removeprefix("page_"), page.escalation_id)
        await publish(self._broker, subject, fact)
        log.info(
            "page.outcome",
            outcome=outcome,
            channel=page.channel,
            recipient=page.recipient,
            level=page.level,
            attempt=page.attempt,
            reason=decision.reason,
        )
        return fact


@contextlib.asynccontextmanager
async def _keep_alive(msg: NatsMessage, every_s: float) -> AsyncIterator[None]:
    """Tell the server we are still working (+WPI) so a slow provider call does not get the
    page redelivered mid-send: the copy would only wait out the claim's lease, but each wait
    spends one of the consumer's max_deliver attempts."""

    async def beat() -> None:
        while True:
            await asyncio.sleep(every_s)
            with contextlib.suppress(Exception):
                await msg.in_progress()

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
