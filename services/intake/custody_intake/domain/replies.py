"""What a responder's reply says, and who sent it: pure rules for the provider callbacks.

- SMS: "ack 7f3a", "ACK 7F3A", "resolve 7f3a", "r 7f3a". The code names the escalation among
  the pages sent to *that number*; intake looks it up by (number, code), so a reply from any
  other number finds nothing and is refused.
- Email: the first line the responder wrote (quoted text and signatures ignored) starts with
  ack or resolve; the code is optional but, if given, must match.
- Confirmation pages: a GET on a link shows what a POST would do and changes nothing.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Literal

ReplyAction = Literal["ack", "resolve"]
_WORDS: dict[str, ReplyAction] = {
    "ack": "ack",
    "a": "ack",
    "acknowledge": "ack",
    "acknowledged": "ack",
    "ok": "ack",
    "resolve": "resolve",
    "resolved": "resolve",
    "r": "resolve",
    "fixed": "resolve",
}
_CODE = re.compile(r"^[a-z0-9]{1,12}$")
_REPLY_ADDRESS = re.compile(r"^reply\+([0-9a-f]{32})@", re.IGNORECASE)
_QUOTE_HEADER = re.compile(r"^on .+ wrote:$", re.IGNORECASE)


@dataclass(frozen=True)
class Reply:
    action: ReplyAction
    code: str | None = None


def parse_reply(text: str) -> Reply | None:
    """The action (and code) of the first line the responder wrote; None if it names none."""
    line = first_line(text)
    words = re.sub(r"[^\w\s]", " ", line.lower()).split()
    if not words or words[0] not in _WORDS:
        return None
    code = words[1] if len(words) > 1 and _CODE.match(words[1]) else None
    return Reply(_WORDS[words[0]], code)


def first_line(text: str) -> str:
    """The first non-empty line, stopping at quoted text ("> ..." or "On ... wrote:")."""
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith(">") or _QUOTE_HEADER.match(line) or line == "--":
            return ""
        return line
    return ""


def reply_id(recipient_address: str) -> str | None:
    """`reply+<32 hex>@domain` → the hex id; None for any other address."""
    match = _REPLY_ADDRESS.match(email_address(recipient_address))
    return match.group(1).lower() if match else None


def email_address(text: str) -> str:
    """'Bob <Bob@Example.test>' → 'bob@example.test'."""
    return parseaddr(text)[1].strip().lower()


def chat_handle(text: str | None) -> str:
    """'@Bob' → 'bob': how chat contacts and chat user names are compared."""
    return (text or "").strip().lstrip("@").lower()


def replay_key(provider: str, provider_id: str) -> str:
    """KV key of one provider callback id (KV keys allow few characters: hash it)."""
    return f"seen.{provider}.{hashlib.sha256(provider_id.encode()).hexdigest()[:40]}"


def reply_spent_key(action: str, channel: str, binding_key: str) -> str:
    """A reply binding works once per action: its spent marker."""
    digest = hashlib.sha256(binding_key.encode()).hexdigest()[:40]
    return f"reply.{action}.{channel}.{digest}"


def twiml(message: str) -> str:
    """A Twilio messaging response that texts `message` back to the sender."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Response><Message>{html.escape(message)}</Message></Response>\n"
    )


_VERBS = {"ack": "Acknowledge", "resolve": "Resolve"}


def confirmation_page(action: str, escalation_id: str, recipient: str, expires: str) -> str:
    """GET on a link: says what the button would do. Only the form's POST acts, because mail
    scanners and link previews follow links."""
    verb = _VERBS.get(action, action)
    body = (
        f"<p>{html.escape(verb)} escalation <b>{html.escape(escalation_id)}</b> "
        f"as <b>{html.escape(recipient)}</b>?</p>\n"
        f"<p>This link expires at {html.escape(expires)} and works once.</p>\n"
        '<form method="post"><button type="submit" style="padding:10px 18px">'
        f"{html.escape(verb)}</button></form>\n"
    )
    return _page(f"{verb} {escalation_id}?", body)


def result_page(title: str, message: str) -> str:
    return _page(title, f"<p>{html.escape(message)}</p>\n")


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html>\n<html><head><meta charset="utf-8">'
        '<meta name="robots" content="noindex">'
        f"<title>{html.escape(title)}</title></head>\n"
        '<body style="font-family:sans-serif;max-width:40em;margin:2em auto">\n'
        f"<h1>{html.escape(title)}</h1>\n{body}</body></html>\n"
    )
