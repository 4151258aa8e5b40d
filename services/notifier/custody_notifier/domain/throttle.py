"""At most one SMS per number per window (60 s by default); the rest wait and go out bundled.

The window is a KV record per number, taken by compare-and-set, so replicas share it. A page
that finds the window closed joins the number's bundle and waits; whichever page takes the
window next sends itself plus up to `MAX_BUNDLE - 1` waiting pages as one SMS, still six
lines at most, each with its own ack code. Pages beyond that wait for the next window.

Each bundled page is still its own unit of invariant 5: it is claimed before the SMS goes out.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

from custody_notifier.domain.render import ESCALATION_ID_MAX, SMS_LINES, SUBJECT_MAX, RenderedPage
from custody_notifier.domain.text import clip, one_line

MAX_BUNDLE = 4  # subject + 4 pages + footer = the 6 lines of an SMS page
BUNDLE_LINE_MAX = 100
_RANK = {"red": 0, "yellow": 1, "green": 2}


@dataclass(frozen=True)
class Waiting:
    """A page waiting in a number's bundle: enough to claim it, fence it and announce it."""

    claim_key: str
    page_id: str
    escalation_id: str
    recipient: str
    channel: str
    level: int
    attempt: int
    epoch: int
    severity: str
    title: str
    ack_code: str
    traceparent: str | None = None


def window_wait(last_sent_at: datetime | None, now: datetime, window_s: float) -> float:
    """Seconds until the number's window opens again (0: open now)."""
    if last_sent_at is None or window_s <= 0:
        return 0.0
    return max(0.0, window_s - (now - last_sent_at).total_seconds())


def encode_waiting(items: Sequence[Waiting]) -> bytes:
    return json.dumps([asdict(i) for i in items], sort_keys=True).encode()


def decode_waiting(raw: bytes | None) -> list[Waiting]:
    try:
        return [Waiting(**item) for item in json.loads(raw or b"[]")]
    except (ValueError, TypeError):
        return []  # unreadable: the pages themselves are still in the stream and retry


def join(items: Sequence[Waiting], item: Waiting) -> list[Waiting] | None:
    """The bundle with `item` in it; None when it is already waiting there."""
    if any(i.claim_key == item.claim_key for i in items):
        return None
    return [*items, item]


def pick(items: Sequence[Waiting], sender_key: str) -> list[Waiting]:
    """Who rides along with the sender: the most severe first, then the oldest."""
    others = [i for i in items if i.claim_key != sender_key]
    ranked = sorted(enumerate(others), key=lambda p: (_RANK.get(p[1].severity, 3), p[0]))
    return [i for _, i in ranked][: MAX_BUNDLE - 1]


def bundle_page(first: RenderedPage, riders: Sequence[Waiting], inbox_url: str) -> RenderedPage:
    """One SMS for the sender's page and its riders: the subject counts them, each page gets
    a line with its ack code, and the footer says how to ack."""
    rows = [(first.severity, first.title, first.escalation_id, first.ack_code)]
    rows += [(w.severity, w.title, w.escalation_id, w.ack_code) for w in riders]
    worst = min((r[0] for r in rows), key=lambda s: _RANK.get(s, 3))
    subject = clip(f"[CUSTODY:{worst.upper()}] {len(rows)} pages: {first.title}", SUBJECT_MAX)
    lines = [subject]
    for severity, title, escalation_id, code in rows:
        tail = f" · ack {code}"
        head = f"{severity.upper()} {clip(one_line(escalation_id), ESCALATION_ID_MAX)} "
        lines.append(head + clip(one_line(title), BUNDLE_LINE_MAX - len(head) - len(tail)) + tail)
    lines.append(f'Inbox: {inbox_url}   Ack: reply "ack <code>"')
    assert len(lines) <= SMS_LINES
    return RenderedPage(
        page_id=first.page_id,
        escalation_id=first.escalation_id,
        recipient=first.recipient,
        channel=first.channel,
        level=first.level,
        attempt=first.attempt,
        subject=subject,
        body="\n".join(lines),
        ack_code=first.ack_code,
        case_url=first.case_url,
        severity=worst,
        title=first.title,
        links=first.links,
        kind="bundle",
    )
