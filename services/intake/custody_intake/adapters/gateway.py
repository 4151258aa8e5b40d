"""Intake's side of the bus: publish with a PubAck, keep rejections, await command outcomes."""

from __future__ import annotations

import json
from contextlib import AbstractContextManager, nullcontext

import structlog
from faststream.nats import NatsBroker
from nats.js.kv import KeyValue
from opentelemetry import propagate, trace

from custody import clock, subjects
from custody.auth import Principal, lookup_principal
from custody.bus.publishing import BusUnavailable, publish
from custody.contracts import CommandIssued, CommandOutcome, Message, Rejected
from custody_intake.domain.identity import rejection_event_id
from custody_intake.domain.rejection import Rejection, redact

log = structlog.get_logger(__name__)
tracer = trace.get_tracer("custody.intake")

ANONYMOUS = "_anonymous"  # the REJECTED subject token of input nobody could be named for
BODY_HEAD_BYTES = 4096


class Gateway:
    def __init__(self, broker: NatsBroker, credentials: KeyValue, timeout_s: float) -> None:
        self.broker = broker
        self.credentials = credentials
        self.timeout_s = timeout_s

    def ensure_connected(self) -> None:
        """Disconnected, fail at once (503) rather than buffer: nobody waits on a dead bus."""
        if not self.broker.connection.is_connected:
            raise BusUnavailable("not connected to NATS")

    async def principal(self, token: str) -> Principal | None:
        self.ensure_connected()
        return await lookup_principal(self.credentials, token)

    async def accept(
        self, subject: str, message: Message, headers: dict[str, str] | None = None
    ) -> bool:
        """Durable before acknowledged: returns only after the PubAck. True when duplicate.

        One attempt: the caller retries with the same id, so nothing is lost or doubled."""
        self.ensure_connected()
        ack = await publish(
            self.broker,
            subject,
            message,
            headers=headers,
            ack_timeout_s=self.timeout_s,
            attempts=1,
        )
        return bool(ack.duplicate)

    async def count(self, subject: str) -> int:
        """How many messages the stream holds on exactly `subject`."""
        js = self.broker.connection.jetstream()
        info = await js.stream_info(subjects.stream_for(subject), subjects_filter=subject)
        return int((info.state.subjects or {}).get(subject, 0))

    async def reject(
        self,
        rejection: Rejection,
        *,
        source: str,
        body: bytes,
        body_sha256: str,
        request_id: str,
    ) -> None:
        """Every refused input is kept with its reason, never dropped. If it cannot be kept the
        caller gets 503 instead of its 4xx, retries, and is refused (and kept) then."""
        self.ensure_connected()
        fact = Rejected(
            event_id=rejection_event_id(request_id),
            escalation_id="",
            occurred_at=clock.now(),
            error_code=rejection.error_code,
            field=rejection.field,
            message=rejection.message,
            source=source,
            body_sha256=body_sha256,
            body_head=redact(body[:BODY_HEAD_BYTES].decode("utf-8", "replace")),
        )
        subject = subjects.rejected(source or ANONYMOUS)
        await publish(self.broker, subject, fact, ack_timeout_s=self.timeout_s, attempts=1)
        log.info(
            "intake.rejected", error_code=rejection.error_code, field=rejection.field, source=source
        )

    async def command(
        self, cmd: CommandIssued, wait_s: float
    ) -> tuple[bool, CommandOutcome | None]:
        """Publish the command, then wait for the escalator's answer. (duplicate, outcome)."""
        nc = self.broker.connection
        self.ensure_connected()
        sub = await nc.subscribe(subjects.command_outcome(cmd.escalation_id))
        try:
            with await self._escalation_span(cmd):
                carrier: dict[str, str] = {}
                propagate.inject(carrier)
                cmd = cmd.model_copy(update={"traceparent": carrier.get("traceparent")})
                duplicate = await self.accept(subjects.command(cmd.escalation_id), cmd)
            deadline = clock.monotonic() + wait_s
            while (left := deadline - clock.monotonic()) > 0:
                try:
                    raw = await sub.next_msg(timeout=left)
                except Exception:  # nats-py's TimeoutError (not the builtin one)
                    break
                outcome = CommandOutcome.model_validate_json(raw.data)
                if outcome.command_id == cmd.command_id:
                    return duplicate, outcome
            return duplicate, None
        finally:
            await sub.unsubscribe()

    async def _escalation_span(self, cmd: CommandIssued) -> AbstractContextManager[object]:
        """A reply or command continues its escalation's trace: a span parented on the trace
        the escalation started with, linked to the request that carried it."""
        traceparent = await self._escalation_traceparent(cmd.escalation_id)
        if not traceparent:
            return nullcontext()
        request = trace.get_current_span().get_span_context()
        return tracer.start_as_current_span(
            f"intake.{cmd.action}",
            context=propagate.extract({"traceparent": traceparent}),
            links=[trace.Link(request)] if request.is_valid else [],
            attributes={"custody.escalation_id": cmd.escalation_id, "custody.via": cmd.via},
        )

    async def _escalation_traceparent(self, escalation_id: str) -> str | None:
        try:
            kv = await self.broker.key_value(subjects.KV_ESCALATIONS, declare=False)
            entry = await kv.get(escalation_id)
        except Exception:  # unknown or not yet open: the command keeps its own trace
            return None
        if not entry.value:
            return None
        value = json.loads(entry.value).get("traceparent")
        return value if isinstance(value, str) else None


__all__ = ["ANONYMOUS", "BusUnavailable", "Gateway"]
