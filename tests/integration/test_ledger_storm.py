"""Acceptance 4, a redelivery storm: two ledger replicas share a durable whose ack_wait (1 s)
expires while their acks are held back, so JetStream redelivers hundreds of facts, to either
replica, while the first copies are still being written. Every fact is recorded exactly once."""

import asyncio
import uuid
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import nats
import pytest
from nats.js.api import StreamConfig

from custody import subjects
from custody.bus.provisioning import consumer_config
from custody.bus.publishing import headers_for
from custody.runtime.nats_server import NatsServer
from custody_ledger import handlers
from custody_ledger.adapters.fact_writer import FactWriter
from custody_ledger.domain.facts import Fact
from custody_ledger.verify import verify_ledger
from tests.integration import ledger_harness as harness
from tests.unit.ledger import factories as f

bus, ledger_urls = harness.bus, harness.ledger_urls  # fixtures

pytestmark = pytest.mark.timeout(240)  # generous: two replicas on a loaded 2-core box

FACTS = 300


class SlowAcks:
    """The real writer, but the first `slow` transactions hold their COMMITted facts back for
    longer than ack_wait before the handlers may ack: the server redelivers them meanwhile."""

    def __init__(self, inner: FactWriter, deliveries: Counter[str], slow: int) -> None:
        self.inner, self.deliveries, self.slow = inner, deliveries, slow

    async def append(self, facts: Sequence[Fact]) -> int:
        self.deliveries.update(fact.msg_id for fact in facts)
        new = await self.inner.append(facts)
        if self.slow > 0:
            self.slow -= 1
            await asyncio.sleep(1.6)
        return new


async def test_a_redelivery_storm_records_every_fact_exactly_once(
    bus: nats.NATS, nats_server: NatsServer, ledger_urls: harness.Urls, tmp_path: Path
) -> None:
    suffix = uuid.uuid4().hex[:8]
    stream, prefix = f"STORM_{suffix}", f"storm{suffix}"
    js = bus.jetstream()
    await js.add_stream(StreamConfig(name=stream, subjects=[f"{prefix}.>"]))
    spec = subjects.ConsumerSpec(stream, "ledger-storm", f"{prefix}.>", ack_wait_s=1.0,
                                 max_deliver=-1)  # fmt: skip
    await js.add_consumer(stream, consumer_config(spec))
    deliveries: Counter[str] = Counter()
    tokens = bus.tokens  # type: ignore[attr-defined]

    def wrap(writer: FactWriter) -> handlers.Writer:
        return SlowAcks(writer, deliveries, slow=6)

    replicas = [
        await harness.start_ledger(
            nats_server.url, ledger_urls, tokens, wrap, specs=(spec,), state_dir=tmp_path
        )
        for _ in range(2)
    ]
    try:
        messages = [f.raised_message(harness.new_id())[1] for _ in range(FACTS)]
        for message in messages:
            await js.publish(f"{prefix}.{message.escalation_id}", message.to_json(),
                             stream=stream, headers=headers_for(message))  # fmt: skip

        async def settled() -> bool:
            info = await js.consumer_info(stream, spec.durable)
            rows = await replicas[0].fetch("SELECT count(*) AS n FROM facts")
            return info.num_pending == 0 and info.num_ack_pending == 0 and rows[0]["n"] == FACTS

        await harness.eventually(settled, within=120)
        redelivered = [m for m, n in deliveries.items() if n > 1]
        print(f"\n[storm] {len(redelivered)} of {FACTS} facts written more than once,"
              f" {sum(deliveries.values())} writes in all")  # fmt: skip
        assert len(redelivered) >= 50, "the storm did not happen"
        rows = await replicas[0].fetch("SELECT seq, msg_id FROM facts ORDER BY seq")
        assert [r["seq"] for r in rows] == list(range(1, FACTS + 1))
        assert sorted(r["msg_id"] for r in rows) == sorted(m.event_id for m in messages)
        assert (await verify_ledger(ledger_urls.reader))["ok"]
        info = await js.consumer_info(stream, spec.durable)
        assert info.num_redelivered == 0  # everything was eventually acked
    finally:
        for replica in replicas:
            await harness.stop_ledger(replica)
        await js.delete_stream(stream)
