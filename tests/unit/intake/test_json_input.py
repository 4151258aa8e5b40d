"""Strict body reading: every way a body can be unreadable has its own code and field."""

from __future__ import annotations

import pytest

from custody_intake.domain.json_input import MAX_BODY_BYTES, nesting_depth, parse_body, parse_object
from custody_intake.domain.rejection import Refused


def refused(raw: bytes, size: int | None = None) -> tuple[int, str, str]:
    with pytest.raises(Refused) as caught:
        parse_body(raw, size)
    r = caught.value.rejection
    return r.status, r.error_code, r.field


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"x" * (MAX_BODY_BYTES + 1), (413, "body_too_large", "(body)")),
        (b'{"a": "\xff"}', (400, "invalid_utf8", "(body)")),
        (b"", (400, "empty_body", "(body)")),
        (b"   \n", (400, "empty_body", "(body)")),
        (b"[" * 33 + b"]" * 33, (400, "too_deep", "(body)")),
        (b'{"a": NaN}', (400, "non_finite_number", "(body)")),
        (b'{"a": -Infinity}', (400, "non_finite_number", "(body)")),
        (b'{"a": 1e400}', (400, "non_finite_number", "(body)")),
        (b'{"a": 1, "a": 2}', (400, "duplicate_key", "a")),
        (b'{"a": 1,}', (400, "invalid_json", "(body)")),
        (b'{"a": ' + b"9" * 5000 + b"}", (400, "invalid_json", "(body)")),
        (b'{"title": "\\ud83d"}', (400, "invalid_unicode", "title")),
        (b'{"ignored": {"deep": ["ok", "\\udfff"]}}', (400, "invalid_unicode", "ignored.deep.1")),
    ],
)
def test_unreadable_bodies_are_refused_with_code_and_field(
    raw: bytes, expected: tuple[int, str, str]
) -> None:
    assert refused(raw) == expected


def test_size_is_the_whole_body_even_when_only_its_head_was_kept() -> None:
    assert refused(b"{}", size=MAX_BODY_BYTES + 10) == (413, "body_too_large", "(body)")


def test_exactly_64_kib_and_32_levels_are_accepted() -> None:
    padding = MAX_BODY_BYTES - len(b'{"a": ""}')
    assert parse_body(b'{"a": "' + b"x" * padding + b'"}') == {"a": "x" * padding}
    deep = b"[" * 32 + b"]" * 32
    assert nesting_depth(deep.decode()) == 32
    parse_body(deep)


def test_control_characters_are_judged_per_field_later_not_here() -> None:
    assert parse_body(b'{"title": "a\\u0000b"}') == {"title": "a\x00b"}


def test_prose_may_break_lines_and_brackets_in_strings_do_not_nest() -> None:
    doc = parse_body(b'{"diagnosis": "line 1\\n\\tline 2 [[[[{{{{"}')
    assert doc == {"diagnosis": "line 1\n\tline 2 [[[[{{{{"}
    assert nesting_depth('{"a": "[[[[\\"[["}') == 1


def test_an_object_is_required_at_the_top() -> None:
    with pytest.raises(Refused) as caught:
        parse_object(b"[1, 2]")
    assert (caught.value.rejection.error_code, caught.value.rejection.field) == (
        "wrong_type",
        "(body)",
    )


def test_a_refusal_echoes_the_bad_character_escaped_never_raw() -> None:
    status, code, field = refused(b'{"\\ud800": 1}')
    assert (status, code) == (400, "invalid_unicode")
    assert field == "\\ud800"
    field.encode("utf-8")  # a lone surrogate would not encode
