"""Deterministic identities: the same input always maps to the same escalation and message id."""

from __future__ import annotations

import hashlib


def escalation_id(source: str, dedup_key: str) -> str:
    """`esc-` plus 12 hex of sha256(source, dedup_key): a retry names the same escalation."""
    digest = hashlib.sha256(f"{source}\x00{dedup_key}".encode()).hexdigest()
    return f"esc-{digest[:12]}"


def incident_event_id(escalation: str) -> str:
    return f"incident:{escalation}"


def command_event_id(command_id: str) -> str:
    return f"command:{command_id}"
