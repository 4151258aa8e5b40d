"""The hash chain over facts: how one link's hash is computed and how a chain is verified.

Construction (what the writer stores and what `custody ledger verify` recomputes):

    canonical = JSON of the array [seq, msg_id, escalation_id, kind, occurred_at, payload]
                with object keys sorted, no whitespace (separators "," and ":"), non-ASCII
                kept as UTF-8, floats that are whole numbers written as integers (jsonb
                gives 300.0 back as 300.0 but 1e16 back as 10000000000000000), and
                occurred_at as UTC ISO-8601 with microseconds ("2026-01-02T03:04:05.000006+00:00")
    hash      = sha256((prev_hash + canonical) as UTF-8).hexdigest()

The first fact has seq 1 and prev_hash GENESIS (64 zeros). Each next fact has seq + 1 and
the previous fact's hash as its prev_hash. The `chain_head` row holds the last seq and hash,
so a truncated tail is caught too.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64


def canonical_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _normalised(value: Any) -> Any:
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {str(k): _normalised(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalised(v) for v in value]
    return value


def canonical_json(value: Any) -> str:
    return json.dumps(_normalised(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def link_hash(
    prev_hash: str,
    seq: int,
    msg_id: str,
    escalation_id: str,
    kind: str,
    occurred_at: datetime,
    payload: Any,
) -> str:
    body = canonical_json([seq, msg_id, escalation_id, kind, canonical_time(occurred_at), payload])
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Link:
    """One stored fact as the chain sees it."""

    seq: int
    msg_id: str
    escalation_id: str
    kind: str
    occurred_at: datetime
    payload: Any
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class Verdict:
    ok: bool
    entries: int
    first_bad_seq: int | None
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "first_bad_seq": self.first_bad_seq,
            "reason": self.reason,
        }


def verify(links: Iterable[Link], head: tuple[int, str] | None) -> Verdict:
    """Walk the chain in seq order. `head` is the chain_head row (last seq, last hash)."""
    verdict, last_seq, last_hash = verify_segment(links, 1, GENESIS)
    if not verdict.ok:
        return verdict
    if head is not None and (head[0], head[1]) != (last_seq, last_hash):
        reason = f"chain head is at seq {head[0]} but entries end at seq {last_seq} (truncated)"
        return Verdict(False, verdict.entries, last_seq + 1, reason)
    return verdict


def verify_segment(
    links: Iterable[Link], first_seq: int, prev_hash: str
) -> tuple[Verdict, int, str]:
    """Walk links that should start at `first_seq` after a link hashed `prev_hash`; also
    returns the last seq and hash walked (the checkpointer verifies before it signs)."""
    expected_seq, expected_prev, count = first_seq, prev_hash, 0
    for link in links:
        count += 1
        if link.seq != expected_seq:
            reason = f"expected seq {expected_seq}, found {link.seq} (entries deleted or reordered)"
            return Verdict(False, count, expected_seq, reason), expected_seq - 1, expected_prev
        if link.prev_hash != expected_prev:
            reason = "prev_hash is not the previous entry's hash"
            return Verdict(False, count, link.seq, reason), expected_seq - 1, expected_prev
        recomputed = link_hash(
            link.prev_hash,
            link.seq,
            link.msg_id,
            link.escalation_id,
            link.kind,
            link.occurred_at,
            link.payload,
        )
        if recomputed != link.hash:
            reason = "hash does not match the entry (edited)"
            return Verdict(False, count, link.seq, reason), expected_seq - 1, expected_prev
        expected_seq, expected_prev = link.seq + 1, link.hash
    return Verdict(True, count, None, ""), expected_seq - 1, expected_prev


@dataclass(frozen=True)
class Appended:
    seq: int
    prev_hash: str
    hash: str


def extend(
    head_seq: int, head_hash: str, entries: Sequence[tuple[str, str, str, datetime, Any]]
) -> list[Appended]:
    """Seq and hashes for new entries (msg_id, escalation_id, kind, occurred_at, payload)
    appended after the head, in the given order."""
    out: list[Appended] = []
    seq, prev = head_seq, head_hash
    for msg_id, escalation_id, kind, occurred_at, payload in entries:
        seq += 1
        digest = link_hash(prev, seq, msg_id, escalation_id, kind, occurred_at, payload)
        out.append(Appended(seq, prev, digest))
        prev = digest
    return out
