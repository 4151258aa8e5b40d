"""The notifier's NATS edge: pages in (pages.py does the work), custody facts in (notices and
batches), each message settled by the consuming discipline, plus exact nak delays.

`settle` is `custody.bus.consuming.handle` with one more case: `RetryAt` (a provider's
Retry-After, or the SMS window of a number) naks with exactly the delay it names, so the
message comes back when sending can succeed rather than on the generic back-off.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING

import structlog

from custody import subjects
from custody.bus.consuming import (
    PermanentError,
    dead_letter,
    decode,
    delivered_count,
    redelivery_delay,
)
from custody.contracts import CustodyChanged, PageRequested
from custody_notifier.batches import Batches
from custody_notifier.domain.claims import RetryAt
from custody_notifier.notices import Notices
from custody_notifier.pages import PageSender

if TYPE_CHECKING:
    from faststream.nats import NatsBroker

    from custody.bus.worker import Delivery

log = structlog.get_logger(__name__)


class Notifier:
    def __init__(self, broker: NatsBroker) -> None:
        self._broker = broker
        self._pages: PageSender | None = None
        self._notices: Notices | None = None
        self._batches: Batches | None = None

    def bind(self, pages: PageSender, notices: Notices, batches: Batches) -> None:
        self._pages, self._notices, self._batches = pages, notices, batches

    @property
    def pages(self) -> PageSender:
        if self._pages is None:
            raise RuntimeError("notifier used before its stores were bound (on_start)")
        return self._pages

    async def on_page_requested(self, msg: Delivery) -> None:
        """Safe under redelivery: the KV claim, not the delivery count, decides whether the
        provider is called, and every outcome is published under a deterministic event id."""
        spec = subjects.NOTIFIER_PAGES
        subject = msg.raw_message.subject or ""
        with structlog.contextvars.bound_contextvars(escalation_id=subject.rsplit(".", 1)[-1]):
            async with _keep_alive(msg, spec.ack_wait_s / 3):
                await settle(self._broker, msg, spec, lambda: self._page(msg))

    async def _page(self, msg: Delivery) -> None:
        page = decode(msg)
        if not isinstance(page, PageRequested):
            raise PermanentError(f"expected PageRequested, got {type(page).__name__}")
        with structlog.contextvars.bound_contextvars(
            escalation_id=page.escalation_id, page_id=page.page_id
        ):
            await self.pages.deliver(page)

    async def on_custody_changed(self, msg: Delivery) -> None:
        """Safe under redelivery: every notice and batch item is keyed by the fact (claim by
        create, item by escalation id), so a second delivery adds and sends nothing."""
        spec = subjects.NOTIFIER_CUSTODY
        async with _keep_alive(msg, spec.ack_wait_s / 3):
            await settle(self._broker, msg, spec, lambda: self._custody(msg))

    async def _custody(self, msg: Delivery) -> None:
        fact = decode(msg)
        if not isinstance(fact, CustodyChanged):
            return  # command outcomes and policy records share the stream: not ours
        if self._notices is None or self._batches is None:
            raise RuntimeError("notifier used before its stores were bound (on_start)")
        with structlog.contextvars.bound_contextvars(escalation_id=fact.escalation_id):
            await self._notices.sync(fact)
            await self._batches.collect(fact)


async def settle(
    broker: NatsBroker,
    msg: Delivery,
    spec: subjects.ConsumerSpec,
    work: Callable[[], Awaitable[None]],
) -> None:
    """Run `work` and ack; nak on a transient error (with `RetryAt`'s own delay); dead-letter
    then terminate on a permanent error or at max_deliver."""
    delivered = delivered_count(msg.raw_message)
    try:
        await work()
    except PermanentError as exc:
        await dead_letter(broker, msg, spec, f"permanent: {exc}")
        await msg.reject()
    except Exception as exc:
        if 0 < spec.max_deliver <= delivered:
            await dead_letter(broker, msg, spec, f"max_deliver reached: {exc!r}")
            await msg.reject()
            return
        delay = exc.delay_s if isinstance(exc, RetryAt) else redelivery_delay(delivered)
        log.info(
            "handler.later", consumer=spec.durable, delivered=delivered, delay_s=delay, why=str(exc)
        )
        await msg.nack(delay=delay)
    else:
        await msg.ack()


@contextlib.asynccontextmanager
async def _keep_alive(msg: Delivery, every_s: float) -> AsyncIterator[None]:
    """Tell the server we are still working (+WPI) so a slow provider call does not get the
    message redelivered mid-send: the copy would only wait out the claim's lease, but each
    wait spends one of the consumer's max_deliver attempts."""

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
