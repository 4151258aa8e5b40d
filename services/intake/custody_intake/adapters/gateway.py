"""Intake's side of the bus: publish with a PubAck, keep rejections, await command outcomes."""

from __future__ import annotations

import hashlib

import structlog
from faststream.nats import NatsBroker
from nats.js.kv import KeyValue

from custody import clock, subjects
from custody.auth import Principal, lookup_principal
from custody.bus.publishing import BusUnavailable, publish
from custody.contracts import CommandIssued, CommandOutcome, Message, Rejected

log = structlog.get_logger(__name__)


class Gateway:
    def __init__(self, broker: NatsBroker, credentials: KeyValue, timeout_s: float) -> None:
        self.broker = broker
        self.credentials = credentials
        self.timeout_s = timeout_s

    async def principal(self, token: str) -> Principal | None:
        return await lookup_principal(self.credentials, token)

    async def accept(self, subject: str, message: Message) -> bool:
        """Durable before acknowledged: returns only after the PubAck. True when duplicate.

        Disconnected, it fails at once (503) rather than buffer the publish: the caller retries
        with the same id, so nothing is lost and nobody waits on a dead bus."""
        if not self.broker.connection.is_connected:
            raise BusUnavailable("not connected to NATS")
        ack = await publish(self.broker, subject, message, ack_timeout_s=self.timeout_s, attempts=1)
        return bool(ack.duplicate)

    async def reject(
        self, *, error_code: str, field: str, message: str, source: str, body: bytes
    ) -> None:
        """Every refused input is kept with its reason, never dropped."""
        digest = hashlib.sha256(body).hexdigest()
        fact = Rejected(
            event_id=f"rejected:{digest[:16]}:{error_code}:{field}:{clock.now().timestamp():.6f}",
            escalation_id="",
            occurred_at=clock.now(),
            error_code=error_code,
            field=field,
            message=message,
            source=source,
            body_sha256=digest,
            body_head=body[:4096].decode("utf-8", "replace"),
        )
        try:
            await publish(self.broker, subjects.rejected(source or "anonymous"), fact, attempts=2)
        except Exception as exc:  # the caller still gets its 4xx; the log keeps the trace
            log.error("rejection.not_kept", error=repr(exc), error_code=error_code)

    async def command(
        self, cmd: CommandIssued, wait_s: float
    ) -> tuple[bool, CommandOutcome | None]:
        """Publish the command, then wait for the escalator's answer. (duplicate, outcome)."""
        nc = self.broker.connection
        sub = await nc.subscribe(subjects.command_outcome(cmd.escalation_id))
        try:
            duplicate = await self.accept(subjects.command(cmd.escalation_id), cmd)
            deadline = clock.monotonic() + wait_s
            while (left := deadline - clock.monotonic()) > 0:
                try:
                    raw = await sub.next_msg(timeout=left)
                except TimeoutError:
                    break
                except Exception:  # nats-py's own TimeoutError subclass
                    break
                outcome = CommandOutcome.model_validate_json(raw.data)
                if outcome.command_id == cmd.command_id:
                    return duplicate, outcome
            return duplicate, None
        finally:
            await sub.unsubscribe()
