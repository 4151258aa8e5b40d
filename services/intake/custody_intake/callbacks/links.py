"""`GET /a/{token}` shows a confirmation page; only `POST /a/{token}` acts (ack or resolve).

Mail scanners and link previews follow links, so a GET verifies the token and changes nothing:
it does not spend it, and issues no command. A POST verifies it (signature under any listed key,
recipient, escalation, action, expiry), refuses a token already used, acts as the token's
recipient (`via="link"`), then marks the token used (KV create on its id).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from custody.auth.links import ActionClaims, TokenRefused, spent_key
from custody_intake.callbacks.common import Callbacks, documented
from custody_intake.domain.rejection import Rejection, refuse
from custody_intake.domain.replies import confirmation_page, result_page

_STATUS = {"expired": 410, "used": 409}
_ACTIONS = ("ack", "resolve")


def router(callbacks: Callbacks) -> APIRouter:
    api = APIRouter(tags=["links"])
    responses = documented(200, 403, 404, 409, 410, 422, 503)

    @api.get("/a/{token}", response_class=HTMLResponse, responses=responses)
    async def confirm(token: str) -> HTMLResponse:
        """The confirmation page: what a POST would do. Changes nothing."""
        try:
            claims = _claims(callbacks, token)
        except TokenRefused as exc:
            return _refused_page(exc.code, str(exc))
        if await callbacks.used(spent_key(claims)):
            return _refused_page("used", "This link has already been used.")
        expires = f"{claims.expires_at:%Y-%m-%d %H:%M} UTC"
        page = confirmation_page(claims.action, claims.escalation_id, claims.recipient, expires)
        return HTMLResponse(page, headers={"Cache-Control": "no-store"})

    @api.post("/a/{token}", response_class=HTMLResponse, responses=responses)
    async def act(token: str, request: Request) -> HTMLResponse:
        """Act once, as the link's recipient."""
        raw = await request.body()

        async def work() -> str:
            try:
                claims = _claims(callbacks, token)
            except TokenRefused as exc:
                raise refuse(_STATUS.get(exc.code, 403), exc.code, "token", str(exc)) from exc
            if claims.action not in _ACTIONS:
                raise refuse(403, "wrong_action", "token", "this token is not an ack/resolve link")
            if await callbacks.used(spent_key(claims)):
                raise refuse(409, "used", "token", "this link has already been used")
            done = await callbacks.act(
                escalation_id=claims.escalation_id,
                actor=claims.recipient,
                action="ack" if claims.action == "ack" else "resolve",
                via="link",
                command_id=f"link-{claims.token_id}-{claims.action}",
            )
            await callbacks.first_time(spent_key(claims))
            return done

        result = await callbacks.admit(raw, f"link:{token[:24]}", work)
        if isinstance(result, Rejection):
            return _refused_page(result.error_code, result.message, result.status)
        return HTMLResponse(result_page("Done", result), headers={"Cache-Control": "no-store"})

    return api


def _claims(callbacks: Callbacks, token: str) -> ActionClaims:
    return callbacks.verify(token)


def _refused_page(code: str, message: str, status: int | None = None) -> HTMLResponse:
    return HTMLResponse(
        result_page("This link does not work", message),
        status_code=status or _STATUS.get(code, 403),
        headers={"Cache-Control": "no-store", "X-Custody-Error": code},
    )
