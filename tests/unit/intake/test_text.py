"""Which characters text may carry."""

from __future__ import annotations

import re

import pytest

from custody.contracts.incident import ONE_LINE_PATTERN, PROSE_PATTERN
from custody_intake.domain.text import bad_character, first_bad_text, printable


@pytest.mark.parametrize(
    ("value", "multiline", "code"),
    [
        ("plain text · ünïcode 🚨", False, None),
        ("line 1\nline 2\ttab\r", True, None),
        ("line 1\nline 2", False, "control_character"),
        ("bell\x07", True, "control_character"),
        ("nul\x00", True, "control_character"),
        ("del\x7f", True, "control_character"),
        ("c1\x85", True, "control_character"),
        ("surrogate\ud800", True, "invalid_unicode"),
    ],
)
def test_control_characters_and_surrogates(value: str, multiline: bool, code: str | None) -> None:
    found = bad_character(value, multiline)
    assert (found[0] if found else None) == code


def test_the_first_bad_string_is_named_keys_are_always_one_line() -> None:
    doc = {"title": "ok", "prose": "x\ny", "names": {"a\tb": "v"}, "one": "x\ny"}
    assert first_bad_text(doc, lambda p: p == "one") == (
        "names.a\tb",
        "control_character",
        "control character U+0009 at character 1 (one line only)",
    )
    del doc["names"]
    found = first_bad_text(doc, lambda p: p == "one")
    assert found is not None
    assert found[0] == "one"
    assert first_bad_text(doc, lambda p: p == "one", skip=lambda p: p == "one") is None


def test_the_published_patterns_say_exactly_what_the_rules_enforce() -> None:
    """Schemas (and schemathesis) read the patterns; intake enforces `bad_character`."""
    points = [*range(0x00, 0x300), 0x2028, 0xFEFF, 0x1F6A8]
    for point in points:
        char = chr(point)
        for pattern, multiline in ((ONE_LINE_PATTERN, False), (PROSE_PATTERN, True)):
            matches = re.match(pattern, f"a{char}b") is not None
            assert matches is (bad_character(char, multiline) is None), (hex(point), multiline)


def test_printable_escapes_and_bounds() -> None:
    assert printable("a\x00b\ud800", 100) == "a\\u0000b\\ud800"
    assert printable("x" * 10, 5) == "xxxx…"
