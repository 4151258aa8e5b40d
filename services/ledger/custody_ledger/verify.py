"""`custody ledger verify`: recompute the hash chain from Postgres, check every signed
checkpoint (from the checkpoint file and, given a NATS URL, the CHECKPOINTS stream) against
it, and report the first break (domain/audit.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import asyncpg
import nats
import nats.errors
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from nats.js.api import DeliverPolicy
from nats.js.errors import NotFoundError

from custody import subjects
from custody_ledger import config
from custody_ledger.adapters.checkpoint_file import CheckpointFile
from custody_ledger.adapters.database import init_connection
from custody_ledger.adapters.reads import read_chain
from custody_ledger.adapters.signing_key import load_public
from custody_ledger.domain.audit import audit
from custody_ledger.domain.chain import Link
from custody_ledger.domain.checkpoints import Checkpoint, parse


async def _chain(database_url: str) -> tuple[list[Link], tuple[int, str] | None]:
    conn = await asyncpg.connect(database_url)
    try:
        await init_connection(conn)
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            return await read_chain(conn)
    finally:
        await conn.close()


async def stream_checkpoints(nats_url: str, timeout_s: float = 2.0) -> list[Checkpoint]:
    """Every checkpoint in the CHECKPOINTS stream (an ordered consumer, from the start)."""
    nc = await nats.connect(nats_url, name="custody-ledger-verify", connect_timeout=5)
    found: list[Checkpoint] = []
    try:
        js = nc.jetstream()
        try:
            info = await js.stream_info(subjects.CHECKPOINTS)
        except NotFoundError:
            return found  # provisioned before checkpoints existed: the file is all there is
        if not info.state.messages:
            return found
        sub = await js.subscribe(
            subjects.ledger_checkpoint(),
            stream=subjects.CHECKPOINTS,
            ordered_consumer=True,
            deliver_policy=DeliverPolicy.ALL,
        )
        while True:
            msg = await sub.next_msg(timeout=timeout_s)
            found.append(parse(json.loads(msg.data)))
            if msg.metadata.num_pending == 0:
                break
        await sub.unsubscribe()
    finally:
        await nc.close()
    return found


def _public_key(path: Path | None) -> Ed25519PublicKey | None:
    return load_public(path) if path is not None and path.exists() else None


async def verify_ledger(
    database_url: str,
    *,
    data_dir: Path | None = None,
    checkpoint_file: Path | None = None,
    public_key: Path | None = None,
    nats_url: str | None = None,
) -> dict[str, Any]:
    """{"ok", "entries", "first_bad_seq", "reason", "checkpoints", "checkpoint_sources"}
    (how many came from the file and the stream). Without paths, the
    checkpoint file and public key are looked for in `data_dir` (where `custody up` keeps
    them); with neither, only the chain itself is checked."""
    if data_dir is not None:
        checkpoint_file = checkpoint_file or data_dir / config.CHECKPOINT_FILE
        public_key = public_key or data_dir / config.PUBLIC_KEY_FILE
    links, head = await _chain(database_url)
    found, unreadable = CheckpointFile(checkpoint_file).read() if checkpoint_file else ([], [])
    sources: dict[str, Any] = {"file": len(found) if checkpoint_file else None}
    if nats_url:
        try:
            streamed = await stream_checkpoints(nats_url)
        except (OSError, nats.errors.Error) as exc:  # the file still counts; say so
            sources["stream"] = f"unavailable: {exc!r}"
        else:
            sources["stream"] = len(streamed)
            found += streamed
    unique = list({(c.seq, c.signature): c for c in found}.values())
    verdict = audit(links, head, unique, _public_key(public_key), unreadable)
    return {**verdict.as_json(), "checkpoints": len(unique), "checkpoint_sources": sources}
