"""Acceptance 2, tamper detection: a superuser edits the ledger in Postgres behind its back,
one way per test, and `verify` names the first bad seq every time; the full rewrite with
recomputed hashes is caught by a signed checkpoint (from the file and the NATS stream). A
clean ledger verifies, with no false positive."""

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import nats
import pytest

from custody.runtime.nats_server import NatsServer
from custody_ledger.adapters.database import init_connection
from custody_ledger.config import public_key_path
from custody_ledger.domain.chain import extend
from custody_ledger.verify import stream_checkpoints, verify_ledger
from tests.integration import ledger_harness as harness
from tests.integration.ledger_harness import Ledger
from tests.unit.ledger import factories as f

bus, ledger_urls = harness.bus, harness.ledger_urls  # fixtures

pytestmark = pytest.mark.timeout(90)

ENTRIES = 30  # three escalations' worth of facts...
EVERY = 10  # ...checkpointed at seq 10, 20 and 30


@pytest.fixture
async def checkpointed(
    bus: nats.NATS, nats_server: NatsServer, ledger_urls: harness.Urls, tmp_path: Path
) -> AsyncIterator[Ledger]:
    """A ledger holding 30 facts, with three signed checkpoints in the file and the stream."""
    tokens = bus.tokens  # type: ignore[attr-defined]
    running = await harness.start_ledger(
        nats_server.url, ledger_urls, tokens, specs=(), state_dir=tmp_path, every_n=EVERY
    )
    # Fresh ids: the same hashes would share Nats-Msg-Ids with an earlier test's checkpoints.
    facts = [fact for _ in range(5) for fact in f.lifecycle(harness.new_id())][:ENTRIES]
    for start in range(0, ENTRIES, 7):  # several transactions, as the bus would give them
        await running.writer.append(facts[start : start + 7])
    made = await running.checkpointer.tick()
    assert [c.seq for c in made] == [10, 20, 30]
    yield running
    await harness.stop_ledger(running)


async def verify(ledger: Ledger, nats_url: str | None = None) -> dict[str, Any]:
    return await verify_ledger(
        ledger.urls.reader,
        checkpoint_file=ledger.checkpoint_file.path,
        public_key=public_key_path(ledger.key_path),
        nats_url=nats_url,
    )


async def as_superuser(ledger: Ledger, sql: str, *args: Any) -> None:
    conn = await asyncpg.connect(ledger.urls.admin)
    try:
        await conn.execute(sql, *args)
    finally:
        await conn.close()


async def test_a_clean_ledger_verifies_with_every_checkpoint(
    checkpointed: Ledger, nats_server: NatsServer
) -> None:
    assert len(await stream_checkpoints(nats_server.url)) == 3
    assert await verify(checkpointed, nats_server.url) == {
        "ok": True,
        "entries": ENTRIES,
        "first_bad_seq": None,
        "reason": "",
        "checkpoints": 3,  # the file's and the stream's copies are the same three
        "checkpoint_sources": {"file": 3, "stream": 3},
    }


async def _edit(ledger: Ledger) -> None:
    await as_superuser(
        ledger,
        "ALTER TABLE facts DISABLE TRIGGER facts_no_update;"
        " UPDATE facts SET actor = 'mallory', payload = payload || '{\"actor\": \"mallory\"}'"
        " WHERE seq = 17",
    )


async def _delete_middle(ledger: Ledger) -> None:
    await as_superuser(
        ledger,
        "ALTER TABLE facts DISABLE TRIGGER facts_no_delete; DELETE FROM facts WHERE seq = 12",
    )


async def _swap(ledger: Ledger) -> None:
    await as_superuser(
        ledger,
        "ALTER TABLE facts DISABLE TRIGGER facts_no_update;"
        " UPDATE facts SET seq = -1 WHERE seq = 5; UPDATE facts SET seq = 5 WHERE seq = 25;"
        " UPDATE facts SET seq = 25 WHERE seq = -1",
    )


async def _truncate_tail(ledger: Ledger) -> None:
    await as_superuser(
        ledger,
        "ALTER TABLE facts DISABLE TRIGGER facts_no_delete; DELETE FROM facts WHERE seq > 26",
    )


async def _truncate_tail_and_head(ledger: Ledger) -> None:
    await _truncate_tail(ledger)
    await as_superuser(
        ledger,
        "ALTER TABLE chain_head DISABLE TRIGGER chain_head_forward;"
        " UPDATE chain_head SET (seq, hash) = (SELECT seq, hash FROM facts WHERE seq = 26)",
    )


