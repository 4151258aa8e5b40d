"""The hash chain: its construction is pinned, and every kind of tampering is named."""

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from custody_ledger.domain.chain import (
    GENESIS,
    Link,
    canonical_json,
    extend,
    link_hash,
    verify,
)

T = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)


def _chain(n: int) -> list[Link]:
    entries = [(f"m{i}", "esc-1", "raised", T + timedelta(seconds=i), {"i": i}) for i in range(n)]
    appended = extend(0, GENESIS, entries)
    return [
        Link(a.seq, m, e, k, t, p, a.prev_hash, a.hash)
        for a, (m, e, k, t, p) in zip(appended, entries, strict=True)
    ]


def test_link_hash_is_sha256_of_prev_hash_and_canonical_json() -> None:
    body = '[1,"m1","esc-1","raised","2026-01-02T03:04:05.000006+00:00",{"a":1,"b":"é"}]'
    expected = hashlib.sha256((GENESIS + body).encode()).hexdigest()
    assert link_hash(GENESIS, 1, "m1", "esc-1", "raised", T, {"b": "é", "a": 1}) == expected


def test_the_same_instant_in_another_zone_hashes_the_same() -> None:
    stockholm = T.astimezone(timezone(timedelta(hours=2)))
    assert link_hash(GENESIS, 1, "m", "e", "k", stockholm, {}) == link_hash(
        GENESIS, 1, "m", "e", "k", T, {}
    )


@pytest.mark.parametrize(
    ("value", "canonical"),
    [
        ({"b": 1, "a": [1, 2]}, '{"a":[1,2],"b":1}'),
        ({"wait_s": 300.0}, '{"wait_s":300}'),  # jsonb may give a whole float back either way
        ({"big": 1e16}, '{"big":10000000000000000}'),
        ({"x": 0.1}, '{"x":0.1}'),
        ({"t": ("a", None, True)}, '{"t":["a",null,true]}'),
    ],
)
def test_canonical_json(value: object, canonical: str) -> None:
    assert canonical_json(value) == canonical


def test_extend_links_each_entry_to_the_previous_hash() -> None:
    links = _chain(3)
    assert [link.seq for link in links] == [1, 2, 3]
    assert links[0].prev_hash == GENESIS
    assert links[1].prev_hash == links[0].hash
    assert links[2].prev_hash == links[1].hash


def test_extend_continues_from_the_head() -> None:
    first = _chain(2)
    more = extend(2, first[-1].hash, [("m9", "e", "k", T, {})])
    assert more[0].seq == 3
    assert more[0].prev_hash == first[-1].hash


def test_an_intact_chain_verifies() -> None:
    links = _chain(4)
    verdict = verify(links, (4, links[-1].hash))
    assert verdict.as_json() == {"ok": True, "entries": 4, "first_bad_seq": None, "reason": ""}


def test_an_empty_chain_verifies_against_a_genesis_head() -> None:
    assert verify([], (0, GENESIS)).ok


@pytest.mark.parametrize(
    ("tamper", "first_bad_seq", "reason_word"),
    [
        (lambda ls: [ls[0], replace(ls[1], payload={"i": 99}), *ls[2:]], 2, "edited"),
        (lambda ls: [ls[0], replace(ls[1], kind="resolved"), *ls[2:]], 2, "edited"),
        (lambda ls: [ls[0], *ls[2:]], 2, "deleted"),
        (lambda ls: [ls[0], ls[2], ls[1], ls[3]], 2, "reordered"),
        (lambda ls: [ls[0], replace(ls[1], prev_hash="f" * 64), *ls[2:]], 2, "prev_hash"),
        (lambda ls: ls[:3], 4, "truncated"),
    ],
)
def test_tampering_is_detected(tamper, first_bad_seq: int, reason_word: str) -> None:  # type: ignore[no-untyped-def]
    links = _chain(4)
    verdict = verify(tamper(links), (4, links[-1].hash))
    assert not verdict.ok
    assert verdict.first_bad_seq == first_bad_seq
    assert reason_word in verdict.reason


def test_a_rewritten_entry_with_a_recomputed_hash_breaks_the_next_link() -> None:
    links = _chain(3)
    edited = replace(links[1], payload={"i": 42})
    edited = replace(
        edited,
        hash=link_hash(edited.prev_hash, 2, "m1", "esc-1", "raised", edited.occurred_at, {"i": 42}),
    )
    verdict = verify([links[0], edited, links[2]], (3, links[-1].hash))
    assert (verdict.ok, verdict.first_bad_seq) == (False, 3)
