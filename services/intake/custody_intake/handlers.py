"""Intake's NATS edge: agents request on `intake.events.<source>` and get the same door as HTTP.

The reply is sent only after the PubAck (accepted) or after the rejection is kept (rejected).
An agent that publishes without a reply subject learns the outcome from the facts instead:
`incidents.accepted.<esc>` / `incidents.seen.<esc>`, or `rejected.<source>`.

Core NATS, not a stream: the agent's own retry (same body or Idempotency-Key) is what makes
delivery reliable, exactly as over HTTP, and a request to a dead intake fails at once
(no responders) instead of queueing behind it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import uuid

import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from custody import subjects
from custody.bus.publishing import BusUnavailable
from custody.contracts import IntakeReply
from custody_intake.api import RETRY_AFTER_S
from custody_intake.domain.json_input import MAX_BODY_BYTES
from custody_intake.domain.rejection import Rejection
from custody_intake.door import Door, Raised, Request

log = structlog.get_logger(__name__)
IN_FLIGHT = 64  # requests handled at once per replica; more wait in the subscription


class NatsDoor:
    def __init__(self, door: Door, nc: Client) -> None:
        self.door = door
        self.nc = nc
        self.slots = asyncio.Semaphore(IN_FLIGHT)
        self.tasks: set[asyncio.Task[None]] = set()
        self.sub: Subscription | None = None

    async def start(self) -> None:
        self.sub = await self.nc.subscribe(
            f"{subjects.INTAKE_EVENTS}.>", queue=subjects.INTAKE_QUEUE, cb=self._on_msg
        )

    async def stop(self) -> None:
        if self.sub is not None:
            with contextlib.suppress(Exception):  # the connection may be closed already
                await self.sub.unsubscribe()
        if self.tasks:
            await asyncio.wait(self.tasks, timeout=5.0)

    async def _on_msg(self, msg: Msg) -> None:
        # nats-py runs one callback at a time per subscription: hand each request to a task.
        await self.slots.acquire()
        task = asyncio.create_task(self._answer(msg))
        self.tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        self.slots.release()

    async def _answer(self, msg: Msg) -> None:
        reply = await self.handle(msg)
        if msg.reply:
            try:
                await msg.respond(reply.model_dump_json(exclude_none=True).encode())
            except Exception as exc:  # the requester gave up; the facts still tell it
                log.warning("intake.reply_failed", error=repr(exc))

    async def handle(self, msg: Msg) -> IntakeReply:
        headers = msg.headers or {}
        auth = headers.get("Authorization", "")
        request = Request(
            raw=msg.data[: MAX_BODY_BYTES + 1],
            token=auth.removeprefix("Bearer ").strip() or None,
            request_id=uuid.uuid4().hex,
            idempotency_key=headers.get("Idempotency-Key") or None,
            traceparent=headers.get("traceparent") or None,
            size=len(msg.data),
            sha256=hashlib.sha256(msg.data).hexdigest(),
        )
        try:
            result = await self.door.native(request)
        except BusUnavailable as exc:
            return IntakeReply(
                status="unavailable",
                status_code=503,
                error_code="bus_unavailable",
                field="",
                message=f"{exc}; retry",
                retry_after_s=RETRY_AFTER_S,
            )
        return reply_for(result)


def reply_for(result: Raised | Rejection) -> IntakeReply:
    if isinstance(result, Rejection):
        return IntakeReply(
            status="rejected",
            status_code=result.status,
            error_code=result.error_code,
            field=result.field,
            message=result.message,
        )
    return IntakeReply(
        status="accepted",
        escalation_id=result.escalation_id,
        duplicate=result.duplicate,
        seen_count=result.seen_count,
    )
