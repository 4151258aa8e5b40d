"""The web inbox's pages: `/` (inbox), `/e/{id}` (one case), their live fragments and SSE
streams, the action relay, and the static files."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from importlib import resources
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from custody_ledger.web import case_actions, case_page, live, render, views
from custody_ledger.web.auth import FLASH_COOKIE, Gate, form, to_signin
from custody_ledger.web.intake_relay import ACTIONS, Relay
from custody_ledger.web.views import ReadSide, Viewer

STATIC_TYPES = {"app.css": "text/css", "app.js": "text/javascript"}
NO_STORE = {"Cache-Control": "no-store"}


class Pages:
    def __init__(
        self,
        reads: ReadSide,
        gate: Gate,
        relay: Relay,
        now: Callable[[], datetime],
        *,
        poll_s: float,
        stream_s: float,
    ) -> None:
        self.reads, self.gate, self.relay, self.now = reads, gate, relay, now
        self.poll_s, self.stream_s = poll_s, stream_s

    def html(
        self, request: Request, title: str, body: str, who: Viewer, status: int = 200
    ) -> HTMLResponse:
        message, bad = self.gate.take_flash(request)
        response = HTMLResponse(
            render.page(title, body, who=who.name, flash=message, bad=bad),
            status_code=status,
            headers=NO_STORE,
        )
        if message:
            response.delete_cookie(FLASH_COOKIE)
        return response

    async def inbox(self, who: Viewer) -> tuple[str, str]:
        sections = await views.inbox_sections(self.reads, who)
        return render.inbox_fragment(sections, self.now()), views.stamp(sections)

    async def case(self, who: Viewer, escalation_id: str) -> tuple[str, str] | None:
        view = await views.visible_case(self.reads, who, escalation_id)
        if view is None:
            return None
        doc = await views.case_document(self.reads, view)
        return case_page.fragment(doc, self.now()), views.case_stamp(view)

    def events(self, request: Request, probe: live.Probe) -> StreamingResponse:
        body = live.stream(request, probe, poll_s=self.poll_s, lifetime_s=self.stream_s)
        headers = {**NO_STORE, "X-Accel-Buffering": "no"}
        return StreamingResponse(body, media_type="text/event-stream", headers=headers)

    async def inbox_stamp(self, who: Viewer) -> str:
        return views.stamp(await views.inbox_sections(self.reads, who))

    async def case_stamp(self, escalation_id: str) -> str:
        return views.case_stamp(await self.reads.escalation(escalation_id))


def _same_origin(request: Request) -> bool:
    """A second line behind SameSite=Lax: a browser's cross-site POST names its origin."""
    origin = request.headers.get("origin")
    return origin is None or origin.split("://", 1)[-1] == request.headers.get("host")


def router(p: Pages) -> APIRouter:
    api = APIRouter(include_in_schema=False)

    @api.get("/", response_model=None)
    async def inbox_page(request: Request) -> Response:
        who = await p.gate.viewer(request)
        if who is None:
            return to_signin("/")
        fragment, stamp = await p.inbox(who)
        region = render.live(
            fragment,
            stamp=stamp,
            events="/web/events/inbox",
            source="/web/fragments/inbox",
            label="Inbox",
        )
        return p.html(request, "Inbox", f"<h1>Inbox</h1>{region}", who)

    @api.get("/web/fragments/inbox", response_model=None)
    async def inbox_fragment(request: Request) -> Response:
        who = await p.gate.viewer(request)
        if who is None:
            return Response(status_code=401)
        return HTMLResponse((await p.inbox(who))[0], headers=NO_STORE)

    @api.get("/web/events/inbox", response_model=None)
    async def inbox_events(request: Request) -> Response:
        who = await p.gate.viewer(request)
        if who is None:
            return Response(status_code=401)
        return p.events(request, lambda: p.inbox_stamp(who))

    _case_routes(api, p)
    _static_route(api)
    return api


def _case_routes(api: APIRouter, p: Pages) -> None:
    @api.get("/e/{escalation_id}", response_model=None)
    async def case(request: Request, escalation_id: str) -> Response:
        who = await p.gate.viewer(request)
        if who is None:
            return to_signin(f"/e/{escalation_id}")
        found = await p.case(who, escalation_id)
        if found is None:
            return HTMLResponse(render.not_found(escalation_id, who.name), status_code=404)
        fragment, stamp = found
        path = quote(escalation_id)
        region = render.live(
            fragment,
            stamp=stamp,
            events=f"/web/events/e/{path}",
            source=f"/web/fragments/e/{path}",
            label="Escalation",
        )
        people = sorted(set(p.gate.dev_tokens()) | {who.name})
        return p.html(
            request, escalation_id, region + case_actions.actions(escalation_id, people), who
        )

    @api.get("/web/fragments/e/{escalation_id}", response_model=None)
    async def case_fragment(request: Request, escalation_id: str) -> Response:
        who = await p.gate.viewer(request)
        found = await p.case(who, escalation_id) if who is not None else None
        if found is None:
            return Response(status_code=404)
        return HTMLResponse(found[0], headers=NO_STORE)

    @api.get("/web/events/e/{escalation_id}", response_model=None)
    async def case_events(request: Request, escalation_id: str) -> Response:
        who = await p.gate.viewer(request)
        if who is None or await views.visible_case(p.reads, who, escalation_id) is None:
            return Response(status_code=404)
        return p.events(request, lambda: p.case_stamp(escalation_id))

    @api.post("/e/{escalation_id}/act", response_model=None)
    async def act(request: Request, escalation_id: str) -> Response:
        who = await p.gate.viewer(request)
        if who is None:
            return to_signin(f"/e/{escalation_id}")
        if not _same_origin(request):
            return Response("cross-site form refused", status_code=403)
        data = await form(request)
        action = data.get("action", "")
        if action not in ACTIONS:
            return Response("unknown action", status_code=400)
        outcome = await p.relay.act(who.token, escalation_id, action, data)
        response = RedirectResponse(f"/e/{quote(escalation_id)}", status_code=303)
        p.gate.flash(response, outcome.message, outcome.ok)
        return response


def _static_route(api: APIRouter) -> None:
    @api.get("/web/static/{name}", response_model=None)
    async def static(name: str) -> Response:
        kind = STATIC_TYPES.get(name)
        if kind is None:
            return Response(status_code=404)
        text = resources.files(__package__).joinpath("static", name).read_text("utf-8")
        return Response(text, media_type=kind, headers={"Cache-Control": "max-age=300"})
