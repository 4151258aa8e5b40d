"""Heartbeats: pings keep each dead-man's switch alive; a bounded checker raises the silences.

Safe with several intake replicas and under retries:
- a silence is raised as `incident:<esc>` where `esc` follows from the last ping alone, so
  replicas that raise the same silence publish one message id and JetStream keeps one;
- the heartbeat document is written by compare-and-set, so a ping and a checker that race
  find out, and whoever learns that a raised silence has ended resolves it (same command id).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace
from datetime import datetime

import structlog

from custody import clock
from custody.bus.publishing import BusUnavailable
from custody_intake.adapters.heartbeat_store import HeartbeatStore
from custody_intake.domain.heartbeat import (
    Declaration,
    Heartbeat,
    check_name,
    overdue,
    pinged,
    silence_event,
)
from custody_intake.domain.identity import escalation_id
from custody_intake.raising import Raiser

log = structlog.get_logger(__name__)
CAS_ATTEMPTS = 20
MAX_PER_PASS = 1000  # heartbeats read per check; the checker's work is bounded per pass


class Watchdog:
    def __init__(self, store: HeartbeatStore, raiser: Raiser) -> None:
        self.store = store
        self.raiser = raiser

    async def ping(self, owner: str, name: str, declared: Declaration) -> Heartbeat:
        """Record a ping (declaring or re-declaring the heartbeat); end a silence if any."""
        check_name(name)
        for _ in range(CAS_ATTEMPTS):
            hb, revision = await self.store.load(owner, name)
            after, silenced = pinged(hb, owner, name, declared, clock.now())
            if silenced is not None:
                # Resolve before recording the ping: if we die in between, the next ping
                # still sees the silence and resolves it again, under the same command id.
                await self._recover(owner, silenced)
            if await self.store.write(after, revision):
                return after
        raise BusUnavailable(f"heartbeat {name} kept changing; retry")

    async def forget(self, owner: str, name: str) -> bool:
        check_name(name)
        return await self.store.delete(owner, name)

    async def check_once(self, now: datetime) -> int:
        """Raise every overdue heartbeat's silence. Returns how many were raised."""
        raised = 0
        for hb, revision in await self.store.snapshot(MAX_PER_PASS):
            if overdue(hb, now):
                await self._raise_silence(hb, revision)
                raised += 1
        return raised

    async def run(self, period_s: float, stop: asyncio.Event) -> None:
        """Check every `period_s` until `stop`; a failed pass is logged and retried next time."""
        while not stop.is_set():
            try:
                await self.check_once(clock.now())
            except Exception as exc:  # the bus may be away; the next pass tries again
                log.warning("heartbeat.check_failed", error=repr(exc))
            with contextlib.suppress(TimeoutError):  # the period elapsed: check again
                await asyncio.wait_for(stop.wait(), timeout=period_s)

    async def _raise_silence(self, hb: Heartbeat, revision: int) -> None:
        event = silence_event(hb)
        esc = escalation_id(hb.owner, event.dedup_key)
        await self.raiser.open(esc, event, hb.owner, f"heartbeat:{esc}", None)
        if await self.store.write(replace(hb, silent_escalation=esc), revision):
            log.info("heartbeat.went_silent", name=hb.name, owner=hb.owner, escalation_id=esc)
            return
        current, _ = await self.store.load(hb.owner, hb.name)
        if current is None or current.last_ping_at != hb.last_ping_at:
            # It pinged (or was removed) while we raised: the silence is already over.
            await self._recover(hb.owner, esc)

    async def _recover(self, owner: str, esc: str) -> None:
        await self.raiser.command_as_source(
            esc, owner, "resolve", f"hb-recovered-{esc}", "heartbeat recovered: resolved by source"
        )
        log.info("heartbeat.recovered", owner=owner, escalation_id=esc)
