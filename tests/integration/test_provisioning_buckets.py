"""Provisioning gives single-server buckets direct reads, and brings an existing bucket made
with leader reads (the nats-py default) in line, so every service reads KV the cheap way."""

from __future__ import annotations

import nats

from custody import subjects
from custody.bus.provisioning import direct_reads, provision_jetstream
from custody.runtime.nats_server import NatsServer


def test_only_a_single_server_bucket_reads_directly() -> None:
    # With replicas a direct get may be answered by a follower behind the leader.
    assert direct_reads(1)
    assert not direct_reads(3)


async def test_buckets_read_directly_and_an_old_bucket_is_brought_in_line(
    nats_server: NatsServer,
) -> None:
    nc = await nats.connect(nats_server.url)
    try:
        js = nc.jetstream()
        await provision_jetstream(js)
        for bucket in subjects.KV_BUCKETS:
            info = await js.stream_info(f"KV_{bucket}")
            assert info.config.allow_direct, bucket
        # A bucket provisioned by an older Custody: leader reads through the JSON API.
        old = await js.stream_info(f"KV_{subjects.KV_ESCALATIONS}")
        old.config.allow_direct = False
        await js.update_stream(old.config)
        assert not (await js.key_value(subjects.KV_ESCALATIONS))._direct
        await provision_jetstream(js)
        kv = await js.key_value(subjects.KV_ESCALATIONS)
        assert kv._direct
        # A direct read sees the write just made, and its revision, as compare-and-set needs.
        revision = await kv.put("esc-directread01", b'{"state": "offered"}')
        entry = await kv.get("esc-directread01")
        assert (entry.value, entry.revision) == (b'{"state": "offered"}', revision)
        revision = await kv.update("esc-directread01", b'{"state": "accepted"}', last=revision)
        entry = await kv.get("esc-directread01")
        assert (entry.value, entry.revision) == (b'{"state": "accepted"}', revision)
    finally:
        await nc.close()
