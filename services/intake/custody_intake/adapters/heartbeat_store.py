"""Heartbeats in KV `heartbeats`, one document per (agent, name), written by compare-and-set."""

from __future__ import annotations

import json

from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from custody.bus.kv import read_json, write_cas
from custody_intake.domain.heartbeat import Heartbeat
from custody_intake.domain.identity import heartbeat_key

Versioned = tuple[Heartbeat, int]


class HeartbeatStore:
    def __init__(self, kv: KeyValue) -> None:
        self.kv = kv

    async def load(self, owner: str, name: str) -> tuple[Heartbeat | None, int | None]:
        document, revision = await read_json(self.kv, heartbeat_key(owner, name))
        return (Heartbeat.from_json(document), revision) if document else (None, None)

    async def write(self, hb: Heartbeat, revision: int | None) -> bool:
        """Create (no revision) or update at exactly `revision`. False: someone wrote first."""
        key = heartbeat_key(hb.owner, hb.name)
        value = json.dumps(hb.to_json()).encode()
        return await write_cas(self.kv, key, value, revision) is not None

    async def delete(self, owner: str, name: str) -> bool:
        try:
            await self.kv.get(heartbeat_key(owner, name))
        except KeyNotFoundError:
            return False
        await self.kv.delete(heartbeat_key(owner, name))
        return True

    async def snapshot(self, limit: int) -> list[Versioned]:
        """Every current heartbeat (at most `limit`), read through a short-lived watcher.

        A fresh watcher per pass, stopped at once: long-lived KV watchers recover slowly after
        a server restart (notes/jetstream.md), and a check must never ride on one."""
        watcher = await self.kv.watchall(ignore_deletes=True)
        found: list[Versioned] = []
        try:
            async for entry in watcher:
                if entry is None:  # the end of the current values
                    break
                if entry.value and len(found) < limit:
                    found.append((Heartbeat.from_json(json.loads(entry.value)), entry.revision))
        finally:
            await watcher.stop()  # type: ignore[no-untyped-call]  # nats-py leaves it untyped
        return found
