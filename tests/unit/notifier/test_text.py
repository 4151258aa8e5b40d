"""Unicode-safe clipping: never longer than asked, never half a character."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custody_notifier.domain.text import clean_block, clip, one_line


@pytest.mark.parametrize(
    ("text", "limit", "clipped"),
    [
        ("short", 10, "short"),
        ("exactly10!", 10, "exactly10!"),
        ("hello world", 8, "hello w…"),
        ("hello world", 7, "hello…"),  # trailing space before the ellipsis goes
        ("abc", 1, "…"),
        ("abc", 0, ""),
        # a ZWJ family is one glyph: keep it whole or drop it whole
        ("ab👨‍👩‍👧‍👦cd", 5, "ab…"),
        ("ab👨‍👩‍👧‍👦cd", 10, "ab👨‍👩‍👧‍👦…"),
        # a flag is a pair of regional indicators
        ("🇸🇪🇺🇸🇩🇪", 4, "🇸🇪…"),
        ("🇸🇪🇺🇸🇩🇪", 3, "🇸🇪…"),
        ("🇸🇪🇺🇸🇩🇪", 2, "…"),
        # a combining accent stays with its letter
        ("cafe\u0301 ok", 5, "caf…"),
        ("cafe\u0301 ok", 6, "cafe\u0301…"),
        # skin-tone modifier stays with its hand
        ("x👍🏽yz", 3, "x…"),
    ],
)
def test_clip(text: str, limit: int, clipped: str) -> None:
    assert clip(text, limit) == clipped


@given(text=st.text(), limit=st.integers(min_value=1, max_value=120))
def test_clip_is_never_longer_than_the_limit(text: str, limit: int) -> None:
    result = clip(text, limit)
    assert len(result) <= limit
    if len(text) <= limit:
        assert result == text
    else:
        assert result.endswith("…")
        assert text.startswith(result[:-1].rstrip())


@given(text=st.text())
def test_one_line_has_no_line_breaks_or_controls(text: str) -> None:
    flat = one_line(text)
    assert len(flat.splitlines()) <= 1
    assert flat == flat.strip()
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in flat)


def test_clean_block_keeps_paragraphs_and_drops_blank_runs() -> None:
    assert clean_block("a\n\n\n b \x00\n\nc\n\n") == "a\n\nb\n\nc"
