"""Publishes signed checkpoints of the chain: every N entries or T seconds, to a file and to
the CHECKPOINTS stream (domain/checkpoints.py says what one is).

Before signing, it re-verifies the entries since the previous checkpoint, so it never signs
a chain that was already broken. One replica at a time does the work (a transaction-level
advisory lock); `ledger_checkpoints` in Postgres only says where the last one ended: the
proof is the signed copies outside. A checkpoint that could not be published to NATS stays
in the file and is retried here until it is.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from custody import clock, subjects
from custody.bus.publishing import MSG_ID_HEADER
from custody_ledger.adapters.checkpoint_file import CheckpointFile
from custody_ledger.adapters.database import Database
from custody_ledger.adapters.metrics import LedgerMetrics
from custody_ledger.adapters.reads import LINK_COLUMNS, link_from_row
from custody_ledger.domain import checkpoints
from custody_ledger.domain.chain import GENESIS, verify_segment

if TYPE_CHECKING:
    from faststream.nats import NatsBroker

log = structlog.get_logger(__name__)

Publish = Callable[[checkpoints.Checkpoint], Awaitable[None]]
_LOCK_KEY = 0x636B7074  # "ckpt"


class Checkpointer:
    def __init__(
        self,
        database: Database,
        key: Ed25519PrivateKey,
        file: CheckpointFile,
        publish: Publish | None,
        *,
        every_n: int,
        every_s: float,
        metrics: LedgerMetrics | None = None,
        now: Callable[[], datetime] = clock.now,
    ) -> None:
        self._database, self._key, self._file, self._publish = database, key, file, publish
        self._every_n, self._every_s = every_n, every_s
        self._metrics, self._now = metrics, now
        self._unpublished: deque[checkpoints.Checkpoint] = deque(maxlen=1000)

    async def run(self, tick_s: float = 0.5) -> None:
        """Forever; a Postgres or NATS outage only delays checkpoints."""
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("ledger.checkpoint_failed", error=repr(exc))
            await asyncio.sleep(tick_s)

    async def tick(self) -> list[checkpoints.Checkpoint]:
        """Every checkpoint due now (a backlog may need several), then the NATS retries."""
        made: list[checkpoints.Checkpoint] = []
        while (checkpoint := await self._checkpoint_once()) is not None:
            made.append(checkpoint)
            self._unpublished.append(checkpoint)
        await self._publish_pending()
        return made

    async def _checkpoint_once(self) -> checkpoints.Checkpoint | None:
        async with self._database.connection() as conn, conn.transaction():
            if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", _LOCK_KEY):
                return None  # another replica is checkpointing
            last = await conn.fetchrow(
                "SELECT seq, head_hash, at FROM ledger_checkpoints ORDER BY seq DESC LIMIT 1"
            )
            last_seq, last_hash = (last["seq"], last["head_hash"]) if last else (0, GENESIS)
            head_seq = await conn.fetchval("SELECT seq FROM chain_head WHERE id = 1")
            now = self._now()
            upto = checkpoints.due(
                last_seq,
                last["at"] if last else None,
                head_seq,
                now,
                every_n=self._every_n,
                every_s=self._every_s,
            )
            if upto is None:
                return None
            checkpoint = await self._sign(conn, last_seq, last_hash, upto, now)
            if checkpoint is None:
                return None
            await asyncio.to_thread(self._file.append, checkpoint)
            await conn.execute(
                "INSERT INTO ledger_checkpoints (seq, head_hash, at, from_seq, key_id, signature)"
                " VALUES ($1, $2, $3, $4, $5, $6)",
                checkpoint.seq,
                checkpoint.head_hash,
                now,
                checkpoint.from_seq,
                checkpoint.key_id,
                checkpoint.signature,
            )
        if self._metrics is not None:
            self._metrics.checkpointed(checkpoint.seq)
        log.info("ledger.checkpoint", seq=checkpoint.seq, entries=len(checkpoint.hashes))
        return checkpoint

    async def _sign(
        self, conn: Any, last_seq: int, last_hash: str, upto: int, now: datetime
    ) -> checkpoints.Checkpoint | None:
        rows = await conn.fetch(
            f"SELECT {LINK_COLUMNS} FROM facts WHERE seq > $1 AND seq <= $2 ORDER BY seq",
            last_seq,
            upto,
        )
        links = [link_from_row(r) for r in rows]
        verdict, end, _ = verify_segment(links, last_seq + 1, last_hash)
        if not verdict.ok or end != upto:
            # Never attest a broken chain; `custody ledger verify` will say where it broke.
            log.error("ledger.checkpoint_refused", seq=verdict.first_bad_seq, reason=verdict.reason)
            return None
        return checkpoints.sign([(link.seq, link.hash) for link in links], now, self._key)

    async def _publish_pending(self) -> None:
        while self._unpublished and self._publish is not None:
            checkpoint = self._unpublished[0]
            try:
                await self._publish(checkpoint)
            except Exception as exc:  # NATS down or not permitted: the file has it; retry
                if self._metrics is not None:
                    self._metrics.checkpoint_unpublished()
                log.warning("ledger.checkpoint_unpublished", seq=checkpoint.seq, error=repr(exc))
                return
            self._unpublished.popleft()


def nats_publisher(broker: NatsBroker, timeout_s: float = 5.0) -> Publish:
    """Publish to CHECKPOINTS and await the PubAck; the Nats-Msg-Id names the checkpoint, so
    a retry after a timeout is deduplicated by JetStream."""

    async def publish(checkpoint: checkpoints.Checkpoint) -> None:
        ack = await broker.publish(
            json.dumps(checkpoint.as_json(), separators=(",", ":")).encode(),
            subjects.ledger_checkpoint(),
            headers={MSG_ID_HEADER: f"checkpoint:{checkpoint.seq}:{checkpoint.head_hash[:16]}"},
            stream=subjects.CHECKPOINTS,
            timeout=timeout_s,
        )
        if ack is None:
            raise RuntimeError("no PubAck for a checkpoint")

    return publish