async def _rewrite_from_14(ledger: Ledger) -> None:
    """Edit entry 14 and recompute every hash after it, chain_head included: the chain is
    consistent with itself, and only a checkpoint can tell."""
    conn = await asyncpg.connect(ledger.urls.admin)
    try:
        await init_connection(conn)
        rows = await conn.fetch("SELECT * FROM facts WHERE seq >= 13 ORDER BY seq")
        first, rest = rows[0], rows[1:]
        rest[0] = {**rest[0], "payload": {**rest[0]["payload"], "actor": "mallory"}}
        entries = [
            (r["msg_id"], r["escalation_id"], r["kind"], r["occurred_at"], r["payload"])
            for r in rest
        ]
        links = extend(first["seq"], first["hash"], entries)
        async with conn.transaction():
            await conn.execute("ALTER TABLE facts DISABLE TRIGGER facts_no_update")
            await conn.execute("ALTER TABLE chain_head DISABLE TRIGGER chain_head_forward")
            for row, link in zip(rest, links, strict=True):
                await conn.execute(
                    "UPDATE facts SET payload = $2, prev_hash = $3, hash = $4 WHERE seq = $1",
                    link.seq,
                    row["payload"],
                    link.prev_hash,
                    link.hash,
                )
            await conn.execute("UPDATE chain_head SET seq = $1, hash = $2", links[-1].seq,
                               links[-1].hash)  # fmt: skip
    finally:
        await conn.close()


Tamper = Callable[[Ledger], Awaitable[None]]


@pytest.mark.parametrize(
    ("tamper", "bad_seq", "reason"),
    [
        (_edit, 17, "hash does not match the entry (edited)"),
        (_delete_middle, 12, "expected seq 12, found 13 (entries deleted or reordered)"),
        (_swap, 5, "prev_hash is not the previous entry's hash"),
        (_truncate_tail, 27, "chain head is at seq 30 but entries end at seq 26 (truncated)"),
        (_truncate_tail_and_head, 27, "missing, but the signed checkpoint at seq 30 covers it"),
        (_rewrite_from_14, 14, "differs from the signed checkpoint at seq 20 (chain rewritten)"),
    ],
    ids=["edit", "delete-middle", "swap", "truncate-tail", "truncate-tail-and-head", "rewrite"],
)
async def test_tampering_is_caught_at_its_first_bad_seq(
    checkpointed: Ledger, nats_server: NatsServer, tamper: Tamper, bad_seq: int, reason: str
) -> None:
    await tamper(checkpointed)
    for source in (None, nats_server.url):  # the file alone, then the file and the stream
        verdict = await verify(checkpointed, source)
        assert (verdict["ok"], verdict["first_bad_seq"]) == (False, bad_seq)
        assert reason in verdict["reason"]


async def test_the_stream_alone_catches_a_rewrite_when_the_file_is_gone(
    checkpointed: Ledger, nats_server: NatsServer
) -> None:
    await _rewrite_from_14(checkpointed)
    checkpointed.checkpoint_file.path.unlink()
    verdict = await verify(checkpointed, nats_server.url)
    assert (verdict["ok"], verdict["first_bad_seq"], verdict["checkpoints"]) == (False, 14, 3)


async def test_an_edited_checkpoint_file_fails_verification(checkpointed: Ledger) -> None:
    path = checkpointed.checkpoint_file.path
    lines = path.read_text().splitlines()
    lines[1] = lines[1].replace('"seq":20', '"seq":21')
    path.write_text("\n".join(lines) + "\n")
    verdict = await verify(checkpointed)
    assert not verdict["ok"]
    assert "bad signature" in verdict["reason"]


async def test_the_checkpointer_never_signs_a_broken_chain(checkpointed: Ledger) -> None:
    await checkpointed.writer.append([*f.lifecycle("esc-after"), *f.lifecycle("esc-more")[:3]])
    await as_superuser(
        checkpointed,
        "ALTER TABLE facts DISABLE TRIGGER facts_no_update;"
        " UPDATE facts SET payload = payload || '{\"x\": 1}' WHERE seq = 33",
    )
    assert await checkpointed.checkpointer.tick() == []  # 10 new entries, but 33 is edited
    verdict = await verify(checkpointed)
    assert (verdict["ok"], verdict["first_bad_seq"]) == (False, 33)
