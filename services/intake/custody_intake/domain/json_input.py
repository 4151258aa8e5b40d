"""Reading a body as JSON, strictly: size, UTF-8, nesting depth, finite numbers, unique keys,
no lone surrogates. Reject, never truncate or coerce."""

from __future__ import annotations

import json
from typing import Any

from custody_intake.domain.rejection import BODY, refuse
from custody_intake.domain.text import first_lone_surrogate

MAX_BODY_BYTES = 64 * 1024
MAX_DEPTH = 32


class _NonFinite(ValueError):
    pass


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def parse_body(
    raw: bytes,
    size: int | None = None,
    max_bytes: int = MAX_BODY_BYTES,
    max_depth: int = MAX_DEPTH,
) -> Any:
    """The parsed document, or `Refused` with the first thing wrong with it. `size` is the
    whole body's, when the transport stopped keeping it past the limit."""
    size = len(raw) if size is None else size
    if size > max_bytes:
        raise refuse(413, "body_too_large", BODY, f"body is {size} bytes; the limit is {max_bytes}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise refuse(
            400, "invalid_utf8", BODY, f"body is not valid UTF-8 at byte {exc.start}"
        ) from None
    if not text.strip():
        raise refuse(400, "empty_body", BODY, "body is empty; expected a JSON object")
    # Depth is measured before parsing: a deep body would otherwise hit the parser's recursion
    # limit (a 500), and 64 KiB of "[" is 65,536 levels.
    depth = nesting_depth(text)
    if depth > max_depth:
        raise refuse(400, "too_deep", BODY, f"JSON nests {depth} levels; the limit is {max_depth}")
    doc = _loads(text)
    # Control characters are judged per field once the model knows which text it keeps; a
    # lone surrogate is refused anywhere, as no UTF-8 can carry it on.
    bad = first_lone_surrogate(doc)
    if bad is not None:
        path, code, why = bad
        raise refuse(400, code, path or BODY, f"{path or BODY}: {why}")
    return doc


def parse_object(raw: bytes, size: int | None = None) -> dict[str, Any]:
    doc = parse_body(raw, size)
    if not isinstance(doc, dict):
        raise refuse(422, "wrong_type", BODY, f"expected a JSON object, got {_kind(doc)}")
    return doc


def nesting_depth(text: str) -> int:
    """The deepest nesting of arrays and objects, ignoring brackets inside strings."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _loads(text: str) -> Any:
    try:
        return json.loads(
            text,
            parse_constant=_no_constant,
            parse_float=_finite_float,
            object_pairs_hook=_unique_keys,
        )
    except _NonFinite as exc:
        why = f"{exc}: JSON numbers must be finite"
        raise refuse(400, "non_finite_number", BODY, why) from None
    except _DuplicateKey as exc:
        why = f"key {exc.key!r} appears twice in an object"
        raise refuse(400, "duplicate_key", exc.key, why) from None
    except json.JSONDecodeError as exc:
        why = f"invalid JSON: {exc.msg} at {exc.lineno}:{exc.colno}"
        raise refuse(400, "invalid_json", BODY, why) from None
    except (ValueError, RecursionError) as exc:  # e.g. an integer with more than 4300 digits
        raise refuse(400, "invalid_json", BODY, f"invalid JSON: {exc}") from None


def _no_constant(name: str) -> Any:
    raise _NonFinite(name)


def _finite_float(literal: str) -> float:
    value = float(literal)
    if value in (float("inf"), float("-inf")):  # 1e400 parses to inf without a constant
        raise _NonFinite(literal[:40])
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Two equal keys would let sender and receiver read different documents."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key[:200])
        result[key] = value
    return result


def _kind(doc: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(doc), "a number"
    )
