"""What a batch says: the daily digest (GREENs and pending follow-up notes) and the morning
batch (YELLOWs deferred during the recipient's quiet hours), and the KV document that
collects a batch's items until it goes out.

A batch document is `open` while items join it, then `sending` (the send claim, taken by
compare-and-set, so one replica sends), then `sent` or `in_doubt`. An item that arrives once
the batch has left joins the next day's batch instead.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from custody_notifier.domain.render import (
    SUBJECT_MAX,
    RenderedPage,
    ack_code,
    case_url,
    local_time,
)
from custody_notifier.domain.schedule import BatchKind
from custody_notifier.domain.text import clip, one_line

ItemKind = Literal["green", "followup", "deferred"]
BatchStatus = Literal["open", "sending", "sent", "in_doubt", "failed"]
MAX_ITEMS = 200  # a batch document stays small; beyond this the digest says "and N more"
ITEM_LINE_MAX = 160


@dataclass(frozen=True)
class BatchItem:
    escalation_id: str
    kind: ItemKind
    title: str
    severity: str
    at: str  # ISO instant the item happened
    note: str = ""


@dataclass(frozen=True)
class BatchDoc:
    status: BatchStatus = "open"
    items: tuple[BatchItem, ...] = ()
    dropped: int = 0
    claimed_at: str = ""
    detail: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def with_item(self, item: BatchItem) -> BatchDoc | None:
        """The document with `item` added; None when it is already there (a redelivery)."""
        if any(i.escalation_id == item.escalation_id and i.kind == item.kind for i in self.items):
            return None
        if len(self.items) >= MAX_ITEMS:
            return BatchDoc(self.status, self.items, self.dropped + 1, self.claimed_at, self.detail)
        return BatchDoc(
            self.status, (*self.items, item), self.dropped, self.claimed_at, self.detail
        )

    def to_json(self) -> bytes:
        data = asdict(self)
        data["items"] = [asdict(i) for i in self.items]
        return json.dumps(data, sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes | None) -> BatchDoc:
        data = json.loads(raw or b"{}")
        items = tuple(BatchItem(**item) for item in data.get("items", ()))
        return cls(
            status=data.get("status", "open"),
            items=items,
            dropped=int(data.get("dropped", 0)),
            claimed_at=str(data.get("claimed_at", "")),
            detail=str(data.get("detail", "")),
        )


def render_batch(
    kind: BatchKind,
    *,
    day: date,
    recipient: str,
    name: str,
    timezone: str,
    channel: str,
    doc: BatchDoc,
    case_url_base: str,
) -> RenderedPage:
    head, lines = _content(kind, day, one_line(name) or recipient, timezone, doc, case_url_base)
    if doc.dropped:
        lines.append(f"...and {doc.dropped} more: see your inbox.")
    subject = clip(head, SUBJECT_MAX)
    return RenderedPage(
        page_id=f"{kind}:{recipient}:{day.isoformat()}",
        escalation_id="",
        recipient=recipient,
        channel=channel,
        level=0,
        attempt=0,
        subject=subject,
        body="\n".join([subject, "", *lines]).rstrip() + "\n",
        ack_code="",
        case_url="",
        kind=kind,
    )


def _content(
    kind: BatchKind, day: date, who: str, timezone: str, doc: BatchDoc, base: str
) -> tuple[str, list[str]]:
    """The subject head and the body lines of one batch."""
    of = {k: [i for i in doc.items if i.kind == k] for k in ("green", "followup", "deferred")}
    if kind == "digest":
        head = f"[CUSTODY:DIGEST] {day.isoformat()} · {len(of['green'])} informational"
        head += f", {len(of['followup'])} follow-up" if of["followup"] else ""
        lines = [f"Daily digest for {who}, {day.isoformat()} ({timezone})", ""]
        lines += _section("Informational (GREEN):", of["green"], base, timezone, False)
        lines += _section(
            "Follow-ups (acknowledged, still unresolved):", of["followup"], base, timezone, False
        )
        return head, lines
    head = f"[CUSTODY:MORNING] {day.isoformat()} · {len(of['deferred'])} deferred overnight"
    lines = [f"Morning batch for {who}, {day.isoformat()} ({timezone})", ""]
    lines += _section("Deferred during your quiet hours:", of["deferred"], base, timezone, True)
    return head, lines


def _section(
    title: str, items: Sequence[BatchItem], base: str, timezone: str, with_ack: bool
) -> list[str]:
    if not items:
        return []
    out = [title]
    for item in items:
        when = _hhmm(item.at, timezone)
        text = f"  - [{item.severity.upper() or '?'}] {one_line(item.title) or item.escalation_id}"
        text += f" ({when})" if when else ""
        out.append(clip(text, ITEM_LINE_MAX))
        if item.note:
            out.append("    " + clip(one_line(item.note), ITEM_LINE_MAX))
        ack = f'   Ack: reply "ack {ack_code(item.escalation_id)}"' if with_ack else ""
        out.append(f"    {case_url(base, item.escalation_id)}{ack}")
    out.append("")
    return out


def _hhmm(iso: str, timezone: str) -> str:
    """The local date and time of the item on the recipient's wall clock."""
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return ""
    if moment.tzinfo is None:
        return ""
    local, _ = local_time(moment, timezone)
    return f"{local:%Y-%m-%d %H:%M}"
