"""Compare-and-set on KV: create once, update only at the revision read."""

from __future__ import annotations

import uuid

import nats

from custody.bus.kv import read_json, write_cas
from custody.runtime.nats_server import NatsServer


async def test_create_then_update_at_revision_and_conflicts(nats_server: NatsServer) -> None:
    nc = await nats.connect(nats_server.url)
    try:
        js = nc.jetstream()
        kv = await js.create_key_value(bucket=f"t{uuid.uuid4().hex[:8]}")
        assert await read_json(kv, "k") == (None, None)
        first = await write_cas(kv, "k", b'{"n": 1}', None)
        assert first is not None
        assert await write_cas(kv, "k", b'{"n": 9}', None) is None  # already exists
        doc, revision = await read_json(kv, "k")
        assert (doc, revision) == ({"n": 1}, first)
        second = await write_cas(kv, "k", b'{"n": 2}', revision)
        assert second is not None
        assert await write_cas(kv, "k", b'{"n": 3}', revision) is None  # stale revision
        assert (await read_json(kv, "k"))[0] == {"n": 2}
    finally:
        await nc.close()
