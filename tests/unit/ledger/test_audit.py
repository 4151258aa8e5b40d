"""`custody ledger verify`'s verdict over a tampered chain: every kind of tampering named at
its first bad seq, a full rewrite caught by a checkpoint, a clean ledger with no false alarm."""

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from custody_ledger.domain import checkpoints as cp
from custody_ledger.domain.audit import audit
from custody_ledger.domain.chain import GENESIS, Link, extend

T = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
KEY = Ed25519PrivateKey.generate()
PUBLIC = KEY.public_key()


def chain(n: int, payload: Any = None, start: Sequence[Link] = ()) -> list[Link]:
    base = list(start)
    head_seq, head_hash = (base[-1].seq, base[-1].hash) if base else (0, GENESIS)
    entries = [
        (f"m{i}", "esc-1", "raised", T + timedelta(seconds=i), payload or {"i": i})
        for i in range(head_seq + 1, head_seq + n + 1)
    ]
    appended = extend(head_seq, head_hash, entries)
    return base + [
        Link(a.seq, m, e, k, t, p, a.prev_hash, a.hash)
        for a, (m, e, k, t, p) in zip(appended, entries, strict=True)
    ]


def head(links: Sequence[Link]) -> tuple[int, str]:
    return (links[-1].seq, links[-1].hash) if links else (0, GENESIS)


def signed(links: Sequence[Link], every: int = 4) -> list[cp.Checkpoint]:
    return [
        cp.sign([(link.seq, link.hash) for link in links[i : i + every]], T, KEY)
        for i in range(0, len(links), every)
    ]


CLEAN = chain(10)
CHECKPOINTS = signed(CLEAN[:8])  # seq 1..4 and 5..8; 9 and 10 not yet checkpointed


def test_a_clean_ledger_verifies() -> None:
    verdict = audit(CLEAN, head(CLEAN), CHECKPOINTS, PUBLIC)
    assert (verdict.ok, verdict.entries, verdict.first_bad_seq, verdict.reason) == (
        True,
        10,
        None,
        "",
    )


def _swap(links: list[Link], i: int, j: int) -> list[Link]:
    """Rows i and j (0-based) trade places: their seq values are exchanged."""
    out = list(links)
    out[i], out[j] = replace(links[j], seq=links[i].seq), replace(links[i], seq=links[j].seq)
    return out


def _rewrite_from(links: list[Link], k: int) -> list[Link]:
    """Change entry k and recompute every hash from there on: consistent with itself."""
    kept = links[: k - 1]
    return chain(len(links) - k + 1, payload={"rewritten": True}, start=kept)


@pytest.mark.parametrize(
    ("name", "links", "use_stored_head", "bad_seq", "reason"),
    [
        ("edit", [*CLEAN[:5], replace(CLEAN[5], payload={"i": 99}), *CLEAN[6:]], True, 6, "edited"),
        ("delete middle", [*CLEAN[:3], *CLEAN[4:]], True, 4, "deleted"),
        ("swap", _swap(CLEAN, 2, 6), True, 3, "prev_hash"),
        ("truncate tail", CLEAN[:7], True, 8, "truncated"),
        ("truncate tail and head", CLEAN[:6], False, 7, "signed checkpoint at seq 8"),
        ("rewrite from k", _rewrite_from(CLEAN, 3), False, 3, "rewritten"),
    ],
)
def test_each_tampering_is_caught_at_its_first_bad_seq(
    name: str, links: list[Link], use_stored_head: bool, bad_seq: int, reason: str
) -> None:
    # use_stored_head: the attacker left chain_head alone; otherwise they fixed it up too.
    stored = head(CLEAN) if use_stored_head else head(links)
    verdict = audit(links, stored, CHECKPOINTS, PUBLIC)
    assert (verdict.ok, verdict.first_bad_seq) == (False, bad_seq), name
    assert reason in verdict.reason, (name, verdict.reason)


def test_a_rewrite_after_the_last_checkpoint_is_invisible_until_the_next_one() -> None:
    rewritten = _rewrite_from(CLEAN, 9)
    assert audit(rewritten, head(rewritten), CHECKPOINTS, PUBLIC).ok
    verdict = audit(rewritten, head(rewritten), signed(CLEAN), PUBLIC)
    assert (verdict.ok, verdict.first_bad_seq) == (False, 9)


def test_a_forged_checkpoint_fails_verification() -> None:
    forged = replace(CHECKPOINTS[0], head_hash="f" * 64)
    verdict = audit(CLEAN, head(CLEAN), [forged, CHECKPOINTS[1]], PUBLIC)
    assert not verdict.ok
    assert verdict.reason == "checkpoint at seq 4: bad signature (forged or edited checkpoint)"


def test_checkpoints_without_a_public_key_fail_rather_than_pass_unchecked() -> None:
    verdict = audit(CLEAN, head(CLEAN), CHECKPOINTS, None)
    assert (verdict.ok, verdict.reason) == (False, "2 checkpoints but no public key to check them")


def test_an_unreadable_checkpoint_record_fails() -> None:
    verdict = audit(CLEAN, head(CLEAN), CHECKPOINTS, PUBLIC, ["cp.jsonl:3: not a checkpoint"])
    assert (verdict.ok, verdict.reason) == (False, "cp.jsonl:3: not a checkpoint")


def test_a_chain_break_is_named_before_a_checkpoint_problem() -> None:
    edited = [*CLEAN[:1], replace(CLEAN[1], payload={}), *CLEAN[2:]]
    forged = replace(CHECKPOINTS[1], head_hash="f" * 64)
    verdict = audit(edited, head(edited), [CHECKPOINTS[0], forged], PUBLIC)
    assert verdict.first_bad_seq == 2
