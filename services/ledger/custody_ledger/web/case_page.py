"""HTML for one escalation: proof packet first, then routing, then the full timeline, then the
actions. Input is the `custody show --json` document (domain/documents.show)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from custody_ledger.web.render import e
from custody_ledger.web.wording import age, custody_phrase, severity_class


def _facts(pairs: Sequence[tuple[str, str]]) -> str:
    """A definition list; values are already HTML."""
    return (
        '<dl class="facts">' + "".join(f"<dt>{e(k)}</dt><dd>{v}</dd>" for k, v in pairs) + "</dl>"
    )


def _reversible(value: object) -> str:
    if value is True:
        return '<span class="reversible">reversible</span>'
    if value is False:
        return '<span class="irreversible">irreversible</span>'
    return '<span class="muted">not stated</span>'


def _evidence(items: Sequence[Any]) -> str:
    out = []
    for item in items:
        if not isinstance(item, dict):
            out.append(f"<li>{e(item)}</li>")
            continue
        label, url = e(item.get("label") or item.get("url") or "evidence"), item.get("url")
        # Only http(s) links become anchors: an agent's `javascript:` URL stays inert text.
        link = f'<a href="{e(url)}" rel="noreferrer">{label}</a>' if _safe(url) else label
        excerpt = f' <span class="muted">{e(item["excerpt"])}</span>' if item.get("excerpt") else ""
        out.append(f"<li>{link}{excerpt}</li>")
    return f"<ul>{''.join(out)}</ul>" if out else '<span class="muted">none attached</span>'


def _safe(url: object) -> bool:
    return isinstance(url, str) and url.startswith(("https://", "http://"))


def proof(doc: Mapping[str, Any]) -> str:
    p = doc.get("proof") or {}
    thresholds = ", ".join(str(t).replace("_", " ") for t in p.get("thresholds") or ()) or "none"
    runbook = p.get("runbook_url")
    rows = [
        ("Signal", e(p.get("signal") or "—")),
        ("Evidence", _evidence(p.get("evidence") or ())),
        ("Diagnosis", e(p.get("diagnosis") or "—")),
        ("Thresholds fired", e(thresholds)),
        ("Reasoning", e(p.get("reasoning") or "—")),
        ("Proposed action", e(p.get("proposed_action") or "—")),
        ("Reversible", _reversible(p.get("reversible"))),
        ("What the agent did", e(p.get("agent_action") or "—")),
    ]
    if _safe(runbook):
        rows.append(("Runbook", f'<a href="{e(runbook)}" rel="noreferrer">{e(runbook)}</a>'))
    return (
        '<section class="panel" id="proof" aria-labelledby="proof-h">'
        f'<h2 id="proof-h">Proof packet</h2>{_facts(rows)}</section>'
    )


def routing(doc: Mapping[str, Any]) -> str:
    r = doc.get("routing") or {}
    tried = "".join(
        f"<li>{e(t.get('at'))}: {e(t.get('recipient'))} by {e(t.get('channel'))}"
        f" (level {e(t.get('level'))}) → {e(str(t.get('outcome')).replace('_', ' '))}</li>"
        for t in r.get("tried") or ()
    )
    rows = [
        ("Explanation", e(r.get("explanation") or "—")),
        ("Rule", e(r.get("rule") or "—")),
        ("Team", e(r.get("team") or "—")),
        ("Policy version", e(r.get("policy_version") or "—")),
        (
            "Already tried",
            f"<ul>{tried}</ul>" if tried else '<span class="muted">nobody yet</span>',
        ),
    ]
    return (
        '<section class="panel" id="routing" aria-labelledby="routing-h">'
        f'<h2 id="routing-h">Routing</h2>{_facts(rows)}</section>'
    )


def _detail(detail: Mapping[str, Any]) -> str:
    return " · ".join(f"{k}: {v}" for k, v in detail.items() if v not in (None, ""))


def timeline(doc: Mapping[str, Any]) -> str:
    rows = "".join(
        f'<tr><td class="when"><time datetime="{e(t["at"])}">{e(str(t["at"])[11:19])}</time></td>'
        f"<td>{e(str(t['kind']).replace('_', ' '))}</td><td>{e(t.get('actor'))}</td>"
        f'<td class="detail">{e(_detail(t.get("detail") or {}))}</td></tr>'
        for t in doc.get("timeline") or ()
    )
    return (
        '<section class="panel" id="timeline" aria-labelledby="timeline-h">'
        '<h2 id="timeline-h">Timeline (UTC)</h2><table class="timeline">'
        "<thead><tr><th>When</th><th>What</th><th>Who</th><th>Detail</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></section>"
    )


def headline(doc: Mapping[str, Any], now: datetime) -> str:
    sev = doc.get("severity")
    opened = doc.get("opened_at")
    when = datetime.fromisoformat(opened) if isinstance(opened, str) else None
    phrase = custody_phrase(str(doc.get("state")), doc.get("custodian"), doc.get("timeline") or ())
    return (
        '<section class="panel" aria-labelledby="title-h"><div class="headline">'
        f'<span class="badge {severity_class(sev)}">{e(sev or "none")}</span>'
        f'<h1 id="title-h">{e(doc.get("title") or doc["escalation_id"])}</h1></div>'
        f'<p><span class="state" id="custody-state">{e(phrase)}</span>'
        f" · custodian {e(doc.get('custodian') or 'none')} · raised by {e(doc.get('raised_by'))}"
        f" · opened {e(age(when, now))} ago · {e(doc['escalation_id'])}</p></section>"
    )


def fragment(doc: Mapping[str, Any], now: datetime) -> str:
    """The live part of the page: everything but the action forms."""
    return headline(doc, now) + proof(doc) + routing(doc) + timeline(doc)
