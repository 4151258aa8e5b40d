"""A page whose send succeeded just as JetStream became unavailable still records "sent" once
it is back, instead of staying "claimed" until a redelivery calls it in doubt.

Regression for the full chaos tier: three broker kills left 7 pages in doubt whose sends had
succeeded. While a restarted server is not serving JetStream yet, a KV update fails at once
(no responders), and the claim's final update gave up after three quick tries (about 0.6 s).
Here the real KV's updates fail that way for a few seconds (the server itself stays up, so the
outage is exactly that window and nothing else)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import nats
from nats.errors import NoRespondersError
from nats.js.kv import KeyValue

from custody.runtime.nats_server import NatsServer
from custody_notifier.adapters.claim_store import ClaimStore

UNAVAILABLE_FOR_S = 3.0


class JetStreamUnavailable:
    """A real KeyValue whose updates fail fast, as during a JetStream restart, until
    `until` (monotonic); everything else goes straight through."""

    def __init__(self, kv: KeyValue, until: float) -> None:
        self._kv = kv
        self._until = until
        self.refused = 0

    async def update(self, key: str, value: bytes, last: int | None = None) -> int:
        if time.monotonic() < self._until:
            self.refused += 1
            raise NoRespondersError
        return await self._kv.update(key, value, last=last)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._kv, name)


async def test_finish_outlasts_a_jetstream_outage(nats_server: NatsServer) -> None:
    nc = await nats.connect(nats_server.url)
    try:
        kv = await nc.jetstream().create_key_value(bucket=f"claims{uuid.uuid4().hex[:6]}")
        held = await ClaimStore(kv).create("page-1", ClaimStore(kv).record("page-1", "claimed"))
        assert held is not None
        # The provider has accepted the page; now JetStream stops answering for a while.
        flaky = JetStreamUnavailable(kv, time.monotonic() + UNAVAILABLE_FOR_S)
        claims = ClaimStore(flaky)  # type: ignore[arg-type]
        revision, record = await claims.finish(
            "page-1", held, "sent", detail="sms provider id p-1", provider_id="p-1"
        )
        assert flaky.refused >= 4  # it really was refused for the whole window
        assert record.status == "sent"
        stored = await ClaimStore(kv).read("page-1")
        assert stored is not None
        assert (stored[0], stored[1].status, stored[1].provider_id) == (revision, "sent", "p-1")
    finally:
        await nc.close()
