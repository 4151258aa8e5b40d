"""Compare-and-set on a KV bucket: the one way services read and write shared state."""

from __future__ import annotations

import json
from typing import Any

from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

KEY_EXISTS = 10071  # nats-py reports a failed create as a plain APIError with this code


async def read_json(kv: KeyValue, key: str) -> tuple[dict[str, Any] | None, int | None]:
    """The document and its revision, or (None, None) when the key holds nothing."""
    try:
        entry = await kv.get(key)
    except KeyNotFoundError:
        return None, None
    if entry.value is None:
        return None, None
    document: dict[str, Any] = json.loads(entry.value)
    return document, entry.revision


async def write_cas(kv: KeyValue, key: str, value: bytes, revision: int | None) -> int | None:
    """Create (revision None) or update at exactly `revision`. The new revision, or None when
    someone else wrote first: reload and decide again."""
    try:
        if revision is None:
            return int(await kv.create(key, value))
        return int(await kv.update(key, value, last=revision))
    except KeyWrongLastSequenceError:
        return None
    except Exception as exc:
        if getattr(exc, "err_code", None) == KEY_EXISTS:
            return None
        raise
