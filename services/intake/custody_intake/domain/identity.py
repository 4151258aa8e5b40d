"""Deterministic identities: the same input always maps to the same escalation and message id."""

from __future__ import annotations

import hashlib


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def escalation_id(source: str, dedup_key: str, generation: int = 0) -> str:
    """`esc-` plus 12 hex of sha256(source, dedup_key[, generation]): a retry names the same
    escalation. Generation 0 keeps the original formula, so ids raised before reopening
    existed still name the same escalation; each reopen after a resolve is a new generation."""
    if generation == 0:
        return f"esc-{_digest(source, dedup_key)[:12]}"
    return f"esc-{_digest(source, dedup_key, str(generation))[:12]}"


def dedup_record_key(source: str, dedup_key: str) -> str:
    """The KV key of a (source, dedup_key): hex only, as KV keys allow few characters."""
    return f"d.{_digest(source, dedup_key)[:40]}"


def heartbeat_key(owner: str, name: str) -> str:
    return f"hb.{_digest(owner, name)[:40]}"


def body_digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def incident_event_id(escalation: str) -> str:
    return f"incident:{escalation}"


def seen_again_event_id(escalation: str, idempotency: str) -> str:
    """One fact per distinct input: a retry of the same body (or key) is dropped by JetStream."""
    return f"seen:{escalation}:{_digest(idempotency)[:32]}"


def command_event_id(command_id: str) -> str:
    return f"command:{command_id}"


def source_command_id(escalation: str, action: str, idempotency: str) -> str:
    """A PagerDuty acknowledge/resolve or an Alertmanager resolved, named by what it acts on and
    the input that carried it, so the sender's retries collapse into one command."""
    return f"src-{_digest(escalation, action, idempotency)[:32]}"


def rejection_event_id(request_id: str) -> str:
    """Each refused request is its own fact: two identical bad bodies are two rejections."""
    return f"rejected:{request_id}"
