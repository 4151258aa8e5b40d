"""An SMTP server (aiosmtpd, 127.0.0.1, its own thread) that records every message and can
refuse recipients or whole messages on cue (a 5xx for good, a 4xx for now)."""

from __future__ import annotations

import email
import email.policy
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from custody.runtime.ports import free_port
from tests.fakes.recorder import Call, Recorder


class MailSink(Recorder):
    def __init__(self) -> None:
        super().__init__("smtp")
        self.refuse_rcpt: dict[str, str] = {}  # address -> SMTP reply, e.g. "550 no such user"
        self.data_reply: str | None = None  # e.g. "451 try later" for every message

    async def handle_RCPT(  # aiosmtpd calls hooks by this name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        reply = self.refuse_rcpt.get(address.lower())
        if reply is not None:
            now = time.monotonic()
            refused = Call("smtp", now, time.time(), path=f"RCPT {address}", status=int(reply[:3]))
            self.record(refused)
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # aiosmtpd calls hooks by this name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or envelope.content or b""
        data = raw if isinstance(raw, bytes) else raw.encode()
        message = email.message_from_bytes(data, policy=email.policy.default)
        status = int(self.data_reply[:3]) if self.data_reply else 250
        call = Call(
            sink="smtp",
            at=time.monotonic(),
            wall=time.time(),
            path="DATA",
            headers={k.lower(): str(v) for k, v in message.items()},
            body=data,
            status=status,
            json={"mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos)},
        )
        call.message = message
        self.record(call)
        return self.data_reply or "250 Message accepted"


def parts(call: Call) -> dict[str, Any]:
    """The text and HTML parts of a recorded message, and its headers."""
    message: EmailMessage = call.message
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    return {
        "text": text.get_content() if text else "",
        "html": html.get_content() if html else "",
        "headers": call.headers,
    }


@dataclass
class Smtp:
    host: str
    port: int
    sink: MailSink


@contextmanager
def smtp_server() -> Iterator[Smtp]:
    sink = MailSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield Smtp("127.0.0.1", port, sink)
    finally:
        controller.stop()
