"""`POST /v1/callbacks/chat`: a button in a chat page (Slack-style interactivity payload).

The request must carry a fresh, valid Slack v0 signature (constant-time compare); each
interaction (`trigger_id`) acts once. The button's value is the page's signed action token,
bound to the recipient; when the chat user's name is given it must be the recipient's chat
handle from the policy, so a button pressed by someone else in a shared channel is refused
and recorded. Then the token acts like a link (`via="chat"`) and is marked used.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from custody import clock
from custody.auth.links import TokenRefused, spent_key
from custody.auth.signatures import SLACK_SIGNATURE_HEADER, SLACK_TIMESTAMP_HEADER, verify_slack
from custody_intake.callbacks.common import Callbacks, documented
from custody_intake.domain.rejection import Rejection, refuse
from custody_intake.domain.replies import chat_handle, replay_key

PATH = "/v1/callbacks/chat"


def router(callbacks: Callbacks) -> APIRouter:
    api = APIRouter(tags=["provider callbacks"])

    @api.post(
        PATH,
        summary="Chat button (Slack-style interactivity)",
        responses=documented(200, 403, 404, 409, 410, 422, 503),
    )
    async def chat_button(request: Request) -> JSONResponse:
        raw = await request.body()
        payload = _payload(raw)

        async def work() -> str:
            stamp = request.headers.get(SLACK_TIMESTAMP_HEADER)
            header = request.headers.get(SLACK_SIGNATURE_HEADER)
            secret = callbacks.settings.chat_signing_secret
            if not verify_slack(secret, stamp, raw, header, clock.now().timestamp()):
                raise refuse(403, "bad_signature", SLACK_SIGNATURE_HEADER, "signature invalid")
            trigger = str(payload.get("trigger_id") or f"{stamp}:{header}")
            await callbacks.reject_replay("chat", replay_key("chat", trigger))
            return await _act(callbacks, payload)

        result = await callbacks.admit(raw, f"chat:{_name(payload.get('user'))[:32]}", work)
        if isinstance(result, Rejection):
            return JSONResponse(result.body(), status_code=result.status)
        return JSONResponse(
            {"response_type": "ephemeral", "replace_original": False, "text": result}
        )

    return api


async def _act(callbacks: Callbacks, payload: dict[str, Any]) -> str:
    actions = payload.get("actions")
    action = actions[0] if isinstance(actions, list) and actions else {}
    if not isinstance(action, dict) or action.get("action_id") not in ("ack", "resolve"):
        raise refuse(422, "unknown_action", "actions", "not an ack or resolve button")
    try:
        claims = callbacks.verify(str(action.get("value", "")))
    except TokenRefused as exc:
        raise refuse(410 if exc.code == "expired" else 403, exc.code, "value", str(exc)) from exc
    if claims.action != action["action_id"]:
        raise refuse(403, "wrong_action", "value", "this button's token is for another action")
    await _same_person(callbacks, claims.recipient, payload)
    if await callbacks.used(spent_key(claims)):
        raise refuse(409, "used", "value", "this button has already been used")
    done = await callbacks.act(
        escalation_id=claims.escalation_id,
        actor=claims.recipient,
        action="ack" if claims.action == "ack" else "resolve",
        via="chat",
        command_id=f"chat-{claims.token_id}-{claims.action}",
    )
    await callbacks.first_time(spent_key(claims))
    return done


async def _same_person(callbacks: Callbacks, recipient: str, payload: dict[str, Any]) -> None:
    pressed_by = chat_handle(_name(payload.get("user")))
    person = (await callbacks.policy()).policy.people.get(recipient)
    handle = chat_handle(person.contacts.chat if person else None)
    if pressed_by and handle and pressed_by != handle:
        raise refuse(403, "wrong_sender", "user", f"{pressed_by} pressed {recipient}'s button")


def _name(user: object) -> str:
    """The chat user's name as the payload gives it (username, else name)."""
    if not isinstance(user, dict):
        return ""
    return str(user.get("username") or user.get("name") or "")


def _payload(raw: bytes) -> dict[str, Any]:
    """Slack sends `payload=<json>` form-encoded; anything unreadable is an empty payload,
    refused later (after the signature check, so garbage is recorded as what it is)."""
    form = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    try:
        data = json.loads(form.get("payload", ""))
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
