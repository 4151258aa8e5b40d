"""Render one `PageRequested` into the text a channel delivers (DESIGN.md § Page format).

SMS-class pages are six fixed lines whose first line is the subject:

    [CUSTODY:RED] checkout-api auth-chain-break (prod)
    Incident: esc-7f3a · detected 03:14 Europe/Stockholm
    Diagnosis: JWT signing key rotated; all sessions rejected
    Agent action: stopped (RED requires a human)
    Suggested: roll back key rotation, redeploy
    Case: https://…/e/esc-7f3a   Ack: reply "ack 7f3a"

Clipping shortens field values, never the structure. Email, chat and webhook pages carry the
whole proof packet, the routing summary and the signed ack and resolve links (signed by the
handler and passed in as `PageLinks`, so this stays pure). The recipient's zone comes in as a
name. Channel-specific shapes (email HTML, chat blocks, webhook JSON) are in formats.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from custody.contracts import PageRequested, ProofPacket, Threshold
from custody_notifier.domain.text import clean_block, clip, one_line

SUBJECT_MAX = 80
SMS_LINES = 6
SMS_FIELD_LINE_MAX = 100  # each free-text line of an SMS page, label included
ESCALATION_ID_MAX = 40
ACK_CODE_LENGTH = 4
SMS_CLASS_CHANNELS = frozenset({"sms"})

_THRESHOLD_TEXT = {
    Threshold.CUSTOMER_IMPACT: "customer impact",
    Threshold.OUTSIDE_RUNBOOK: "step outside the runbook",
    Threshold.CROSS_TEAM_DEPENDENCY: "cross-team dependency",
    Threshold.SLO_AT_RISK: "time-to-mitigate threatens the SLO",
}


@dataclass(frozen=True)
class PageLinks:
    """The signed action links of one page and its email reply address ("" when absent)."""

    ack_url: str = ""
    resolve_url: str = ""
    ack_token: str = ""
    resolve_token: str = ""
    reply_to: str = ""


@dataclass(frozen=True)
class RenderedPage:
    """What a channel adapter delivers, plus the identity of the page it belongs to."""

    page_id: str
    escalation_id: str
    recipient: str
    channel: str
    level: int
    attempt: int
    subject: str
    body: str
    ack_code: str
    case_url: str
    severity: str = ""
    title: str = ""
    links: PageLinks = PageLinks()
    kind: str = "page"  # page | bundle | notice | digest | morning


def render(
    page: PageRequested,
    *,
    timezone: str,
    case_url_base: str,
    links: PageLinks | None = None,
) -> RenderedPage:
    """`timezone` is the recipient's IANA zone: the detected time is shown in it."""
    ack = ack_code(page.escalation_id)
    url = case_url(case_url_base, page.escalation_id)
    subject = render_subject(page)
    signed = links or PageLinks()
    if page.channel in SMS_CLASS_CHANNELS:
        body = _sms_body(page, subject, timezone, url, ack)
    else:
        body = _full_body(page, subject, timezone, url, ack, signed)
    return RenderedPage(
        page_id=page.page_id,
        escalation_id=page.escalation_id,
        recipient=page.recipient,
        channel=page.channel,
        level=page.level,
        attempt=page.attempt,
        subject=subject,
        body=body,
        ack_code=ack,
        case_url=url,
        severity=page.severity.value,
        title=one_line(page.title) or "(untitled)",
        links=signed,
    )


def render_subject(page: PageRequested) -> str:
    prefix = f"[CUSTODY:{page.severity.value.upper()}] "
    title = one_line(page.title) or "(untitled)"
    return prefix + clip(title, SUBJECT_MAX - len(prefix))


def ack_code(escalation_id: str) -> str:
    """A short reply code: the last characters of the id's last segment ("esc-7f3a" → "7f3a").
    Not unique on its own; intake resolves it among the replying person's open offers."""
    tail = escalation_id.rsplit("-", 1)[-1]
    code = "".join(c for c in tail.lower() if c.isascii() and c.isalnum())
    if not code:
        code = "".join(c for c in escalation_id.lower() if c.isascii() and c.isalnum())
    return code[-ACK_CODE_LENGTH:] or "0"


