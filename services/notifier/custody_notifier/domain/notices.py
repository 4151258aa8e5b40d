"""Cross-channel sync: "acknowledged by bob, 03:16" for the people paged before.

When an escalation is acknowledged or resolved, everyone it was offered to (except whoever
acted) learns it on chat, else email; never by SMS, because a notice that needs no action
must not wake anyone. Pure: the time arrives in UTC with the recipient's zone name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from custody_notifier.domain.render import (
    SUBJECT_MAX,
    RenderedPage,
    ack_code,
    case_url,
    local_time,
)
from custody_notifier.domain.text import clip, one_line

NOTICE_CHANNELS = ("chat", "email")  # in order of preference; never "sms"
_VERBS = {"acknowledged": "acknowledged", "resolved": "resolved"}


def notice_recipients(offered_to: Iterable[str], actor: str) -> list[str]:
    """Who hears about it: the people offered custody before, not the one who acted."""
    return [p for p in dict.fromkeys(offered_to) if p and p != actor]


def notice_channel(contacts: Mapping[str, str | None]) -> str | None:
    return next((c for c in NOTICE_CHANNELS if contacts.get(c)), None)


def notice_key(escalation_id: str, change: str, version: int, recipient: str) -> str:
    """One notice per (escalation, transition, recipient): the send claim's identity."""
    return f"{escalation_id}:{change}:v{version}:{recipient}"


def render_notice(
    *,
    change: str,
    actor: str,
    at: datetime,
    timezone: str,
    escalation_id: str,
    title: str,
    severity: str,
    recipient: str,
    channel: str,
    version: int,
    case_url_base: str,
) -> RenderedPage:
    verb = _VERBS.get(change, change)
    local, zone = local_time(at, timezone)
    who = one_line(actor) or "someone"
    head = f"[CUSTODY:{(severity or 'info').upper()}] {verb} by {who}, {local:%H:%M}"
    subject = clip(f"{head} · {one_line(title) or escalation_id}", SUBJECT_MAX)
    url = case_url(case_url_base, escalation_id)
    body = "\n".join(
        [
            subject,
            f"{verb.capitalize()} by {who} at {local:%H:%M} {zone} ({local:%Y-%m-%d}).",
            f"Escalation: {one_line(escalation_id)}: {one_line(title)}",
            f"Case: {url}",
            "No action needed from you.",
        ]
    )
    page_id = notice_key(escalation_id, change, version, recipient)
    return RenderedPage(
        page_id=page_id,
        escalation_id=escalation_id,
        recipient=recipient,
        channel=channel,
        level=0,
        attempt=0,
        subject=subject,
        body=body,
        ack_code=ack_code(escalation_id),
        case_url=url,
        severity=severity,
        title=one_line(title),
        kind="notice",
    )
