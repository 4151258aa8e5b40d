"""The canary: shadow traffic from the field, checked at the channel sink.

Every `interval` (policy `canary.interval`, or CUSTODY_CANARY_INTERVAL_S) one synthetic RED
incident enters through this door like any agent's (source `custody-canary`, label
`canary: probe`); the policy routes it to a canary recipient whose webhook contact is
`POST /v1/callbacks/canary` here. Its arrival (a correctly signed webhook from the notifier)
is recorded on the probe. A probe that has not arrived `arrival_s` (30 s) after it was raised
fails: a RED meta-incident "canary failed" is raised (the policy routes it to a human), so a
stopped router, escalator or notifier, or a provider outage, pages someone.

It runs in intake because intake is the door, and because the check must outlive whatever it
checks. Replicas share it: each slot's probe is a KV create (one replica raises it), and a
probe fails by compare-and-set (one replica raises the meta-incident). Every probe is resolved
as its source once it arrived or failed, so probes never climb a chain.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import datetime
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError

from custody import clock
from custody.auth.signatures import WEBHOOK_SIGNATURE_HEADER, verify_webhook
from custody.contracts import IncidentEvent, ProofPacket, Severity
from custody_intake.callbacks.common import Callbacks
from custody_intake.domain.identity import escalation_id

log = structlog.get_logger(__name__)
PATH = "/v1/callbacks/canary"
PROBE_LABEL = {"canary": "probe"}
META_DEDUP_KEY = "canary-failed"
RERAISE_AFTER_S = 5.0  # a probe stuck "pending" (raise failed) is raised again (same dedup key)


class Canary:
    def __init__(self, callbacks: Callbacks) -> None:
        self._cb = callbacks

    # --- configuration -------------------------------------------------------------------

    async def interval_s(self) -> float | None:
        if self._cb.settings.canary_interval_s is not None:
            return self._cb.settings.canary_interval_s
        section = getattr((await self._cb.policy()).policy, "canary", None)
        value = getattr(section, "interval", None)
        return float(value) if isinstance(value, int | float) and value > 0 else None

    @property
    def agent(self) -> str:
        return self._cb.settings.canary_agent

    # --- arrivals ------------------------------------------------------------------------

    def router(self) -> APIRouter:
        api = APIRouter(tags=["canary"])

        @api.post(
            PATH,
            summary="A canary page arriving at its channel sink (signed webhook)",
            responses={
                200: {"description": "arrival recorded"},
                403: {"description": "bad or missing signature"},
                404: {"description": "not a canary probe"},
            },
        )
        async def arrived(request: Request) -> JSONResponse:
            raw = await request.body()
            secrets = self._cb.settings.webhook_secret_list()
            if not verify_webhook(secrets, request.headers.get(WEBHOOK_SIGNATURE_HEADER), raw):
                return JSONResponse({"error_code": "bad_signature"}, status_code=403)
            slot = await self._slot_of(_escalation_of(raw))
            if slot is None:
                return JSONResponse({"error_code": "not_a_probe"}, status_code=404)
            await self._arrive(slot, clock.now())
            return JSONResponse({"arrived": True, "slot": slot})

        return api

    async def _arrive(self, slot: int, now: datetime) -> None:
        change = {"status": "arrived", "arrived_at": now.isoformat()}
        doc = await self._update(slot, lambda d: d["status"] == "raised", change)
        if doc is None:
            return  # arrived again, or already failed: nothing changes
        log.info("canary.arrived", slot=slot, escalation_id=doc.get("escalation_id"))
        await self._resolve(doc, slot, "canary arrived at its channel sink")
        await self._recovered()

    # --- the loop ------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.tick(clock.now())
            except Exception as exc:  # the bus may be away: the next tick tries again
                log.warning("canary.tick_failed", error=repr(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self._cb.settings.canary_check_s)

    async def tick(self, now: datetime) -> None:
        interval = await self.interval_s()
        if interval is None:
            return
        slot = int(now.timestamp() // interval)
        await self._probe(slot, now)
        for earlier in range(slot - 2, slot + 1):
            await self._check(earlier, now)

    async def _probe(self, slot: int, now: datetime) -> None:
        kv = (await self._cb.stores()).callbacks
        key = f"canary.probe.{slot}"
        with contextlib.suppress(KeyWrongLastSequenceError):
            await kv.create(key, json.dumps({"status": "pending", "at": now.isoformat()}).encode())
        doc = await self._read(slot)
        if doc is None or doc["status"] != "pending":
            return
        if doc.get("tried") and _age(doc["tried"], now) < RERAISE_AFTER_S:
            return
        event = IncidentEvent(
            source=self.agent,
            dedup_key=f"canary-{slot}",
            title=f"Canary probe {slot}",
            severity=Severity.RED,
            service="custody-canary",
            labels=PROBE_LABEL,
            proof=ProofPacket(signal="synthetic canary incident", agent_action="none: a probe"),
        )
        await self._update(slot, lambda d: d["status"] == "pending", {"tried": now.isoformat()})
        # Index the probe before raising it: its page may arrive before raise_event returns.
        expected = escalation_id(self.agent, event.dedup_key)
        await kv.put(f"canary.esc.{expected}", str(slot).encode())
        raised = await self._cb.door.raiser.raise_event(event, self.agent, f"canary:{slot}", None)
        if raised.escalation_id != expected:  # reopened under a new generation
            await kv.put(f"canary.esc.{raised.escalation_id}", str(slot).encode())
        change = {
            "status": "raised",
            "escalation_id": raised.escalation_id,
            "raised_at": now.isoformat(),
        }
        await self._update(slot, lambda d: d["status"] == "pending", change)
        log.info("canary.raised", slot=slot, escalation_id=raised.escalation_id)

    async def _check(self, slot: int, now: datetime) -> None:
        doc = await self._read(slot)
        limit = self._cb.settings.canary_arrival_s
        if doc is None or doc["status"] != "raised" or _age(doc["raised_at"], now) <= limit:
            return
        failed = await self._update(slot, lambda d: d["status"] == "raised", {"status": "failed"})
        if failed is None:
            return  # it arrived meanwhile, or another replica failed it
        log.error("canary.failed", slot=slot, escalation_id=failed.get("escalation_id"))
        await self._raise_meta(slot, failed, limit)
        await self._resolve(failed, slot, f"canary did not arrive within {limit:g}s")

    # --- effects -------------------------------------------------------------------------

    async def _raise_meta(self, slot: int, probe: dict[str, Any], limit: float) -> None:
        """One open meta-incident at a time: later failures are sightings of the same one."""
        event = IncidentEvent(
            source=self.agent,
            dedup_key=META_DEDUP_KEY,
            title=f"Canary failed: probe {slot} did not reach its channel within {limit:g}s",
            severity=Severity.RED,
            service="custody",
            labels={"canary": "failed"},
            proof=ProofPacket(
                signal=f"canary probe {probe.get('escalation_id', '?')} raised at "
                f"{probe.get('raised_at', '?')} never arrived at its channel sink",
                diagnosis="pages may not be getting out: router, escalator, notifier or a "
                "provider is down or stuck",
                proposed_action="check `custody status`, the notifier's logs and provider status",
                agent_action="raised this meta-incident; paging itself is what failed",
            ),
        )
        raised = await self._cb.door.raiser.raise_event(
            event, self.agent, f"canary-failed:{slot}", None
        )
        kv = (await self._cb.stores()).callbacks
        await kv.put("canary.meta", raised.escalation_id.encode())
        log.error("canary.meta_incident", escalation_id=raised.escalation_id, slot=slot)

    async def _recovered(self) -> None:
        """A probe arrived again: the open meta-incident, if any, is resolved by its source."""
        kv = (await self._cb.stores()).callbacks
        try:
            entry = await kv.get("canary.meta")
        except KeyNotFoundError:
            return
        escalation_id = (entry.value or b"").decode()
        if escalation_id:
            await self._cb.door.raiser.command_as_source(
                escalation_id,
                self.agent,
                "resolve",
                f"canary-recovered-{escalation_id}",
                "canary arrived again",
            )
            await kv.delete("canary.meta")

    async def _resolve(self, probe: dict[str, Any], slot: int, note: str) -> None:
        escalation_id = str(probe.get("escalation_id", ""))
        if escalation_id:
            await self._cb.door.raiser.command_as_source(
                escalation_id, self.agent, "resolve", f"canary-{slot}-resolve", note
            )

    # --- the probe documents -------------------------------------------------------------

    async def _slot_of(self, escalation_id: str) -> int | None:
        if not escalation_id.startswith("esc-"):
            return None
        try:
            entry = await (await self._cb.stores()).callbacks.get(f"canary.esc.{escalation_id}")
        except KeyNotFoundError:
            return None
        return int(entry.value or b"-1")

    async def _read(self, slot: int) -> dict[str, Any] | None:
        try:
            entry = await (await self._cb.stores()).callbacks.get(f"canary.probe.{slot}")
        except KeyNotFoundError:
            return None
        data: dict[str, Any] = json.loads(entry.value or b"{}")
        data["_revision"] = entry.revision
        return data

    async def _update(self, slot: int, when: Any, change: dict[str, Any]) -> dict[str, Any] | None:
        """Apply `change` by compare-and-set if `when(doc)` holds; the new doc, or None."""
        kv = (await self._cb.stores()).callbacks
        for _ in range(10):
            doc = await self._read(slot)
            if doc is None or not when(doc):
                return None
            revision = doc.pop("_revision")
            doc.update(change)
            try:
                await kv.update(f"canary.probe.{slot}", json.dumps(doc).encode(), last=revision)
            except KeyWrongLastSequenceError:
                continue
            return doc
        return None


def _escalation_of(raw: bytes) -> str:
    try:
        data = json.loads(raw)
        return str(data["event"]["data"]["escalation_id"])
    except (ValueError, KeyError, TypeError):
        return ""


def _age(iso: str, now: datetime) -> float:
    try:
        return (now - datetime.fromisoformat(iso)).total_seconds()
    except (ValueError, TypeError):
        return 0.0
