"""Digests and the morning batch: collect items from custody facts, send each batch once at
07:00 recipient-local (domain.schedule), from a bounded in-process scheduler.

Items: a GREEN escalation (digest), a pending follow-up note (digest), a YELLOW deferred by
quiet hours (morning batch). An item joins the batch after the moment it is *processed*, so
no item ever joins a batch whose time has passed, and a batch the scheduler has handled
never needs looking at again.

Never twice, across replicas: a batch document moves `open` → `sending` by compare-and-set
(the send claim: one replica wins), then to `sent` or `in_doubt`. A provider that asks us to
wait puts it back to `open` (nothing went out), so the next tick sends it. Only the escalator
may publish timers, so the schedule lives here: every replica ticks, the claim decides.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import replace
from datetime import date, datetime, time

import structlog
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from custody import clock
from custody.contracts import CustodyChanged
from custody.policy.model import Person
from custody.policy.store import PolicyCache
from custody_notifier.adapters.channels import Channel, DeliveryFailed, RetryLater
from custody_notifier.adapters.delivery_store import DeliveryStore
from custody_notifier.domain.claims import escape_token
from custody_notifier.domain.digest import (
    BatchDoc,
    BatchItem,
    BatchStatus,
    ItemKind,
    render_batch,
)
from custody_notifier.domain.schedule import (
    BATCH_KINDS,
    BatchKind,
    batch_for,
    batch_key,
    due_days,
    parse_at,
    zone_of,
)

log = structlog.get_logger(__name__)
BATCH_CHANNELS = ("email", "chat")  # a batch is long: email first; never SMS


def batch_time(policy: object, override: str | None) -> time:
    """The settings override, else the policy's `digests.at` (if the policy has one), else
    07:00. Read defensively: the policy model may not have the field yet."""
    if override:
        return parse_at(override)
    configured = getattr(getattr(policy, "digests", None), "at", None)
    if isinstance(configured, time):
        return configured
    return parse_at(configured if isinstance(configured, str) else None)


def item_of(fact: CustodyChanged) -> tuple[BatchKind, ItemKind] | None:
    if fact.change == "followup":
        return "digest", "followup"
    if fact.change == "deferred" and fact.state == "digest":
        return "digest", "green"
    if fact.change == "deferred" and fact.state == "deferred":
        return "morning", "deferred"
    return None


class Batches:
    def __init__(
        self,
        store: DeliveryStore,
        escalations: KeyValue,
        policy: PolicyCache,
        channels: dict[str, Channel],
        *,
        case_url_base: str,
        at_override: str | None,
        send_timeout_s: float,
    ) -> None:
        self._store = store
        self._escalations = escalations
        self._policy = policy
        self._channels = channels
        self._case_url_base = case_url_base
        self._at_override = at_override
        self._timeout_s = send_timeout_s
        self._done: set[tuple[str, str, date]] = set()

    # --- collecting ----------------------------------------------------------------------

    async def collect(self, fact: CustodyChanged) -> str | None:
        """Add the fact's item to its recipient's next batch; the batch key, or None."""
        kinds = item_of(fact)
        if kinds is None:
            return None
        recipient = fact.custodian if fact.change == "followup" else await self._routed_to(fact)
        stored = await self._policy.current(clock.monotonic())
        person = stored.policy.people.get(recipient or "")
        if recipient is None or person is None:
            log.warning("batch.no_recipient", escalation_id=fact.escalation_id, change=fact.change)
            return None
        batch, kind = kinds
        item = BatchItem(
            escalation_id=fact.escalation_id,
            kind=kind,
            title=fact.title,
            severity=fact.severity.value if fact.severity else "",
            at=fact.occurred_at.isoformat(),
            note=fact.reason if kind == "followup" else "",
        )
        zone, at = zone_of(person.timezone), batch_time(stored.policy, self._at_override)
        day = batch_for(clock.now(), zone, at)
        for _ in range(3):  # a batch that has just left: the next day's
            key = batch_key(batch, escape_token(recipient), day)
            if await self._join(key, item):
                return key
            day = date.fromordinal(day.toordinal() + 1)
        raise RuntimeError(f"could not place {fact.escalation_id} in a batch")

    async def _join(self, key: str, item: BatchItem) -> bool:
        closed = False

        def add(raw: bytes | None) -> bytes | None:
            nonlocal closed
            doc = BatchDoc.from_json(raw)
            closed = doc.status != "open"
            joined = None if closed else doc.with_item(item)
            return None if joined is None else joined.to_json()

        await self._store.change(key, add)
        return not closed

    async def _routed_to(self, fact: CustodyChanged) -> str | None:
        """GREEN and deferred escalations have no custodian yet: the first recipient of their
        first level, from the escalator's document."""
        if fact.custodian:
            return fact.custodian
        try:
            entry = await self._escalations.get(fact.escalation_id)
        except KeyNotFoundError:
            return None
        try:
            levels = json.loads(entry.value or b"{}").get("levels") or []
            return str(levels[0]["recipients"][0])
        except (ValueError, KeyError, IndexError, TypeError):
            return None

    # --- sending -------------------------------------------------------------------------

    async def run(self, period_s: float, stop: asyncio.Event) -> None:
        """Tick every `period_s` until `stop`; a failed tick is logged and tried again."""
        while not stop.is_set():
            try:
                await self.tick(clock.now())
            except Exception as exc:  # the bus may be away; the next tick tries again
                log.warning("batch.tick_failed", error=repr(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=period_s)

    async def tick(self, now: datetime) -> int:
        """Send every due batch not yet handled; returns how many went out."""
        stored = await self._policy.current(clock.monotonic())
        at = batch_time(stored.policy, self._at_override)
        sent = 0
        for name, person in sorted(stored.policy.people.items()):
            for day in due_days(now, zone_of(person.timezone), at):
                for kind in BATCH_KINDS:
                    if (kind, name, day) not in self._done:
                        sent += await self._send_batch(kind, name, person, day)
                        self._done.add((kind, name, day))
        self._done = {d for d in self._done if (now.date() - d[2]).days <= 3}
        return sent

    async def _send_batch(self, kind: BatchKind, name: str, person: Person, day: date) -> int:
        key = batch_key(kind, escape_token(name), day)
        found = await self._store.get(key)
        if found is None:
            return 0
        doc = BatchDoc.from_json(found[1])
        if doc.status == "sending":
            await self._surface_in_doubt(key, doc, found[0])
        if doc.status != "open" or not doc.items:
            return 0
        sending = replace(doc, status="sending", claimed_at=clock.now().isoformat())
        revision = await self._store.update(key, sending.to_json(), found[0])
        if revision is None:
            return 0  # another replica claimed it
        status, detail = await self._deliver(kind, name, person, day, doc)
        if status == "open":  # the provider asked us to wait: nothing went out
            self._done.discard((kind, name, day))
        await self._store.update(
            key, replace(sending, status=status, detail=detail).to_json(), revision
        )
        log.info("batch.finished", kind=kind, recipient=name, day=day.isoformat(), status=status)
        return 1 if status == "sent" else 0

    async def _surface_in_doubt(self, key: str, doc: BatchDoc, revision: int) -> None:
        """A batch left `sending` by a sender that died: it may have gone out. Recorded as
        in doubt and logged, never resent."""
        claimed = datetime.fromisoformat(doc.claimed_at) if doc.claimed_at else None
        if claimed is not None and (clock.now() - claimed).total_seconds() < 4 * self._timeout_s:
            return  # a live sender may still be on it
        doubt = replace(doc, status="in_doubt", detail="the sender died mid-send")
        if await self._store.update(key, doubt.to_json(), revision) is not None:
            log.error("batch.in_doubt", key=key)

    async def _deliver(
        self, kind: BatchKind, name: str, person: Person, day: date, doc: BatchDoc
    ) -> tuple[BatchStatus, str]:
        contacts = person.contacts.model_dump()
        for channel in (c for c in BATCH_CHANNELS if contacts.get(c)):
            page = render_batch(
                kind,
                day=day,
                recipient=name,
                name=person.name,
                timezone=person.timezone,
                channel=channel,
                doc=doc,
                case_url_base=self._case_url_base,
            )
            try:
                send = self._channels[channel].send(page, contacts[channel], page.page_id)
                provider_id = await asyncio.wait_for(send, self._timeout_s)
            except DeliveryFailed as exc:
                log.warning("batch.channel_failed", channel=channel, error=str(exc))
                continue
            except RetryLater as exc:
                return "open", f"{channel}: {exc}"
            except Exception as exc:
                return "in_doubt", f"{channel}: {exc!r}"
            return "sent", f"{channel} provider id {provider_id}"
        return "failed", "no channel could take it"
