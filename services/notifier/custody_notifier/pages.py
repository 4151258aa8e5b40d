"""One `PageRequested` in, at most one provider call per unit, one outcome fact out.

load (claim, escalation, policy) → decide (domain.claims) → prepare (address, links, text) →
wait for provider back-off and the SMS window (bundles.py) → claim (KV create, or take a
`retry` claim back by revision) → send → record (update on the claim's revision) → announce.

What a claim becomes, and why nothing here can page twice (README: "Never twice"):
- sent: the provider accepted the page. Redeliveries re-announce page_sent.
- failed: the provider definitely did not deliver (`DeliveryFailed`), or the page could not be
  addressed. Kept, never deleted (a deleted key could be created again). The page then falls
  back to the next channel of its plan (domain.fallback), as its own unit and claim.
- retry: the provider definitely did not deliver *yet* (429, SMTP 4xx, connection refused).
  Nothing went out, so a later delivery takes the claim back by compare-and-set and sends.
- in_doubt: the call raised anything else, or timed out: it may or may not have paged.
  Recorded as page_in_doubt, never resent (invariant 5).
- claimed: a sender is mid-send. A duplicate waits while the claim is within its lease; past
  it the sender is taken for dead and the page is in doubt.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Literal

import structlog
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from custody import clock
from custody.contracts import PageOutcome, PageRequested
from custody.contracts.facts import PageOutcomeKind
from custody.policy.store import PolicyCache, StoredPolicy
from custody_notifier.adapters.channels import Channel, DeliveryFailed, RetryLater
from custody_notifier.adapters.claim_store import FINISH_BUDGET_S, ClaimStore, Held
from custody_notifier.adapters.escalations import read_escalation
from custody_notifier.domain.claims import (
    Decision,
    EscalationView,
    RetryAt,
    SendInProgress,
    claim_key,
    decide_for_claim,
    decide_for_escalation,
)
from custody_notifier.domain.fallback import fallback_page_id, next_channel, plan
from custody_notifier.domain.render import RenderedPage, render
from custody_notifier.linking import Linker
from custody_notifier.outcomes import announce
from custody_notifier.receipts import ReceiptIndex
from custody_notifier.throttles import Rider, Throttles

if TYPE_CHECKING:
    from faststream.nats import NatsBroker

log = structlog.get_logger(__name__)
Ended = Literal["sent", "failed", "in_doubt"]
_OUTCOME: dict[Ended, PageOutcomeKind] = {
    "sent": "page_sent",
    "failed": "page_failed",
    "in_doubt": "page_in_doubt",
}


@dataclass(frozen=True)
class Ready:
    channel: Channel
    address: str
    page: RenderedPage


@dataclass(frozen=True)
class Timing:
    send_timeout_s: float = 15.0
    claim_lease: timedelta = timedelta(seconds=45)

    def __post_init__(self) -> None:
        # A live sender holds a claim for about the send timeout plus a few KV round trips;
        # the lease must stay well above it, or a duplicate would call a slow send in doubt.
        if self.claim_lease.total_seconds() < 2 * self.send_timeout_s:
            raise ValueError("claim lease must be at least twice the send timeout")

    @property
    def finish_budget_s(self) -> float:
        """How long a sender may keep retrying to record an outcome: what the lease leaves
        after the longest send, less a margin, so no redelivery calls it in doubt first."""
        spare = self.claim_lease.total_seconds() - self.send_timeout_s
        return max(1.0, min(FINISH_BUDGET_S, spare - 10.0))


class PageSender:
    def __init__(
        self,
        broker: NatsBroker,
        channels: dict[str, Channel],
        *,
        claims: ClaimStore,
        escalations: KeyValue,
        policy: PolicyCache,
        linker: Linker,
        throttles: Throttles,
        receipts: ReceiptIndex | None,
        case_url_base: str,
        timing: Timing,
    ) -> None:
        self._broker = broker
        self._channels = channels
        self._claims = claims
        self._escalations = escalations
        self._policy = policy
        self._linker = linker
        self._throttles = throttles
        self._receipts = receipts
        self._case_url_base = case_url_base
        self._timing = timing

    async def deliver(self, page: PageRequested) -> PageOutcome:
        """Handle one page end to end and return the outcome it announced."""
        key = claim_key(page)
        # Both reads at once: independent, and the escalation is needed unless the claim
        # already settled the page (a redelivery), which is the rare case.
        held, view = await asyncio.gather(
            self._claims.read(key), self.escalation(page.escalation_id)
        )
        if held is not None:
            decision = decide_for_claim(held[1], clock.now(), self._timing.claim_lease)
            if not decision.send:
                return await self._settled(page, decision)
        decision = decide_for_escalation(view, page.epoch)
        if not decision.send:
            if held is not None:  # a `retry` claim whose escalation moved on meanwhile
                await self._claims.finish(key, held, "skipped", detail=decision.reason)
            return await self._announce(page, decision)
        # Prepare before claiming: a transient failure here (no policy yet, KV hiccup) must
        # not leave a "claimed" record, which would turn into a false page_in_doubt.
        ready = await self._prepare(page)
        if isinstance(ready, str):
            return await self._unsendable(page, key, held, ready)
        await self._throttles.respect_backoff(page.channel)
        # Throttled channels (SMS): take the number's window first, or wait in its bundle.
        await self._throttles.window(page, key, held, ready.channel, ready.address, ready.page)
        mine = await (
            self._claims.create(key, self._claims.record(page.page_id, "claimed"))
            if held is None
            else self._claims.take_back(key, held, page.page_id)
        )
        if mine is None:  # another delivery, replica or bundle claimed it first
            return await self._announce_existing(page, key)
        # Look again now that the page is ours: preparing, back-off and the SMS window take
        # time, and an ack that landed meanwhile must stop this page (no page after an ack).
        again = decide_for_escalation(await self.escalation(page.escalation_id), page.epoch)
        if not again.send:
            await self._claims.finish(key, mine, "skipped", detail=again.reason)
            await self._throttles.leave(ready.channel, page.channel, ready.address, [key])
            return await self._announce(page, again)
        riders = await self._throttles.board(page.channel, ready.channel, ready.address, key)
        return await self._send(page, key, mine, ready, riders)

    async def _send(
        self, page: PageRequested, key: str, mine: Held, ready: Ready, riders: list[Rider]
    ) -> PageOutcome:
        text = self._throttles.compose(ready.page, riders)
        keys = [key, *(r.item.claim_key for r in riders)]
        try:
            provider_id = await asyncio.wait_for(
                ready.channel.send(text, ready.address, page.page_id), self._timing.send_timeout_s
            )
        except RetryLater as exc:
            await self._later(page, key, mine, riders, exc)
            raise AssertionError("unreachable") from exc
        except DeliveryFailed as exc:
            status: Ended = "failed"
            why, provider_id = f"{page.channel} refused: {exc}", ""
        except Exception as exc:
            # The provider may or may not have paged: record that, and never retry (inv. 5).
            status, why, provider_id = (
                "in_doubt",
                f"{page.channel} send outcome unknown: {exc!r}",
                "",
            )
        else:
            status, why = "sent", f"{page.channel} provider id {provider_id}"
            why += f" (bundled with {len(riders)} more)" if riders else ""
            if self._receipts is not None:
                await self._receipts.remember(page, keys, provider_id)
        await self._claims.finish(key, mine, status, detail=why, provider_id=provider_id)
        await self._throttles.finish_riders(riders, status, why, provider_id)
        await self._throttles.leave(ready.channel, page.channel, ready.address, keys)
        return await self._settled(page, Decision(False, _OUTCOME[status], why))

    async def _later(
        self, page: PageRequested, key: str, mine: Held, riders: list[Rider], exc: RetryLater
    ) -> None:
        """Nothing went out: the claim (and each rider's) waits for `after_s`, then retries."""
        retry_at = clock.now() + timedelta(seconds=exc.after_s)
        why = f"{page.channel} not delivered yet: {exc}"
        if exc.provider_wide:
            await self._throttles.back_off(page.channel, retry_at)
        await self._claims.finish(key, mine, "retry", detail=why, retry_at=retry_at.isoformat())
        await self._throttles.finish_riders(riders, "retry", why, "", retry_at.isoformat())
        raise RetryAt(exc.after_s, why)

    @property
    def claims(self) -> ClaimStore:
        return self._claims

    async def undelivered(self, page: PageRequested, why: str) -> PageOutcome:
        """A receipt says a sent page never arrived: announce it failed, and fall back."""
        return await self._settled(page, Decision(False, "page_failed", why))

    # --- loading -------------------------------------------------------------------------

    async def escalation(self, escalation_id: str) -> EscalationView | None:
        return await read_escalation(self._escalations, escalation_id)

    async def policy_for(self, page: PageRequested) -> StoredPolicy:
        """The policy version the escalation snapshotted, else the current one."""
        if page.policy_version:
            try:
                return await self._policy.version(page.policy_version)
            except (KeyNotFoundError, LookupError):
                log.warning("page.policy_version_missing", version=page.policy_version)
        return await self._policy.current(clock.monotonic())

    async def _prepare(self, page: PageRequested) -> Ready | str:
        """The adapter, address and text for the page, or why it cannot be sent at all."""
        stored = await self._policy.current(clock.monotonic())
        person = stored.policy.people.get(page.recipient)
        if person is None:
            return f"{page.recipient!r} is not in policy {stored.version}"
        channel = self._channels.get(page.channel)
        if channel is None:
            return f"no adapter for channel {page.channel!r}"
        address = person.contacts.model_dump().get(page.channel)
        if not isinstance(address, str) or not address:
            return f"{page.recipient!r} has no {page.channel} contact in policy {stored.version}"
        links = await self._linker.bind(page, address)
        rendered = render(
            page, timezone=person.timezone, case_url_base=self._case_url_base, links=links
        )
        return Ready(channel, address, rendered)

    # --- failure and fallback ------------------------------------------------------------

    async def _unsendable(
        self, page: PageRequested, key: str, held: Held | None, why: str
    ) -> PageOutcome:
        if held is not None:
            await self._claims.finish(key, held, "failed", detail=why)
        elif (
            await self._claims.create(key, self._claims.record(page.page_id, "failed", why)) is None
        ):
            return await self._announce_existing(page, key)
        return await self._settled(page, Decision(False, "page_failed", why))

    async def _settled(self, page: PageRequested, decision: Decision) -> PageOutcome:
        """Announce; a failed page then falls back. Also on every re-announcement, so a crash
        between the failure and its fallback is repaired by the redelivery."""
        fact = await self._announce(page, decision)
        if decision.outcome == "page_failed":
            await self._fall_back(page)
        return fact

    async def _fall_back(self, page: PageRequested) -> None:
        stored = await self.policy_for(page)
        person = stored.policy.people.get(page.recipient)
        klass = stored.policy.severity.get(page.severity.value)
        if person is None or klass is None:
            return
        order = plan(klass.channels, klass.promote_to, getattr(klass, "fallback", None))
        contacts = person.contacts.model_dump()
        channel = next_channel(order, page.channel, klass.channels, contacts)
        if channel is None:
            log.warning("page.fallback_exhausted", page_id=page.page_id, channel=page.channel)
            return
        page_id = fallback_page_id(
            page.escalation_id, page.level, page.recipient, channel, page.attempt
        )
        log.info("page.fallback", page_id=page.page_id, to_channel=channel, fallback=page_id)
        await self.deliver(
            page.model_copy(
                update={"channel": channel, "page_id": page_id, "event_id": f"page:{page_id}"}
            )
        )

    # --- announcing ----------------------------------------------------------------------

    async def _announce_existing(self, page: PageRequested, key: str) -> PageOutcome:
        held = await self._claims.read(key)
        if held is None:  # created and then purged by hand: do not guess, retry
            raise RuntimeError(f"claim {key} vanished right after a conflicting create")
        decision = decide_for_claim(held[1], clock.now(), self._timing.claim_lease)
        if decision.send:  # another sender just moved it; see what it becomes
            raise SendInProgress(f"claim {key} changed under us")
        return await self._settled(page, decision)

    async def _announce(self, page: PageRequested, decision: Decision) -> PageOutcome:
        if decision.outcome is None:
            raise AssertionError("a decision to send has no outcome to announce")
        return await announce(
            self._broker,
            outcome=decision.outcome,
            escalation_id=page.escalation_id,
            page_id=page.page_id,
            recipient=page.recipient,
            channel=page.channel,
            level=page.level,
            attempt=page.attempt,
            reason=decision.reason,
            traceparent=page.traceparent,
            tracestate=page.tracestate,
        )
