"""Reading the escalator's document in KV `escalations`: only the fields that fence a page."""

from __future__ import annotations

from nats.js.errors import InvalidKeyError, KeyNotFoundError
from nats.js.kv import KeyValue

from custody.bus.consuming import PermanentError
from custody_notifier.domain.claims import EscalationUnreadable, EscalationView


async def read_escalation(kv: KeyValue, escalation_id: str) -> EscalationView | None:
    """The two fencing fields of the escalator's document; None before it exists."""
    try:
        entry = await kv.get(escalation_id)
    except KeyNotFoundError:
        return None
    except InvalidKeyError as exc:
        raise PermanentError(f"escalation id {escalation_id!r} is no KV key") from exc
    try:
        return EscalationView.from_json(entry.value)
    except EscalationUnreadable as exc:
        raise PermanentError(str(exc)) from exc
