"""Signed checkpoints: when one is due, and that only the ledger's key, unedited, passes."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from custody_ledger.domain import checkpoints as cp

NOW = datetime(2026, 3, 29, 12, 0, tzinfo=UTC)
KEY = Ed25519PrivateKey.generate()
LINKS = [(seq, f"{seq:064x}") for seq in range(11, 16)]


@pytest.mark.parametrize(
    ("last_seq", "last_age_s", "head", "expected"),
    [
        (0, None, 0, None),  # nothing recorded yet
        (0, None, 3, 3),  # the first checkpoint comes as soon as there is anything
        (10, 1.0, 10, None),  # the head has not moved
        (10, 1.0, 15, None),  # moved a little, not long ago
        (10, 5.0, 15, 15),  # moved a little, long enough ago
        (10, 1.0, 110, 110),  # moved by every_n
        (10, 1.0, 5000, 110),  # a backlog: at most every_n per checkpoint
    ],
)
def test_a_checkpoint_is_due_every_n_entries_or_every_t_seconds(
    last_seq: int, last_age_s: float | None, head: int, expected: int | None
) -> None:
    last_at = None if last_age_s is None else NOW - timedelta(seconds=last_age_s)
    assert cp.due(last_seq, last_at, head, NOW, every_n=100, every_s=5.0) == expected


def test_a_signed_checkpoint_names_the_head_and_every_hash_since_the_last() -> None:
    checkpoint = cp.sign(LINKS, NOW, KEY)
    assert (checkpoint.seq, checkpoint.from_seq, checkpoint.head_hash) == (15, 11, LINKS[-1][1])
    assert checkpoint.time == "2026-03-29T12:00:00.000000+00:00"
    assert cp.problem(checkpoint, KEY.public_key()) == ""
    assert cp.parse(checkpoint.as_json()) == checkpoint


@pytest.mark.parametrize(
    "edit",
    [
        {"seq": 16},
        {"head_hash": "f" * 64},
        {"time": "2026-03-29T12:00:01.000000+00:00"},
        {"hashes": ("0" * 64, *[h for _, h in LINKS[1:]])},
    ],
)
def test_an_edited_checkpoint_fails_its_signature(edit: dict[str, object]) -> None:
    forged = replace(cp.sign(LINKS, NOW, KEY), **edit)  # type: ignore[arg-type]
    assert "bad signature" in cp.problem(forged, KEY.public_key())


def test_a_checkpoint_signed_by_another_key_is_refused() -> None:
    other = Ed25519PrivateKey.generate()
    assert "not by the ledger's key" in cp.problem(cp.sign(LINKS, NOW, other), KEY.public_key())


def test_a_malformed_record_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="malformed checkpoint"):
        cp.parse({"seq": "x"})


def test_witnessed_hashes_and_the_first_disagreement() -> None:
    first = cp.sign(LINKS[:3], NOW, KEY)
    second = cp.sign(LINKS[3:], NOW, KEY)
    attested, conflict = cp.witnessed([first, second])
    assert attested[12] == (LINKS[1][1], 13)
    assert attested[15] == (LINKS[-1][1], 15)
    assert conflict is None
    rewritten = cp.sign([(13, "e" * 64), *LINKS[3:]], NOW, KEY)  # re-signed after a rewrite
    assert cp.witnessed([first, second, rewritten])[1] == 13
