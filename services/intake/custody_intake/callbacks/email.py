"""`POST /v1/callbacks/email`: a reply to a page's Reply-To address, from an inbound-mail
webhook (Mailgun-style form: sender, recipient, stripped-text or body-plain, and a signature
over timestamp + token).

The signature is checked in constant time and must be fresh; each webhook token acts once.
The reply address `reply+<id>@...` names a binding the notifier wrote when it sent the page;
the reply acts only if it comes from the address that page went to, and only once per action.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from custody import clock
from custody.auth.links import mail_reply_key
from custody.auth.signatures import verify_mail
from custody_intake.callbacks.common import Callbacks, documented
from custody_intake.domain.rejection import Rejection, refuse
from custody_intake.domain.replies import (
    email_address,
    parse_reply,
    replay_key,
    reply_id,
    reply_spent_key,
)

PATH = "/v1/callbacks/email"


def router(callbacks: Callbacks) -> APIRouter:
    api = APIRouter(tags=["provider callbacks"])

    @api.post(
        PATH,
        summary="Email reply (inbound-mail webhook)",
        responses=documented(200, 403, 404, 409, 410, 422, 503),
    )
    async def email_reply(request: Request) -> JSONResponse:
        raw = await request.body()
        form = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))

        async def work() -> str:
            stamp, token = form.get("timestamp", ""), form.get("token", "")
            key = callbacks.settings.mail_signing_key
            if not verify_mail(
                key, stamp, token, form.get("signature", ""), clock.now().timestamp()
            ):
                raise refuse(403, "bad_signature", "signature", "signature invalid or stale")
            await callbacks.reject_replay("email", replay_key("email", token))
            return await _act(callbacks, form)

        sender = email_address(form.get("sender") or form.get("from", ""))
        result = await callbacks.admit(raw, f"email:{sender[:48]}", work)
        if isinstance(result, Rejection):
            return JSONResponse(result.body(), status_code=result.status)
        return JSONResponse({"result": result})

    return api


async def _act(callbacks: Callbacks, form: dict[str, str]) -> str:
    rid = reply_id(form.get("recipient", ""))
    if rid is None:
        raise refuse(404, "unknown_address", "recipient", "not a Custody reply address")
    binding = await callbacks.binding(mail_reply_key(rid))
    if binding is None:
        raise refuse(404, "unknown_address", "recipient", "no page was sent with this address")
    sender = email_address(form.get("sender") or form.get("from", ""))
    if sender != email_address(binding.address):
        raise refuse(403, "wrong_sender", "sender", f"{sender or 'unknown'} was not paged here")
    if binding.expires_at <= clock.now():
        raise refuse(410, "expired", "recipient", "this reply address has expired")
    reply = parse_reply(form.get("stripped-text") or form.get("body-plain", ""))
    if reply is None:
        raise refuse(422, "unreadable_reply", "body", 'start your reply with "ack" or "resolve"')
    # The page's ack code is the tail of the escalation id ("esc-…7f3a" → "7f3a").
    if reply.code is not None and not binding.escalation_id.lower().endswith(reply.code):
        raise refuse(422, "wrong_code", "body", f"code {reply.code} is not this escalation's")
    spent = reply_spent_key(reply.action, "email", rid)
    if await callbacks.used(spent):
        raise refuse(409, "used", "body", f"{reply.action} by reply was already used")
    done = await callbacks.act(
        escalation_id=binding.escalation_id,
        actor=binding.recipient,
        action=reply.action,
        via="email",
        command_id=f"email-{spent.rsplit('.', 1)[-1]}",
    )
    await callbacks.first_time(spent)
    return done
