"""Provider back-off and per-address windows, shared by every replica through KV `delivery`.

- Back-off: after a 429, every page on that channel waits out its Retry-After before any call
  (so no call lands early), and is nak'ed with exactly that delay.
- Window (channels with `throttle_s`, i.e. SMS): at most one send per number per window. The
  page that finds the window closed records `retry` on its claim (nothing went out), joins the
  number's bundle and waits; the page that takes the window next claims up to three waiting
  pages back (compare-and-set on their `retry` claims) and sends them all in one SMS.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import structlog

from custody import clock
from custody.contracts import PageRequested
from custody.contracts.facts import PageOutcomeKind
from custody_notifier.adapters.channels import Channel, throttle_window_s
from custody_notifier.adapters.claim_store import ClaimStore, Held
from custody_notifier.adapters.delivery_store import DeliveryStore
from custody_notifier.domain.claims import ClaimStatus, EscalationView, RetryAt
from custody_notifier.domain.render import RenderedPage
from custody_notifier.domain.throttle import Waiting, bundle_page, pick
from custody_notifier.outcomes import announce

if TYPE_CHECKING:
    from faststream.nats import NatsBroker

log = structlog.get_logger(__name__)
WINDOW_SLACK_S = 0.25  # wake just after the window opens, not just before it
EscalationOf = Callable[[str], Awaitable[EscalationView | None]]
_ANNOUNCED: dict[str, PageOutcomeKind] = {
    "sent": "page_sent",
    "failed": "page_failed",
    "in_doubt": "page_in_doubt",
}


@dataclass(frozen=True)
class Rider:
    """A waiting page this sender claimed back to send in its bundle."""

    item: Waiting
    held: Held


class Throttles:
    def __init__(
        self,
        broker: NatsBroker,
        claims: ClaimStore,
        store: DeliveryStore | None,
        escalation_of: EscalationOf,
        inbox_url: str,
    ) -> None:
        self._broker = broker
        self._claims = claims
        self._store = store
        self._escalation_of = escalation_of
        self._inbox_url = inbox_url

    async def respect_backoff(self, channel: str) -> None:
        if self._store is None:
            return
        until = await self._store.backoff_until(channel)
        now = clock.now()
        if until is not None and now < until:
            raise RetryAt(
                (until - now).total_seconds(), f"{channel} provider back-off until {until}"
            )

    async def back_off(self, channel: str, until: datetime) -> None:
        if self._store is not None:
            await self._store.back_off(channel, until)
            log.warning("provider.back_off", channel=channel, until=until.isoformat())

    async def window(
        self,
        page: PageRequested,
        key: str,
        held: Held | None,
        channel: Channel,
        address: str,
        rendered: RenderedPage,
    ) -> bool:
        """Take the address's window before claiming. False when it is closed: the page is
        parked (a `retry` claim, nothing sent) in the address's bundle, and `RetryAt` raised.
        An existing `retry` claim is left as it is, so the window's next holder can board it."""
        window_s = throttle_window_s(channel)
        if window_s <= 0 or self._store is None:
            return True
        now = clock.now()
        wait = await self._store.take_window(page.channel, address, now, window_s)
        if wait <= 0:
            return True
        retry_at = now + timedelta(seconds=wait + WINDOW_SLACK_S)
        why = f"one {page.channel} per {window_s:g}s to this address: bundled, {wait:.1f}s"
        await self._store.wait_in_bundle(page.channel, address, _waiting(page, key, rendered))
        if held is None:
            parked = self._claims.record(page.page_id, "retry", why, retry_at.isoformat())
            await self._claims.create(key, parked)  # None: another delivery claimed it first
        raise RetryAt(wait + WINDOW_SLACK_S, why)

    async def board(self, name: str, channel: Channel, address: str, key: str) -> list[Rider]:
        """The window is ours: claim back up to three pages waiting for it, to ride along."""
        if throttle_window_s(channel) <= 0 or self._store is None:
            return []
        riders: list[Rider] = []
        for item in pick(await self._store.waiting(name, address), key):
            rider = await self._board(item)
            if rider is not None:
                riders.append(rider)
        return riders

    async def leave(self, channel: Channel, name: str, address: str, keys: list[str]) -> None:
        """Once a send has ended, its pages no longer wait in the address's bundle."""
        if throttle_window_s(channel) > 0 and self._store is not None:
            await self._store.leave_bundle(name, address, set(keys))

    async def _board(self, item: Waiting) -> Rider | None:
        """Claim a waiting page back, if it still waits and its offer still stands."""
        escalation = await self._escalation_of(item.escalation_id)
        if escalation is None or escalation.state != "offered" or escalation.epoch != item.epoch:
            return None  # its own redelivery records it as skipped
        held = await self._claims.read(item.claim_key)
        if held is None or held[1].status != "retry":
            return None
        taken = await self._claims.take_back(item.claim_key, held, item.page_id)
        return None if taken is None else Rider(item, taken)

    def compose(self, page: RenderedPage, riders: list[Rider]) -> RenderedPage:
        return bundle_page(page, [r.item for r in riders], self._inbox_url) if riders else page

    async def finish_riders(
        self,
        riders: list[Rider],
        status: ClaimStatus,
        why: str,
        provider_id: str = "",
        retry_at: str = "",
    ) -> None:
        for rider in riders:
            item = rider.item
            await self._claims.finish(
                item.claim_key,
                rider.held,
                status,
                detail=why,
                provider_id=provider_id,
                retry_at=retry_at,
            )
            outcome = _ANNOUNCED.get(status)
            if outcome is not None:
                await announce(
                    self._broker,
                    outcome=outcome,
                    escalation_id=item.escalation_id,
                    page_id=item.page_id,
                    recipient=item.recipient,
                    channel=item.channel,
                    level=item.level,
                    attempt=item.attempt,
                    reason=why,
                    traceparent=item.traceparent,
                )


def _waiting(page: PageRequested, key: str, rendered: RenderedPage) -> Waiting:
    return Waiting(
        claim_key=key,
        page_id=page.page_id,
        escalation_id=page.escalation_id,
        recipient=page.recipient,
        channel=page.channel,
        level=page.level,
        attempt=page.attempt,
        epoch=page.epoch,
        severity=page.severity.value,
        title=rendered.title,
        ack_code=rendered.ack_code,
        traceparent=page.traceparent,
    )
