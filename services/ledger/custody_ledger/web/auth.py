"""Who is signed in: the session cookie, checked against the credentials directory on every
request (so a revoked token stops working at once), and the sign-in/sign-out routes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from custody import clock
from custody_ledger.web import render
from custody_ledger.web.session import Signer
from custody_ledger.web.views import People, Viewer

SESSION_COOKIE = "custody_session"
FLASH_COOKIE = "custody_flash"


@dataclass(frozen=True)
class Gate:
    signer: Signer
    people: People
    credentials_path: Path  # dev only: exists when `custody up` wrote dev tokens
    ttl_s: float
    secure: bool

    async def viewer(self, request: Request) -> Viewer | None:
        session = self.signer.read_session(
            request.cookies.get(SESSION_COOKIE), clock.now().timestamp()
        )
        if session is None:
            return None
        principal = await self.people.principal(session.token)
        if principal is None or principal.kind != "person" or principal.name != session.name:
            return None
        return Viewer(principal.name, session.token, principal.name in await self.people.admins())

    def dev_tokens(self) -> dict[str, str]:
        if not self.credentials_path.exists():
            return {}
        data = json.loads(self.credentials_path.read_text())
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    async def dev_people(self) -> list[str]:
        """The people (not agents) among the dev tokens, for the sign-in picker."""
        names = []
        for name, token in sorted(self.dev_tokens().items()):
            principal = await self.people.principal(token)
            if principal is not None and principal.kind == "person":
                names.append(name)
        return names

    def set_cookie(self, response: Response, name: str, value: str, max_age: int | None) -> None:
        response.set_cookie(
            name, value, max_age=max_age, httponly=True, samesite="lax", secure=self.secure
        )

    def flash(self, response: Response, message: str, ok: bool) -> None:
        self.set_cookie(
            response, FLASH_COOKIE, self.signer.dumps({"m": message, "ok": ok}, "flash"), 60
        )

    def take_flash(self, request: Request) -> tuple[str, bool]:
        data = self.signer.loads(request.cookies.get(FLASH_COOKIE), "flash") or {}
        return str(data.get("m") or ""), not bool(data.get("ok", True))


def safe_next(value: str | None) -> str:
    """Only a path on this site: never `//evil.example` or an absolute URL."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def to_signin(path: str) -> RedirectResponse:
    return RedirectResponse(f"/signin?next={quote(path, safe='/')}", status_code=303)


async def form(request: Request) -> dict[str, str]:
    """An urlencoded form body (python-multipart is not installed, and is not needed here)."""
    return dict(
        parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
    )


def router(gate: Gate) -> APIRouter:
    api = APIRouter(include_in_schema=False)

    @api.get("/signin")
    async def signin_page(next: str = "/") -> HTMLResponse:
        return HTMLResponse(render.signin(safe_next(next), await gate.dev_people()))

    @api.post("/signin")
    async def signin(request: Request) -> Response:
        data = await form(request)
        target = safe_next(data.get("next"))
        token = data.get("token", "").strip()
        if data.get("as"):
            token = gate.dev_tokens().get(data["as"], "")
        principal = await gate.people.principal(token) if token else None
        if principal is None or principal.kind != "person":
            page = render.signin(
                target, await gate.dev_people(), "That token is not a person's valid token."
            )
            return HTMLResponse(page, status_code=401)
        response = RedirectResponse(target, status_code=303)
        value = gate.signer.session(principal.name, token, clock.now().timestamp() + gate.ttl_s)
        gate.set_cookie(response, SESSION_COOKIE, value, int(gate.ttl_s))
        return response

    @api.post("/signout")
    async def signout() -> Response:
        response = RedirectResponse("/signin", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    return api
