"""Opaque cursors for the newest-first escalation list: (opened_at, escalation_id) of the
last row returned, so a page boundary is stable while new escalations arrive."""

from __future__ import annotations

import base64
import json
from datetime import datetime


def encode_cursor(opened_at: datetime, escalation_id: str) -> str:
    raw = json.dumps([opened_at.isoformat(), escalation_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """Raises ValueError for anything this module did not produce."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, escalation_id = json.loads(raw)
        moment = datetime.fromisoformat(at)
    except (ValueError, TypeError) as exc:
        raise ValueError("malformed cursor") from exc
    if moment.tzinfo is None or not isinstance(escalation_id, str):
        raise ValueError("malformed cursor")
    return moment, escalation_id
