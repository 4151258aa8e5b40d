"""HTTP provider fakes on one real server (uvicorn, 127.0.0.1, its own thread):

- SMS: a Twilio-compatible `POST /2010-04-01/Accounts/{sid}/Messages.json` (basic auth, form
  body, 201 with a `sid`), deduplicating on `Idempotency-Key` like a provider that honours it;
- chat: a Slack-compatible incoming webhook `POST /chat` (JSON, answers "ok");
- webhook: `POST /hook/{name}` (JSON, any signature: the test checks it).

Each records every call on arrival, before answering, so a call made by a process killed while
waiting for the answer is still counted. Each answers 429 (with Retry-After) or 500 on cue, for
a number of calls or for a time window, and can hold its answers (`delay_s`).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from custody.runtime.ports import free_port
from tests.fakes.recorder import Call, Recorder

SMS_SID = "ACtest"
SMS_TOKEN = "sms-auth-token-for-tests"


@dataclass
class Cue:
    status: int
    times: int | None = None  # answer this many calls so
    until: float | None = None  # or every call until this monotonic time
    retry_after: str | None = None

    def applies(self, now: float) -> bool:
        if self.until is not None:
            return now < self.until
        return self.times is None or self.times > 0


class Sink(Recorder):
    """A recorder with cues: what the next calls are answered."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self._cues: list[Cue] = []
        self.delay_s = 0.0
        self._seen_keys: dict[str, str] = {}

    def cue(
        self,
        status: int,
        *,
        times: int | None = None,
        for_s: float | None = None,
        retry_after: float | str | None = None,
    ) -> None:
        until = time.monotonic() + for_s if for_s is not None else None
        after = None if retry_after is None else str(retry_after)
        with self._lock:
            self._cues.append(Cue(status, times, until, after))

    def clear_cues(self) -> None:
        with self._lock:
            self._cues.clear()

    def answer(self, now: float) -> Cue | None:
        with self._lock:
            self._cues = [c for c in self._cues if c.applies(now)]
            for cue in self._cues:
                if cue.times is not None:
                    cue.times -= 1
                return cue
            return None

    def first_sid(self, key: str, sid: str) -> str:
        """The sid of the first delivery under `key` (idempotency), remembering this one."""
        with self._lock:
            return self._seen_keys.setdefault(key, sid) if key else sid


@dataclass
class Sinks:
    url: str
    sms: Sink
    chat: Sink
    webhook: Sink

    def assert_nothing_more(self, settle_s: float = 0.3) -> None:
        time.sleep(settle_s)
        for sink in (self.sms, self.chat, self.webhook):
            sink.assert_nothing_more(settle_s=0)

    async def nothing_more(self, settle_s: float = 0.5) -> None:
        await asyncio.sleep(settle_s)
        self.assert_nothing_more(settle_s=0)


def _app(sinks: dict[str, Sink]) -> Starlette:
    async def handle(request: Request, sink: Sink, parse: str) -> tuple[Call, Response | None]:
        raw = await request.body()
        call = Call(
            sink=sink.name,
            at=time.monotonic(),
            wall=time.time(),
            path=request.url.path,
            headers={k.lower(): v for k, v in request.headers.items()},
            body=raw,
            key=request.headers.get("idempotency-key", ""),
        )
        if parse == "form":
            call.form = dict(parse_qsl(raw.decode(), keep_blank_values=True))
        else:
            try:
                call.json = json.loads(raw or b"null")
            except ValueError:
                call.json = None
        cue = sink.answer(call.at)
        early: Response | None = None
        if cue is not None:
            headers = {"Retry-After": cue.retry_after} if cue.retry_after else {}
            early = JSONResponse({"error": "cued"}, status_code=cue.status, headers=headers)
            call.status = cue.status
        sink.record(call)
        if sink.delay_s:
            await asyncio.sleep(sink.delay_s)
        return call, early

    async def sms(request: Request) -> Response:
        sink = sinks["sms"]
        expected = base64.b64encode(f"{SMS_SID}:{SMS_TOKEN}".encode()).decode()
        call, early = await handle(request, sink, "form")
        if early is not None:
            return early
        if request.headers.get("authorization") != f"Basic {expected}":
            call.status = 401
            return JSONResponse({"message": "auth"}, status_code=401)
        fresh = "SM" + hashlib.sha256(f"{call.key}:{call.at}".encode()).hexdigest()[:30]
        sid = sink.first_sid(call.key, fresh)
        call.status = 201
        return JSONResponse({"sid": sid, "status": "queued", "to": call.form.get("To")}, 201)

    async def chat(request: Request) -> Response:
        _, early = await handle(request, sinks["chat"], "json")
        return early or PlainTextResponse("ok")

    async def hook(request: Request) -> Response:
        _, early = await handle(request, sinks["webhook"], "json")
        return early or JSONResponse({"ok": True})

    return Starlette(
        routes=[
            Route("/2010-04-01/Accounts/{sid}/Messages.json", sms, methods=["POST"]),
            Route("/chat", chat, methods=["POST"]),
            Route("/hook/{name}", hook, methods=["POST"]),
        ]
    )


@contextmanager
def http_sinks() -> Iterator[Sinks]:
    """The three HTTP sinks on one free loopback port, served until the block ends."""
    named = {name: Sink(name) for name in ("sms", "chat", "webhook")}
    port = free_port()
    config = uvicorn.Config(_app(named), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="http-sinks", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("http sinks did not start")
        time.sleep(0.01)
    try:
        yield Sinks(f"http://127.0.0.1:{port}", named["sms"], named["chat"], named["webhook"])
    finally:
        server.should_exit = True
        thread.join(timeout=10)
