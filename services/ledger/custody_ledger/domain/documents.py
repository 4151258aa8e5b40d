"""The JSON documents of the read side: `custody show`, `inbox`, `trace` and list items."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from custody_ledger.domain.projection import Escalation
from custody_ledger.domain.services import CUSTODY_CHANGES, PAGE_OUTCOMES, Hop, hops

_TERMINAL = frozenset({"resolved"})


@dataclass(frozen=True)
class TimelineFact:
    seq: int
    kind: str
    at: datetime
    actor: str
    payload: dict[str, Any]


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def summary(view: Escalation) -> dict[str, Any]:
    """One row of `custody inbox --json` and of the escalation list."""
    return {
        "escalation_id": view.escalation_id,
        "title": view.title,
        "severity": view.severity,
        "state": view.state,
        "custodian": view.custodian,
        "raised_by": view.raised_by,
        "opened_at": _iso(view.opened_at),
        "updated_at": _iso(view.updated_at),
    }


def in_inbox(view: Escalation, person: str) -> bool:
    """The person holds it or is being offered it, and it is not finished."""
    return view.custodian == person and view.state not in _TERMINAL


def _words(threshold: str) -> str:
    return threshold.replace("_", " ").replace("slo", "SLO")


def reasoning(proof: dict[str, Any]) -> str:
    """Which thresholds fired, plus the agent's own sentence when it gave one."""
    thresholds = [str(t) for t in proof.get("thresholds") or ()]
    parts = []
    if thresholds:
        parts.append("Thresholds fired: " + ", ".join(_words(t) for t in thresholds) + ".")
    sentence = proof.get("reasoning")
    if isinstance(sentence, str) and sentence.strip():
        parts.append(sentence.strip())
    return " ".join(parts)


def proof_document(proof: dict[str, Any] | None) -> dict[str, Any]:
    p = proof or {}
    return {
        "signal": p.get("signal", ""),
        "diagnosis": p.get("diagnosis", ""),
        "reasoning": reasoning(p),
        "proposed_action": p.get("proposed_action", ""),
        "reversible": p.get("reversible"),
        "agent_action": p.get("agent_action", ""),
        "thresholds": list(p.get("thresholds") or ()),
        "evidence": list(p.get("evidence") or ()),
        "runbook_url": p.get("runbook_url"),
    }


def routing_document(view: Escalation, facts: Sequence[TimelineFact]) -> dict[str, Any]:
    explanation = view.explanation or {}
    summary_text = explanation.get("summary") or ""
    if not summary_text and view.rule:
        summary_text = f"rule {view.rule} matched; team {view.team or '?'}"
    tried = [
        {
            "at": f.at.isoformat(),
            "recipient": f.payload.get("recipient"),
            "channel": f.payload.get("channel"),
            "level": f.payload.get("level"),
            "attempt": f.payload.get("attempt"),
            "outcome": f.kind,
        }
        for f in sorted(facts, key=lambda f: (f.at, f.seq))
        if f.kind in PAGE_OUTCOMES
    ]
    return {
        "policy_version": view.policy_version,
        "rule": view.rule,
        "explanation": summary_text,
        "team": view.team,
        "severity_class": explanation.get("severity_class"),
        "schedule": explanation.get("schedule", {}),
        "skipped": list(explanation.get("skipped") or ()),
        "tried": tried,
    }


def _pick(payload: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: payload[k] for k in keys if payload.get(k) not in (None, "", [], ())}


def detail(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    """What a timeline entry says beyond its kind; page entries name recipient, channel, level."""
    if kind == "page_requested" or kind in PAGE_OUTCOMES:
        return {
            "recipient": payload.get("recipient"),
            "channel": payload.get("channel"),
            "level": payload.get("level"),
            **_pick(payload, "attempt", "page_id", "detail"),
        }
    if kind in CUSTODY_CHANGES:
        return _pick(payload, "state", "custodian", "level", "reason", "note", "offered_to")
    if kind == "raised":
        event = payload.get("event") or {}
        return _pick(event, "source", "dedup_key", "severity", "service", "customer_impact")
    if kind == "routed":
        explanation = payload.get("explanation") or {}
        return {
            **_pick(payload, "team"),
            **_pick(explanation, "rule", "policy_version", "summary"),
        }
    if kind == "command":
        return _pick(payload, "action", "to", "note", "reason", "via", "command_id")
    if kind == "command_outcome":
        return _pick(payload, "action", "accepted", "error_code", "message", "state", "custodian")
    if kind == "seen_again":
        return _pick(payload, "source", "dedup_key")
    if kind == "review":
        return _pick(
            payload, "threshold_right", "threshold_note", "if_earlier", "gap", "gap_detail"
        )
    if kind in ("rejected", "dead_lettered", "undecodable"):
        return _pick(payload, "error_code", "field", "message", "reason", "error", "subject")
    return {}


def timeline(facts: Sequence[TimelineFact]) -> list[dict[str, Any]]:
    return [
        {
            "at": f.at.isoformat(),
            "kind": f.kind,
            "actor": f.actor,
            "detail": detail(f.kind, f.payload),
        }
        for f in sorted(facts, key=lambda f: (f.at, f.seq))
    ]


def show(view: Escalation, facts: Sequence[TimelineFact]) -> dict[str, Any]:
    """`custody show --json`: the escalation, its proof packet, routing and timeline."""
    return {
        **summary(view),
        "team": view.team,
        "level": view.level,
        "proof": proof_document(view.proof),
        "routing": routing_document(view, facts),
        "timeline": timeline(facts),
        "trace_id": view.trace_id,
    }


def trace(view: Escalation, facts: Sequence[TimelineFact]) -> dict[str, Any]:
    """`custody trace --json`: every recorded hop with the latency since the one before."""
    ordered = sorted(facts, key=lambda f: (f.at, f.seq))
    return {
        "escalation_id": view.escalation_id,
        "trace_id": view.trace_id,
        "hops": hops([Hop(f.kind, f.at) for f in ordered]),
    }
