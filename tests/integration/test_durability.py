"""The durability guard against a real nats-server and Postgres: it passes what provisioning
makes, and refuses lazy fsync, memory storage, short dedup windows and async commits."""

from __future__ import annotations

import uuid

import asyncpg
import nats
import pytest
from nats.js.api import StorageType, StreamConfig

from custody import durability
from custody.bus.provisioning import provision_jetstream
from custody.runtime.nats_server import NatsServer


async def test_provisioned_bus_passes_the_guard(nats_server: NatsServer) -> None:
    nc = await nats.connect(nats_server.url)
    try:
        js = nc.jetstream()
        await provision_jetstream(js)
        assert await durability.jetstream_violations(js) == []
        for service in ("router", "escalator", "notifier", "ledger", "intake"):
            assert await durability.jetstream_violations(js, service) == []
    finally:
        await nc.close()
    assert durability.server_violations(durability.fetch_varz(nats_server.monitor_url)) == []


@pytest.mark.parametrize(
    ("varz", "fragment"),
    [
        ({"version": "2.10.22", "jetstream": {"config": {"sync_always": True}}}, "older than"),
        ({"version": "2.15.1", "jetstream": {"config": {"sync_always": False}}}, "sync_interval"),
        ({"version": "2.15.1", "jetstream": {"config": {}}}, "sync_interval"),
    ],
)
def test_server_without_fsync_per_write_is_refused(varz: dict[str, object], fragment: str) -> None:
    problems = durability.server_violations(varz)  # type: ignore[arg-type]
    assert any(fragment in p for p in problems)
    with pytest.raises(durability.DurabilityError):
        durability.refuse(problems)


async def test_memory_stream_and_short_dedup_window_are_refused(nats_server: NatsServer) -> None:
    nc = await nats.connect(nats_server.url)
    name = f"WEAK_{uuid.uuid4().hex[:6]}"
    try:
        js = nc.jetstream()
        await js.add_stream(
            StreamConfig(
                name=name,
                subjects=[f"{name.lower()}.>"],
                storage=StorageType.MEMORY,
                duplicate_window=120,
            )
        )
        info = await js.stream_info(name)
        problems = durability.stream_violations(name, info.config)
        assert any("storage must be file" in p for p in problems)
        assert any("duplicate_window" in p for p in problems)
        assert any("max_msg_size" in p for p in problems)
    finally:
        await js.delete_stream(name)
        await nc.close()


async def test_postgres_fsync_and_synchronous_commit(fresh_database: str) -> None:
    conn = await asyncpg.connect(fresh_database)
    try:
        assert await durability.postgres_violations(conn) == []
        await conn.execute("SET synchronous_commit = off")
        problems = await durability.postgres_violations(conn)
        assert problems == ["Postgres synchronous_commit is 'off': set it to 'on'"]
    finally:
        await conn.close()
