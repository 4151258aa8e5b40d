"""One SMS per number per window; who rides along in the bundle."""

from datetime import UTC, datetime, timedelta

from custody_notifier.domain.throttle import (
    MAX_BUNDLE,
    Waiting,
    decode_waiting,
    encode_waiting,
    join,
    pick,
    window_wait,
)

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)


def waiting(key: str, severity: str = "yellow") -> Waiting:
    return Waiting(key, f"p-{key}", f"esc-{key}", "bob", "sms", 1, 1, 1, severity, "t", "ab12")


def test_the_window_is_open_when_nothing_was_sent_or_the_window_passed() -> None:
    assert window_wait(None, NOW, 60) == 0
    assert window_wait(NOW - timedelta(seconds=61), NOW, 60) == 0
    assert window_wait(NOW - timedelta(seconds=20), NOW, 60) == 40
    assert window_wait(NOW, NOW, 0) == 0  # no window configured


def test_joining_twice_changes_nothing() -> None:
    items = join([], waiting("a"))
    assert items == [waiting("a")]
    assert join(items, waiting("a")) is None


def test_riders_are_the_most_severe_then_the_oldest_and_never_the_sender() -> None:
    items = [waiting("a"), waiting("b", "red"), waiting("me"), waiting("c"), waiting("d", "red")]
    riders = pick(items, "me")
    assert [w.claim_key for w in riders] == ["b", "d", "a"]
    assert len(riders) == MAX_BUNDLE - 1


def test_the_bundle_survives_a_round_trip_and_garbage_reads_as_empty() -> None:
    items = [waiting("a"), waiting("b")]
    assert decode_waiting(encode_waiting(items)) == items
    assert decode_waiting(b"{nonsense") == []
