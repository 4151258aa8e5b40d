"""Cross-channel sync: when an escalation is acknowledged or resolved, the people offered it
before hear "acknowledged by bob, 03:16" on chat, else email (never SMS).

Each notice is claimed in KV `delivery` (create) before it is sent, with the same claim
records and rules as pages, so a redelivered custody fact never sends a notice twice, a
notice whose outcome is unknown is logged in doubt and not resent, and a throttled one
(`retry`) is taken back by compare-and-set when the fact comes round again.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import structlog

from custody import clock
from custody.contracts import CustodyChanged
from custody.policy.store import PolicyCache
from custody_notifier.adapters.channels import Channel, DeliveryFailed, RetryLater
from custody_notifier.adapters.claim_store import ClaimStore, Held
from custody_notifier.domain.claims import RetryAt, decide_for_claim, escape_token
from custody_notifier.domain.notices import (
    NOTICE_CHANNELS,
    notice_key,
    notice_recipients,
    render_notice,
)
from custody_notifier.domain.render import RenderedPage

log = structlog.get_logger(__name__)
SYNC_CHANGES = ("acknowledged", "resolved")


class Notices:
    def __init__(
        self,
        channels: dict[str, Channel],
        claims: ClaimStore,
        policy: PolicyCache,
        *,
        case_url_base: str,
        send_timeout_s: float,
        claim_lease: timedelta,
    ) -> None:
        self._channels = channels
        self._claims = claims
        self._policy = policy
        self._case_url_base = case_url_base
        self._timeout_s = send_timeout_s
        self._lease = claim_lease

    async def sync(self, fact: CustodyChanged) -> int:
        """Notify everyone offered the escalation before; returns how many notices went out."""
        if fact.change not in SYNC_CHANGES:
            return 0
        stored = await self._policy.current(clock.monotonic())
        sent = 0
        for recipient in notice_recipients(fact.offered_to, fact.actor):
            person = stored.policy.people.get(recipient)
            if person is None:
                continue
            contacts = person.contacts.model_dump()
            for channel in (c for c in NOTICE_CHANNELS if contacts.get(c)):
                try:
                    sent += await self._one(
                        fact, recipient, person.timezone, channel, contacts[channel]
                    )
                    break
                except DeliveryFailed as exc:  # this channel refused for good: try the next
                    log.warning(
                        "notice.failed", recipient=recipient, channel=channel, error=str(exc)
                    )
        return sent

    async def _one(
        self, fact: CustodyChanged, recipient: str, timezone: str, channel: str, address: str
    ) -> int:
        identity = notice_key(fact.escalation_id, fact.change, fact.version, recipient)
        key = f"notice.{escape_token(identity)}.{channel}"
        held = await self._claims.read(key)
        mine: Held | None
        if held is None:
            mine = await self._claims.create(key, self._claims.record(identity, "claimed"))
        elif held[1].status == "retry":
            decide_for_claim(held[1], clock.now(), self._lease)  # raises RetryAt until due
            mine = await self._claims.take_back(key, held, identity)
        else:
            return 0  # sent, failed, in doubt or mid-send elsewhere: never twice
        if mine is None:
            return 0
        page = render_notice(
            change=fact.change,
            actor=fact.actor,
            at=fact.occurred_at,
            timezone=timezone,
            escalation_id=fact.escalation_id,
            title=fact.title,
            severity=fact.severity.value if fact.severity else "",
            recipient=recipient,
            channel=channel,
            version=fact.version,
            case_url_base=self._case_url_base,
        )
        return await self._send(key, mine, page, address, identity)

    async def _send(
        self, key: str, mine: Held, page: RenderedPage, address: str, identity: str
    ) -> int:
        channel = self._channels[page.channel]
        try:
            provider_id = await asyncio.wait_for(
                channel.send(page, address, identity), self._timeout_s
            )
        except DeliveryFailed as exc:
            await self._claims.finish(key, mine, "failed", detail=str(exc))
            raise
        except RetryLater as exc:
            retry_at = clock.now() + timedelta(seconds=exc.after_s)
            await self._claims.finish(
                key, mine, "retry", detail=str(exc), retry_at=retry_at.isoformat()
            )
            raise RetryAt(exc.after_s, f"notice {identity}: {exc}") from exc
        except Exception as exc:
            await self._claims.finish(key, mine, "in_doubt", detail=repr(exc))
            log.error("notice.in_doubt", notice=identity, error=repr(exc))
            return 0
        await self._claims.finish(key, mine, "sent", detail="sent", provider_id=provider_id)
        log.info("notice.sent", notice=identity, channel=page.channel)
        return 1
