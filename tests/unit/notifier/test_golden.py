"""Golden pages: every channel's rendering for every severity, byte for byte.

A change to what responders read at 03:00 must be a reviewed diff of these files. Regenerate
with CUSTODY_UPDATE_GOLDEN=1 and read the diff before committing it."""

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from custody.contracts import Severity
from custody_notifier.domain.formats import chat_payload, email_headers, email_html, webhook_payload
from custody_notifier.domain.render import PageLinks, RenderedPage, render

from .pages import page

GOLDEN = Path(__file__).parent / "golden"
NOW = datetime(2026, 11, 22, 2, 15, tzinfo=UTC)
LINKS = PageLinks(
    ack_url="https://intake.example/a/k2.ACK.sig",
    resolve_url="https://intake.example/a/k2.RES.sig",
    ack_token="k2.ACK.sig",
    resolve_token="k2.RES.sig",
    reply_to="reply+0123456789abcdef0123456789abcdef@reply.custody.example",
)
ADDRESS = {
    "sms": "+46700000002",
    "email": "bob@example.test",
    "chat": "@bob",
    "webhook": "https://hooks.example/bob",
}


def rendered(channel: str, severity: Severity) -> RenderedPage:
    return render(
        page(channel=channel, severity=severity, page_id=f"esc-7f3a.l1.bob.{channel}.a1"),
        timezone="Europe/Stockholm",
        case_url_base="https://custody.example",
        links=None if channel == "sms" else LINKS,
    )


def shape(channel: str, severity: Severity) -> str:
    """Everything the channel puts on the wire for this page, as reviewable text."""
    out = rendered(channel, severity)
    if channel == "sms":
        return f"To: {ADDRESS['sms']}\n\n{out.body}\n"
    if channel == "email":
        headers = "".join(
            f"{k}: {v}\n" for k, v in sorted(email_headers(out, "reply.custody.example").items())
        )
        text = f"--- text/plain\n{out.body}\n--- text/html\n{email_html(out)}"
        return f"Subject: {out.subject}\n{headers}\n{text}"
    if channel == "chat":
        return json.dumps(chat_payload(out, ADDRESS["chat"]), indent=2, ensure_ascii=False) + "\n"
    return json.dumps(webhook_payload(out, NOW), indent=2, ensure_ascii=False) + "\n"


CASES = [(c, s) for c in ("sms", "email", "chat", "webhook") for s in Severity]


@pytest.mark.parametrize(("channel", "severity"), CASES, ids=[f"{c}-{s.value}" for c, s in CASES])
def test_golden_page(channel: str, severity: Severity) -> None:
    path = GOLDEN / f"{channel}-{severity.value}.txt"
    actual = shape(channel, severity)
    if os.environ.get("CUSTODY_UPDATE_GOLDEN") == "1":
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"no golden file {path.name}: run with CUSTODY_UPDATE_GOLDEN=1"
    assert actual == path.read_text(encoding="utf-8")


def test_every_golden_file_is_a_case() -> None:
    expected = {f"{c}-{s.value}.txt" for c, s in CASES}
    assert {p.name for p in GOLDEN.glob("*.txt")} == expected
