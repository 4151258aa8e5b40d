"""`POST /v1/callbacks/sms`: an SMS reply (Twilio-style form post), e.g. "ack 7f3a".

The request must carry a valid X-Twilio-Signature over the URL and the form (checked in
constant time); each MessageSid acts once (a replay is refused). The code is looked up under
the *sender's* number in the notifier's reply bindings (KV `delivery`): a reply from any
number that was not paged with that code finds nothing, and is refused and recorded.
The answer is TwiML, so the sender gets a text back saying what happened.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from custody import clock
from custody.auth.links import sms_reply_key
from custody.auth.signatures import TWILIO_SIGNATURE_HEADER, verify_twilio
from custody_intake.callbacks.common import Callbacks, documented
from custody_intake.domain.rejection import Rejection, refuse
from custody_intake.domain.replies import parse_reply, replay_key, reply_spent_key, twiml

PATH = "/v1/callbacks/sms"
HELP = 'Reply "ack <code>" or "resolve <code>", with the code from the page.'


def router(callbacks: Callbacks) -> APIRouter:
    api = APIRouter(tags=["provider callbacks"])

    @api.post(
        PATH,
        summary="SMS reply (Twilio-style webhook)",
        responses=documented(200, 403, 404, 409, 410, 422, 503),
    )
    async def sms_reply(request: Request) -> Response:
        raw = await request.body()
        params = parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)
        form = dict(params)
        url = _signed_url(callbacks, request)

        async def work() -> str:
            header = request.headers.get(TWILIO_SIGNATURE_HEADER)
            if not verify_twilio(callbacks.settings.sms_auth_token, url, params, header):
                raise refuse(403, "bad_signature", TWILIO_SIGNATURE_HEADER, "signature invalid")
            await callbacks.reject_replay("sms", replay_key("sms", form.get("MessageSid", "")))
            return await _act(callbacks, form.get("From", ""), form.get("Body", ""))

        result = await callbacks.admit(raw, f"sms:{form.get('From', '')[:32]}", work)
        if isinstance(result, Rejection):
            return JSONResponse(result.body(), status_code=result.status)
        return Response(twiml(result), media_type="application/xml")

    return api


async def _act(callbacks: Callbacks, sender: str, body: str) -> str:
    reply = parse_reply(body)
    if reply is None or reply.code is None:
        raise refuse(422, "unreadable_reply", "Body", HELP)
    key = sms_reply_key(sender, reply.code)
    binding = await callbacks.binding(key)
    if binding is None:
        raise refuse(
            403, "wrong_sender", "From", f"no page with code {reply.code} went to this number"
        )
    if binding.expires_at <= clock.now():
        raise refuse(410, "expired", "Body", f"code {reply.code} has expired")
    spent = reply_spent_key(reply.action, "sms", f"{key}:{binding.page_id}")
    if await callbacks.used(spent):
        raise refuse(409, "used", "Body", f"{reply.action} {reply.code} was already used")
    done = await callbacks.act(
        escalation_id=binding.escalation_id,
        actor=binding.recipient,
        action=reply.action,
        via="sms",
        command_id=f"sms-{spent.rsplit('.', 1)[-1]}",
    )
    await callbacks.first_time(spent)
    return done


def _signed_url(callbacks: Callbacks, request: Request) -> str:
    """The URL the provider signed: the configured public one, else the one we were called on."""
    base = callbacks.settings.callbacks_url
    return f"{base.rstrip('/')}{PATH}" if base else str(request.url)
