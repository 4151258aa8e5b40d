"""The physical reference: a raw nats-py 5-hop JetStream chain on the same server.

Each hop is a durable pull consumer that publishes to the next subject with a PubAck, then acks
its input: the same durability work a Custody hop does, with none of Custody's logic.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass

import nats
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, StorageType, StreamConfig

from custody.bench.stats import percentile
from custody.bus.worker import cancel_all

HOPS = 5
BATCH = 64


@dataclass(frozen=True)
class BaselineResult:
    msgs_per_s: float
    p50_ms: float
    p99_ms: float


async def run_baseline(
    nats_url: str, messages: int, rate: float, latency_messages: int
) -> BaselineResult:
    nc = await nats.connect(nats_url, name="custody-bench-baseline")
    js = nc.jetstream()
    name = f"BENCH_{uuid.uuid4().hex[:8]}"
    prefix = name.lower()
    await js.add_stream(
        StreamConfig(
            name=name, subjects=[f"{prefix}.>"], storage=StorageType.FILE, duplicate_window=3600
        )
    )
    try:
        sent_at: dict[str, float] = {}
        arrived: dict[str, float] = {}
        done = asyncio.Event()
        expected = [0]
        workers = [asyncio.create_task(_hop(js, name, prefix, hop)) for hop in range(HOPS)]
        sink = asyncio.create_task(_sink(js, name, prefix, arrived, expected, done))
        # Saturation: as fast as the chain takes them.
        expected[0] = messages
        started = time.perf_counter()
        await _publish(js, prefix, messages, sent_at, rate=None)
        await asyncio.wait_for(done.wait(), timeout=120)
        throughput = messages / (time.perf_counter() - started)
        # Fixed rate: latency through all five hops.
        sent_at.clear()
        arrived.clear()
        done.clear()
        expected[0] = latency_messages
        await _publish(js, prefix, latency_messages, sent_at, rate=rate)
        await asyncio.wait_for(done.wait(), timeout=120)
        latencies = [(arrived[k] - sent_at[k]) * 1000 for k in sent_at if k in arrived]
        await cancel_all({*workers, sink})
        return BaselineResult(throughput, percentile(latencies, 50), percentile(latencies, 99))
    finally:
        await js.delete_stream(name)
        await nc.close()


async def _publish(
    js: JetStreamContext, prefix: str, count: int, sent_at: dict[str, float], rate: float | None
) -> None:
    window = asyncio.Semaphore(256)
    interval = 1.0 / rate if rate else 0.0
    start = time.perf_counter()

    async def one(i: int) -> None:
        key = uuid.uuid4().hex
        async with window:
            sent_at[key] = time.perf_counter()
            await js.publish(f"{prefix}.h0", key.encode(), headers={"Nats-Msg-Id": key})

    tasks = []
    for i in range(count):
        if interval:
            delay = start + i * interval - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)


async def _hop(js: JetStreamContext, stream: str, prefix: str, hop: int) -> None:
    durable = f"hop{hop}"
    config = ConsumerConfig(
        durable_name=durable,
        ack_policy=AckPolicy.EXPLICIT,
        filter_subject=f"{prefix}.h{hop}",
        max_ack_pending=10_000,
    )
    await js.add_consumer(stream, config)
    sub = await js.pull_subscribe_bind(durable, stream)
    while True:
        try:
            msgs = await sub.fetch(BATCH, timeout=1)
        except (TimeoutError, nats.errors.TimeoutError):
            continue

        async def forward(msg: Msg) -> None:
            await js.publish(
                f"{prefix}.h{hop + 1}",
                msg.data,
                headers={"Nats-Msg-Id": f"{msg.data.decode()}:{hop + 1}"},
            )
            await msg.ack()

        await asyncio.gather(*(forward(m) for m in msgs))


async def _sink(
    js: JetStreamContext,
    stream: str,
    prefix: str,
    arrived: dict[str, float],
    expected: list[int],
    done: asyncio.Event,
) -> None:
    config = ConsumerConfig(
        durable_name="sink",
        ack_policy=AckPolicy.EXPLICIT,
        filter_subject=f"{prefix}.h{HOPS}",
        max_ack_pending=10_000,
    )
    await js.add_consumer(stream, config)
    sub = await js.pull_subscribe_bind("sink", stream)
    while True:
        try:
            msgs = await sub.fetch(BATCH, timeout=1)
        except (TimeoutError, nats.errors.TimeoutError):
            continue
        now = time.perf_counter()
        for msg in msgs:
            arrived[msg.data.decode()] = now
            await msg.ack()
        if len(arrived) >= expected[0]:
            done.set()
