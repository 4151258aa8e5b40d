"""The pull consumers every service handler runs on (custody.bus.worker), against a real
nats-server: settle by outcome, run up to `concurrency` handlers while still fetching, let go
on stop, and keep the producer's trace."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import nats
import pytest
from nats.js import JetStreamContext
from nats.js.api import StreamConfig
from opentelemetry import trace
from opentelemetry.propagate import inject
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import custody.bus.worker as worker
from custody import subjects
from custody.bus.connection import make_broker
from custody.bus.consuming import PermanentError
from custody.bus.provisioning import consumer_config, provision_jetstream
from custody.bus.worker import Consumer, Delivery, consumers_of, subscribe
from custody.runtime.nats_server import NatsServer
from custody.settings import RouterSettings

_names = itertools.count()


@dataclass
class Bus:
    js: JetStreamContext
    spec: subjects.ConsumerSpec
    subject: str

    async def publish(self, n: int = 1, body: dict[str, object] | None = None) -> None:
        for i in range(n):
            payload = json.dumps(body or {"escalation_id": "esc-0123456789ab", "n": i})
            await self.js.publish(self.subject, payload.encode(), stream=self.spec.stream)

    async def state(self) -> tuple[int, int]:
        """(pending, ack pending) of the durable."""
        info = await self.js.consumer_info(self.spec.stream, self.spec.durable)
        return info.num_pending, info.num_ack_pending


@pytest.fixture
async def bus(nats_server: NatsServer) -> AsyncIterator[Bus]:
    """A stream and durable of this test's own (ack_wait 2 s, max_deliver 3), plus the DLQ."""
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    await provision_jetstream(js)
    name = f"WORKER{next(_names)}"
    subject = f"worker{name.lower()}.esc-0123456789ab"
    spec = subjects.ConsumerSpec(name, "w", f"worker{name.lower()}.>", ack_wait_s=2, max_deliver=3)
    await js.add_stream(StreamConfig(name=name, subjects=[spec.filter_subject]))
    await js.add_consumer(name, consumer_config(spec))
    try:
        yield Bus(js, spec, subject)
    finally:
        await js.delete_stream(name)
        await nc.close()


@pytest.fixture
async def broker(nats_server: NatsServer) -> AsyncIterator[object]:
    broker = make_broker(RouterSettings(nats_url=nats_server.url), "worker-test")
    await broker.connect()
    try:
        yield broker
    finally:
        await consumers_of(broker).stop()
        await broker.stop()


