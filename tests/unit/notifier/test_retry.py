"""Back-off between tries, and honouring a provider's Retry-After."""

from datetime import UTC, datetime

import pytest

from custody_notifier.domain.retry import MAX_RETRY_AFTER_S, backoff_s, retry_after_s

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("30", 30.0),
        ("2.5", 2.5),
        ("Sun, 22 Nov 2026 02:00:45 GMT", 45.0),  # an HTTP date
        ("Sun, 22 Nov 2026 01:00:00 GMT", 0.0),  # already past
        (None, 7.0),
        ("", 7.0),
        ("soon", 7.0),
        ("nan", 7.0),
        ("-5", 0.0),
        ("999999", MAX_RETRY_AFTER_S),
    ],
)
def test_retry_after(value: str | None, expected: float) -> None:
    assert retry_after_s(value, NOW, default_s=7.0) == expected


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff_s(n, 0.5) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 4.0]
    assert backoff_s(20, 0.5) == 30.0
