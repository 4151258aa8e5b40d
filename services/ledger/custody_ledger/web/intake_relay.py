"""Relays a web action to intake's command endpoint with the person's own bearer token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from custody_ledger.web.wording import refusal_text

ACTIONS = frozenset({"ack", "resolve", "reassign", "decline", "note", "assign_role"})
_DONE = {
    "ack": "Acknowledged",
    "resolve": "Resolved",
    "reassign": "Reassigned",
    "decline": "Declined",
    "note": "Note added",
    "assign_role": "Role assigned",
}


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str


def command_body(action: str, form: dict[str, str]) -> dict[str, Any]:
    """Only the fields this action takes, so intake's strict body model accepts it."""
    fields = {
        "ack": ("note",),
        "resolve": ("note",),
        "note": ("note",),
        "decline": ("reason",),
        "reassign": ("to", "note"),
        "assign_role": ("to", "role"),
    }[action]
    return {k: form[k].strip() for k in fields if form.get(k, "").strip()}


def describe(action: str, status: int, body: dict[str, Any]) -> Outcome:
    if status == 200:
        state, custodian = body.get("state"), body.get("custodian")
        return Outcome(True, f"{_DONE[action]}. Now {state}, custodian {custodian or 'none'}.")
    if status == 202:
        return Outcome(True, f"{_DONE[action]}: queued; this page updates when it lands.")
    return Outcome(False, refusal_text(status, body))


class Relay(Protocol):
    async def act(
        self, token: str, escalation_id: str, action: str, form: dict[str, str]
    ) -> Outcome: ...


class IntakeRelay:
    def __init__(self, base_url: str, timeout_s: float = 10.0) -> None:
        self._base_url = base_url
        self._timeout_s = timeout_s

    async def act(
        self, token: str, escalation_id: str, action: str, form: dict[str, str]
    ) -> Outcome:
        url = f"{self._base_url}/v1/escalations/{escalation_id}/{action}"
        try:
            async with httpx.AsyncClient(timeout=self._timeout_s) as client:
                response = await client.post(
                    url,
                    json=command_body(action, form),
                    headers={"Authorization": f"Bearer {token}"},
                )
        except httpx.HTTPError:
            return Outcome(False, refusal_text(503, {}))
        try:
            body = response.json()
        except ValueError:
            body = {}
        return describe(action, response.status_code, body if isinstance(body, dict) else {})