async def until(check: Callable[[], Awaitable[bool]], within: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not true within {within} s")
        await asyncio.sleep(0.05)


async def test_success_is_acked_and_the_handler_sees_the_message(bus: Bus, broker) -> None:
    seen: list[tuple[bytes, str, int]] = []

    async def work(d: Delivery) -> None:
        seen.append((d.body, d.subject, d.raw_message.metadata.num_delivered))

    subscribe(broker, bus.spec, work, concurrency=4)
    await consumers_of(broker).start(broker)
    await bus.publish(5)

    async def settled() -> bool:
        return await bus.state() == (0, 0)

    await until(settled)
    assert len(seen) == 5
    assert {s for _, s, _ in seen} == {bus.subject}
    assert all(n == 1 for _, _, n in seen)  # acked the first time: no redelivery
    assert sorted(json.loads(b)["n"] for b, _, _ in seen) == [0, 1, 2, 3, 4]


async def test_a_transient_error_is_naked_and_redelivered(bus: Bus, broker) -> None:
    attempts: list[int] = []

    async def work(d: Delivery) -> None:
        attempts.append(d.raw_message.metadata.num_delivered)
        if len(attempts) == 1:
            raise ConnectionError("KV hiccup")

    subscribe(broker, bus.spec, work)
    await consumers_of(broker).start(broker)
    await bus.publish()

    async def handled_twice() -> bool:
        return len(attempts) == 2 and await bus.state() == (0, 0)

    # Naked with 0.2 s: back well before the 2 s ack_wait would have brought it back.
    await until(handled_twice, within=1.5)
    assert attempts == [1, 2]


async def test_a_permanent_error_is_dead_lettered_and_never_redelivered(bus: Bus, broker) -> None:
    calls = 0

    async def work(d: Delivery) -> None:
        nonlocal calls
        calls += 1
        raise PermanentError("cannot ever handle this")

    dlq = await bus.js.pull_subscribe(
        subjects.dead_letter(bus.spec.stream, "w"), stream=subjects.DLQ
    )
    subscribe(broker, bus.spec, work)
    await consumers_of(broker).start(broker)
    await bus.publish()
    dead = (await dlq.fetch(1, timeout=10))[0]
    fact = json.loads(dead.data)
    assert fact["consumer"] == "w"
    assert "cannot ever handle this" in fact["reason"]
    assert fact["escalation_id"] == "esc-0123456789ab"
    await asyncio.sleep(2.5)  # past ack_wait: a terminated message does not come back
    assert calls == 1
    assert await bus.state() == (0, 0)


async def test_handlers_run_concurrently_and_fetching_goes_on_meanwhile(bus: Bus, broker) -> None:
    """A slow message holds one slot; the others keep flowing past it."""
    release = asyncio.Event()
    done: list[int] = []
    running = 0
    most = 0

    async def work(d: Delivery) -> None:
        nonlocal running, most
        n = json.loads(d.body)["n"]
        running += 1
        most = max(most, running)
        try:
            if n == 0:
                await release.wait()
            else:
                await asyncio.sleep(0.05)
            done.append(n)
        finally:
            running -= 1

    subscribe(broker, bus.spec, work, concurrency=3)
    await consumers_of(broker).start(broker)
    await bus.publish(1, {"n": 0})
    await asyncio.sleep(0.2)
    for n in range(1, 11):  # one at a time: each arrives after the slow one was fetched
        await bus.publish(1, {"n": n})

    async def others_done() -> bool:
        return len(done) == 10

    await until(others_done)
    assert 0 not in done  # all ten went past the slow one
    assert most <= 3
    release.set()

    async def all_done() -> bool:
        return len(done) == 11 and await bus.state() == (0, 0)

    await until(all_done)


async def test_an_exception_escaping_the_settling_is_naked_not_lost(bus: Bus, broker) -> None:
    """A Consumer whose work settles nothing and raises (a dead-letter publish that failed):
    the message is naked, so it comes back soon rather than after ack_wait."""
    attempts: list[int] = []

    async def work(d: Delivery) -> None:
        attempts.append(d.raw_message.metadata.num_delivered)
        if len(attempts) == 1:
            raise RuntimeError("the DLQ publish failed")
        await d.ack()

    consumers_of(broker).add(Consumer(bus.spec, work))
    await consumers_of(broker).start(broker)
    await bus.publish()

    async def handled_twice() -> bool:
        return len(attempts) == 2 and await bus.state() == (0, 0)

    await until(handled_twice, within=1.5)


async def test_stop_waits_for_running_handlers_and_lets_go(bus: Bus, broker) -> None:
    finished: list[int] = []

    async def work(d: Delivery) -> None:
        await asyncio.sleep(0.3)
        finished.append(1)

    subscribe(broker, bus.spec, work, concurrency=2)
    consumers = consumers_of(broker)
    await consumers.start(broker)
    await bus.publish(2)

    async def both_running() -> bool:
        return (await bus.state())[1] == 2

    await until(both_running)
    subs = len(broker.connection._subs)
    await asyncio.wait_for(consumers.stop(), timeout=5)
    assert finished == [1, 1]  # the grace let both finish and ack
    assert len(broker.connection._subs) == subs - 1

    async def acked() -> bool:  # an ack is a publish: the server takes it a moment later
        return await bus.state() == (0, 0)

    await until(acked, within=1.5)  # well inside the 2 s ack_wait
    # nats-py's drain waits up to 30 s for open subscriptions: 10 s means it did not wait.
    await asyncio.wait_for(broker.stop(), timeout=10)


async def test_the_span_continues_the_producers_trace(bus: Bus, broker) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    handled = asyncio.Event()

    async def work(d: Delivery) -> None:
        handled.set()

    original = worker._tracer
    worker._tracer = provider.get_tracer("custody.bus")
    try:
        subscribe(broker, bus.spec, work)
        await consumers_of(broker).start(broker)
        with tracer.start_as_current_span("producer") as producer:
            headers: dict[str, str] = {}
            inject(headers)
            await bus.js.publish(
                bus.subject, b'{"escalation_id": "esc-0123456789ab"}', headers=headers
            )
        await asyncio.wait_for(handled.wait(), 10)
        await asyncio.sleep(0.1)
    finally:
        worker._tracer = original
    spans = [s for s in exporter.get_finished_spans() if s.name == f"{bus.subject} process"]
    assert len(spans) == 1
    span = spans[0]
    assert span.context.trace_id == producer.get_span_context().trace_id
    assert span.parent is not None
    assert span.parent.span_id == producer.get_span_context().span_id
    assert span.kind is trace.SpanKind.CONSUMER
    assert span.attributes["custody.escalation_id"] == "esc-0123456789ab"
