"""What the page says about an escalation in words: its age, and who has it in which state.

Pure functions of the read-side documents and `now`, so they are table-tested without I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

SEVERITIES = ("red", "yellow", "green")


def age(opened_at: datetime | None, now: datetime) -> str:
    """`45s`, `12m`, `3h 05m`, `2d 4h`: short enough for a phone row."""
    if opened_at is None:
        return "?"
    seconds = max(0, int((now - opened_at).total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if hours < 1:
        return f"{minutes}m"
    if days < 1:
        return f"{hours}h {minutes % 60:02d}m"
    return f"{days}d {hours % 24}h"


def last_actor(timeline: Sequence[Mapping[str, Any]], kind: str) -> str | None:
    """Who made the latest timeline entry of `kind` (e.g. who resolved it)."""
    actors = [str(t["actor"]) for t in timeline if t.get("kind") == kind and t.get("actor")]
    return actors[-1] if actors else None


def custody_phrase(
    state: str, custodian: str | None, timeline: Sequence[Mapping[str, Any]] = ()
) -> str:
    """One line saying where custody stands: `offered to bob`, `resolved by bob`."""
    who = custodian or "nobody"
    if state == "resolved":
        return f"resolved by {last_actor(timeline, 'resolved') or who}"
    phrases = {
        "open": "open: being routed",
        "offered": f"offered to {who}",
        "accepted": f"held by {who}",
        "deferred": f"deferred (next: {who})",
        "digest": "in the digest",
        "muted": f"muted (fallback: {who})",
    }
    return phrases.get(state, f"{state} ({who})")


def severity_class(severity: str | None) -> str:
    """The CSS class of a severity badge; unknown severities get a neutral one."""
    return f"sev-{severity}" if severity in SEVERITIES else "sev-none"


def refusal_text(status: int, body: Mapping[str, Any]) -> str:
    """One clear sentence for an action intake or the escalator refused."""
    code = str(body.get("error_code") or "")
    message = str(body.get("message") or "").strip()
    if code == "not_custodian" or status == 403:
        lead = "Refused: you are not the custodian of this escalation"
    elif status == 404:
        lead = "Refused: no such escalation"
    elif status in (401,):
        lead = "Refused: your sign-in is no longer valid; sign in again"
    elif status >= 500:
        lead = "Intake is unavailable; nothing was done, try again shortly"
    else:
        lead = "Refused"
    return f"{lead}. {message}" if message and message not in lead else f"{lead}."