def case_url(base: str, escalation_id: str) -> str:
    return f"{base.rstrip('/')}/e/{quote(escalation_id, safe='')}"


def local_time(moment: datetime, timezone: str) -> tuple[datetime, str]:
    """`moment` in the recipient's zone, and the zone's name (UTC if the name is unknown)."""
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return moment.astimezone(UTC), "UTC"
    return moment.astimezone(zone), timezone


def _field(label: str, value: str, fallback: str) -> str:
    text = one_line(value) or fallback
    return label + clip(text, SMS_FIELD_LINE_MAX - len(label))


def _sms_body(page: PageRequested, subject: str, timezone: str, url: str, ack: str) -> str:
    local, zone = local_time(page.detected_at, timezone)
    escalation = clip(one_line(page.escalation_id), ESCALATION_ID_MAX)
    proof = page.proof
    lines = [
        subject,
        f"Incident: {escalation} · detected {local:%H:%M} {zone}",
        _field("Diagnosis: ", proof.diagnosis or proof.signal, "not given"),
        _field("Agent action: ", proof.agent_action, "none reported"),
        _field("Suggested: ", proof.proposed_action, "none proposed"),
        f'Case: {url}   Ack: reply "ack {ack}"',
    ]
    assert len(lines) == SMS_LINES
    return "\n".join(lines)


def _full_body(
    page: PageRequested, subject: str, timezone: str, url: str, ack: str, links: PageLinks
) -> str:
    local, zone = local_time(page.detected_at, timezone)
    utc = page.detected_at.astimezone(UTC)
    head = [
        subject,
        "",
        f"Escalation: {one_line(page.escalation_id)} ({page.severity.value.upper()})",
        f"Detected: {local:%Y-%m-%d %H:%M} {zone} ({utc:%Y-%m-%d %H:%M} UTC)",
        f"Raised by: {one_line(page.raised_by) or 'unknown'}",
        f"Paged: {one_line(page.recipient)} via {page.channel}"
        f" · level {page.level} · attempt {page.attempt}",
        "",
    ]
    routing = clean_block(page.routing_summary) or "not given"
    tail = [
        "",
        f"Routing: {routing}",
        f"Policy version: {one_line(page.policy_version) or 'unknown'}",
        "",
        f"Case: {url}",
        f'Ack: reply "ack {ack}", or open the case to acknowledge or resolve.',
    ]
    if links.ack_url:
        tail.append(f"Acknowledge: {links.ack_url}")
    if links.resolve_url:
        tail.append(f"Resolve: {links.resolve_url}")
    return "\n".join([*head, *_proof_lines(page.proof), *tail])


def _proof_lines(proof: ProofPacket) -> list[str]:
    lines = [f"Signal: {clean_block(proof.signal) or 'not given'}"]
    if proof.evidence:
        lines.append("Evidence:")
        for item in proof.evidence:
            link = f" <{one_line(item.url)}>" if item.url else ""
            lines.append(f"  - {one_line(item.label)}{link}")
            if item.excerpt:
                lines.extend(f"    {line}" for line in clean_block(item.excerpt).splitlines())
    else:
        lines.append("Evidence: none attached")
    thresholds = ", ".join(_THRESHOLD_TEXT[t] for t in proof.thresholds) or "not given"
    reversible = {True: "yes", False: "NO", None: "unknown"}[proof.reversible]
    lines += [
        f"Diagnosis: {clean_block(proof.diagnosis) or 'not given'}",
        f"Why a human: {thresholds}",
        f"Proposed action: {clean_block(proof.proposed_action) or 'none proposed'}",
        f"Reversible: {reversible}",
        f"Agent action: {clean_block(proof.agent_action) or 'none reported'}",
        f"Runbook: {one_line(proof.runbook_url or '') or 'none'}",
    ]
    return lines
