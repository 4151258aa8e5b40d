"""The shapes each channel delivers, built from a `RenderedPage`: email (text, HTML and the
threading headers), Slack-compatible chat blocks with ack and resolve buttons, and the generic
webhook's JSON. Pure: the adapters only put these on the wire.

Email threads by escalation: every message of one escalation names `<escalation@domain>` in
In-Reply-To and References, so a mail client shows the pages, notices and replies together.
"""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any

from custody_notifier.domain.render import RenderedPage
from custody_notifier.domain.text import clip

CHAT_HEADER_MAX = 150  # Slack: plain_text in a header block
CHAT_SECTION_MAX = 3000  # Slack: text in a section block
_SEVERITY_COLOUR = {"red": "#b3001b", "yellow": "#b36b00", "green": "#2e7d32"}


def message_id(local: str, domain: str) -> str:
    """`<local@domain>` with anything outside RFC 5322 dot-atom text written as `=XX`."""
    safe = "".join(
        c if c.isascii() and (c.isalnum() or c in ".-_") else f"={ord(c):02X}" for c in local
    )
    return f"<{safe.strip('.') or 'x'}@{domain}>"


def email_headers(page: RenderedPage, domain: str) -> dict[str, str]:
    """Message-ID per page; one thread per escalation; the reply address, if any."""
    headers = {
        "Message-ID": message_id(page.page_id, domain),
        "X-Custody-Page-Id": page.page_id,
        "X-Custody-Kind": page.kind,
    }
    if page.escalation_id:
        root = message_id(page.escalation_id, domain)
        headers |= {"In-Reply-To": root, "References": root}
        headers["X-Custody-Escalation"] = page.escalation_id
    if page.links.reply_to:
        headers["Reply-To"] = page.links.reply_to
    return headers


def email_html(page: RenderedPage) -> str:
    """The text part, escaped, under one-tap buttons: the same content, never more."""
    colour = _SEVERITY_COLOUR.get(page.severity, "#333333")
    buttons = [
        (label, url)
        for label, url in (
            ("Acknowledge", page.links.ack_url),
            ("Resolve", page.links.resolve_url),
            ("Open case", page.case_url),
        )
        if url
    ]
    links = " ".join(
        f'<a href="{html.escape(url)}" style="display:inline-block;padding:8px 14px;'
        f'margin-right:8px;border:1px solid {colour};color:{colour};text-decoration:none">'
        f"{label}</a>"
        for label, url in buttons
    )
    return (
        '<!doctype html>\n<html><body style="font-family:sans-serif">\n'
        f'<h2 style="color:{colour}">{html.escape(page.subject)}</h2>\n'
        f"<p>{links}</p>\n"
        '<pre style="white-space:pre-wrap;font-family:inherit">'
        f"{html.escape(page.body)}</pre>\n</body></html>\n"
    )


def chat_payload(page: RenderedPage, address: str) -> dict[str, Any]:
    """A Slack-compatible incoming-webhook body: header, the page, and buttons whose values
    are the signed action tokens (intake verifies Slack's signature, then the token)."""
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": clip(page.subject, CHAT_HEADER_MAX)},
        },
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": clip(_mrkdwn(page.body), CHAT_SECTION_MAX)},
        },
    ]
    elements: list[dict[str, Any]] = []
    for action, label, token in (
        ("ack", "Acknowledge", page.links.ack_token),
        ("resolve", "Resolve", page.links.resolve_token),
    ):
        if token:
            elements.append(
                {
                    "type": "button",
                    "action_id": action,
                    "text": {"type": "plain_text", "text": label},
                    "value": token,
                    **({"style": "primary"} if action == "ack" else {}),
                }
            )
    if page.case_url:
        elements.append(
            {
                "type": "button",
                "action_id": "open",
                "text": {"type": "plain_text", "text": "Open case"},
                "url": page.case_url,
            }
        )
    if elements:
        blocks.append(
            {"type": "actions", "block_id": f"custody:{page.page_id}"[:255], "elements": elements}
        )
    return {"channel": address, "text": page.subject, "blocks": blocks}


def webhook_payload(page: RenderedPage, now: datetime) -> dict[str, Any]:
    """PagerDuty-v3-like envelope: `event.id` is the page id, the receiver's dedup key."""
    return {
        "event": {
            "id": page.page_id,
            "event_type": f"custody.{page.kind}",
            "occurred_at": now.isoformat(),
            "data": {
                "escalation_id": page.escalation_id,
                "recipient": page.recipient,
                "level": page.level,
                "attempt": page.attempt,
                "severity": page.severity,
                "title": page.title,
                "subject": page.subject,
                "body": page.body,
                "ack_code": page.ack_code,
                "case_url": page.case_url,
                "ack_url": page.links.ack_url,
                "resolve_url": page.links.resolve_url,
            },
        }
    }


def _mrkdwn(text: str) -> str:
    """Slack reads &, < and > as markup: escape exactly those three."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
