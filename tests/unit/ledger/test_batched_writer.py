"""Concurrently handled messages share one transaction, and share its outcome."""

import asyncio
from collections.abc import Sequence

import pytest

from custody_ledger.adapters.batched_writer import BatchedWriter
from custody_ledger.domain.facts import Fact
from tests.unit.ledger import factories as f


class FakeWriter:
    def __init__(self, fail: bool = False) -> None:
        self.batches: list[list[str]] = []
        self.fail = fail

    async def append(self, facts: Sequence[Fact]) -> int:
        self.batches.append([fact.msg_id for fact in facts])
        if self.fail:
            raise ConnectionRefusedError("postgres is down")
        return len(facts)


async def test_one_fetch_becomes_one_append() -> None:
    writer = FakeWriter()
    batcher = BatchedWriter(writer)
    facts = f.lifecycle("e1")
    await asyncio.gather(*(batcher.record(fact) for fact in facts))
    assert writer.batches == [[fact.msg_id for fact in facts]]


async def test_a_failed_write_fails_every_waiter_so_each_message_is_nakked() -> None:
    batcher = BatchedWriter(FakeWriter(fail=True))
    results = await asyncio.gather(
        *(batcher.record(fact) for fact in f.lifecycle("e1")), return_exceptions=True
    )
    assert all(isinstance(r, ConnectionRefusedError) for r in results)


async def test_facts_arriving_during_a_write_go_into_the_next_transaction() -> None:
    writer = FakeWriter()
    batcher = BatchedWriter(writer)
    first = asyncio.create_task(batcher.record(f.raised("e1")))
    await asyncio.sleep(0.02)
    await batcher.record(f.routed("e1"))
    await first
    assert writer.batches == [["e1:raised"], ["e1:routed"]]


@pytest.mark.parametrize("window_s", [0.0, 0.005])
async def test_record_returns_only_after_the_append(window_s: float) -> None:
    writer = FakeWriter()
    await BatchedWriter(writer, window_s=window_s).record(f.raised("e1"))
    assert writer.batches == [["e1:raised"]]
