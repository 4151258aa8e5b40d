"""Which characters text may carry: no control characters anywhere, no line breaks in names.

Prose (a diagnosis, an excerpt) may span lines and hold tabs; names, titles, keys and label
values are one line, because they end up in SMS subjects, mail subjects and log lines. The
published schemas say the same with `ONE_LINE_PATTERN` and `PROSE_PATTERN` (contracts).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

PROSE_WHITESPACE = frozenset("\t\n\r")
Found = tuple[str, str, str]  # (dotted path, error_code, why)


def bad_character(value: str, multiline: bool = True) -> tuple[str, str] | None:
    """(error_code, why) for the first character text may not carry, else None."""
    for index, char in enumerate(value):
        point = ord(char)
        if 0xD800 <= point <= 0xDFFF:
            return "invalid_unicode", f"lone surrogate U+{point:04X} at character {index}"
        control = point < 0x20 or 0x7F <= point <= 0x9F
        if control and not (multiline and char in PROSE_WHITESPACE):
            why = f"control character U+{point:04X} at character {index}"
            return "control_character", why + (" (one line only)" if not multiline else "")
    return None


def printable(value: str, limit: int) -> str:
    """`value` with every control character and lone surrogate escaped, cut at `limit`: for
    echoing refused input back in an answer or a log, never for accepted data."""
    escaped = "".join(
        f"\\u{ord(c):04x}" if bad_character(c, multiline=False) is not None else c for c in value
    )
    return escaped if len(escaped) <= limit else escaped[: limit - 1] + "…"


def first_lone_surrogate(doc: Any) -> Found | None:
    """Any string of a parsed body, kept or not: a lone surrogate cannot even be encoded."""
    for path, value in strings(doc):
        if any(0xD800 <= ord(c) <= 0xDFFF for c in value):
            found = bad_character(value)
            assert found is not None
            return (path, *found)
    return None


def first_bad_text(
    doc: Any,
    one_line: Callable[[str], bool],
    skip: Callable[[str], bool] = lambda _: False,
) -> Found | None:
    """The first string of a validated model's dump that breaks the rules: keys are names (one
    line), values are one line where `one_line(path)` and prose elsewhere; `skip` exempts."""
    for path, value, is_key in _texts(doc, ""):
        if skip(path):
            continue
        found = bad_character(value, multiline=not (is_key or one_line(path)))
        if found is not None:
            return (path, *found)
    return None


def strings(doc: Any) -> Iterator[tuple[str, str]]:
    """Every string, key or value, with its dotted path (a key at the path it names)."""
    for path, value, _ in _texts(doc, ""):
        yield path, value


def _texts(doc: Any, path: str) -> Iterator[tuple[str, str, bool]]:
    if isinstance(doc, str):
        yield path, doc, False
    elif isinstance(doc, dict):
        for key, value in doc.items():
            child = f"{path}.{key}" if path else str(key)
            yield child, str(key), True
            yield from _texts(value, child)
    elif isinstance(doc, list | tuple):
        for index, value in enumerate(doc):
            yield from _texts(value, f"{path}.{index}" if path else str(index))
