"""Signed checkpoints of the hash chain: when one is due, how it is signed, how it is checked.

A checkpoint says "at `time`, the chain ended at `seq` with `head_hash`", signed with an
Ed25519 key that is not in the database, and is kept outside Postgres (a file and a NATS
stream). It also carries the hash of every entry since the previous checkpoint (`from_seq` ..
`seq`), so a rewrite of the chain that recomputed every hash is not only detected but pinned
to the first entry it changed. The signature covers all of it:

    signed = b"custody-ledger-checkpoint-v1\\n" + canonical JSON of
             {"seq", "head_hash", "time", "from_seq", "hashes"}   (chain.canonical_json)
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from custody_ledger.domain.chain import canonical_json, canonical_time

_DOMAIN = b"custody-ledger-checkpoint-v1\n"


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    head_hash: str
    time: str  # canonical UTC ISO-8601, as signed
    from_seq: int
    hashes: tuple[str, ...]
    key_id: str
    signature: str  # base64

    def body(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "head_hash": self.head_hash,
            "time": self.time,
            "from_seq": self.from_seq,
            "hashes": list(self.hashes),
        }

    def as_json(self) -> dict[str, Any]:
        return {**self.body(), "key_id": self.key_id, "signature": self.signature}


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _signed_bytes(body: Mapping[str, Any]) -> bytes:
    return _DOMAIN + canonical_json(body).encode("utf-8")


def due(
    last_seq: int,
    last_at: datetime | None,
    head_seq: int,
    now: datetime,
    *,
    every_n: int,
    every_s: float,
) -> int | None:
    """The seq the next checkpoint should end at, or None when none is due yet: the head moved
    by `every_n` entries, or moved at all and `every_s` passed. One checkpoint covers at most
    `every_n` entries, so its message stays small; a backlog takes several."""
    if head_seq <= last_seq:
        return None
    waited_enough = last_at is None or (now - last_at).total_seconds() >= every_s
    if head_seq - last_seq < every_n and not waited_enough:
        return None
    return min(head_seq, last_seq + every_n)


def sign(links: Sequence[tuple[int, str]], now: datetime, key: Ed25519PrivateKey) -> Checkpoint:
    """A checkpoint over `links` ((seq, hash) in seq order, contiguous, at least one)."""
    unsigned = Checkpoint(
        seq=links[-1][0],
        head_hash=links[-1][1],
        time=canonical_time(now),
        from_seq=links[0][0],
        hashes=tuple(digest for _, digest in links),
        key_id=key_id(key.public_key()),
        signature="",
    )
    signature = key.sign(_signed_bytes(unsigned.body()))
    return replace(unsigned, signature=base64.b64encode(signature).decode("ascii"))


def parse(record: Mapping[str, Any]) -> Checkpoint:
    """A checkpoint from its JSON (file line or NATS message). Raises ValueError if malformed."""
    try:
        return Checkpoint(
            int(record["seq"]),
            str(record["head_hash"]),
            str(record["time"]),
            int(record["from_seq"]),
            tuple(str(h) for h in record["hashes"]),
            str(record["key_id"]),
            str(record["signature"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"malformed checkpoint: {exc!r}") from exc


def problem(checkpoint: Checkpoint, public_key: Ed25519PublicKey) -> str:
    """Why `checkpoint` cannot be trusted, or "" when its signature and shape are good."""
    if checkpoint.key_id != key_id(public_key):
        return f"signed by key {checkpoint.key_id}, not by the ledger's key {key_id(public_key)}"
    try:
        signature = base64.b64decode(checkpoint.signature, validate=True)
        public_key.verify(signature, _signed_bytes(checkpoint.body()))
    except (InvalidSignature, ValueError):
        return "bad signature (forged or edited checkpoint)"
    expected = checkpoint.seq - checkpoint.from_seq + 1
    if len(checkpoint.hashes) != expected or checkpoint.hashes[-1:] != (checkpoint.head_hash,):
        return "malformed: hashes do not span from_seq..seq ending at head_hash"
    return ""


def witnessed(checkpoints: Iterable[Checkpoint]) -> tuple[dict[int, tuple[str, int]], int | None]:
    """seq -> (hash, seq of the checkpoint attesting it) over (already trusted) checkpoints,
    and the first seq two of them disagree on (the chain changed between them), if any."""
    hashes: dict[int, tuple[str, int]] = {}
    conflict: int | None = None
    for checkpoint in checkpoints:
        for offset, digest in enumerate(checkpoint.hashes):
            seq = checkpoint.from_seq + offset
            known = hashes.setdefault(seq, (digest, checkpoint.seq))
            if known[0] != digest and (conflict is None or seq < conflict):
                conflict = seq
    return hashes, conflict
