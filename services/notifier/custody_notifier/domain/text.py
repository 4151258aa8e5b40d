"""Text hygiene for pages: one-line field values and Unicode-safe clipping with "…".

A page is read on a phone at 03:00, so a field value must never add a line, smuggle in a
control character, or flip the direction of the text that follows it; and clipping must not
cut an emoji or an accented letter in half.
"""

from __future__ import annotations

import unicodedata

ELLIPSIS = "…"

# Explicit bidi embeddings, overrides and isolates. An unbalanced one in a title would reorder
# the rest of its line (a spoofing vector); RTL text itself needs none of them to display.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_ZWJ = "\u200d"


def one_line(text: str) -> str:
    """Drop control and bidi-control characters and collapse every run of whitespace, line
    breaks included (U+2028, NEL, VT, ...), into one space."""
    kept = "".join(" " if _is_control(ch) else ch for ch in text if ch not in _BIDI_CONTROLS)
    return " ".join(kept.split())


def clean_block(text: str) -> str:
    """Like `one_line`, but keeps paragraph structure: lines survive, blank runs collapse."""
    lines = [one_line(line) for line in text.splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)


def clip(text: str, limit: int) -> str:
    """At most `limit` characters; a clipped value ends with "…" and never splits a
    grapheme cluster (combining marks, ZWJ emoji sequences, flags, skin tones)."""
    if limit <= 0:
        return ""
    if len(text) <= limit:
        return text
    cut = limit - len(ELLIPSIS)
    while cut > 0 and _inside_cluster(text, cut):
        cut -= 1
    return text[:cut].rstrip() + ELLIPSIS


def _is_control(ch: str) -> bool:
    return unicodedata.category(ch) == "Cc"


def _extends(ch: str) -> bool:
    """Characters that attach to the one before them (an approximation of UAX #29's
    Extend/SpacingMark classes that needs no third-party tables)."""
    code = ord(ch)
    return (
        unicodedata.category(ch) in ("Mn", "Me", "Mc")
        or ch == _ZWJ
        or 0xFE00 <= code <= 0xFE0F  # variation selectors
        or 0xE0100 <= code <= 0xE01EF  # variation selectors supplement
        or 0x1F3FB <= code <= 0x1F3FF  # emoji skin-tone modifiers
        or 0xE0020 <= code <= 0xE007F  # tag characters (subdivision flags)
    )


def _is_regional_indicator(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


def _inside_cluster(text: str, index: int) -> bool:
    """Would cutting between text[index - 1] and text[index] split a grapheme cluster?"""
    before, after = text[index - 1], text[index]
    if _extends(after) or before == _ZWJ:
        return True
    if _is_regional_indicator(before) and _is_regional_indicator(after):
        run = 0
        i = index - 1
        while i >= 0 and _is_regional_indicator(text[i]):
            run += 1
            i -= 1
        return run % 2 == 1  # `before` opens a flag pair that `after` closes
    return False
