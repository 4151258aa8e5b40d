"""The custody state machine: `(state, event, now) -> (new state, decisions)`, with no I/O."""

from __future__ import annotations

from datetime import datetime, timedelta

from custody.contracts import RoutingDecided
from custody_escalator.domain.commands import on_command
from custody_escalator.domain.decisions import ArmTimer, Decision, Page, Record
from custody_escalator.domain.offers import Step, advance, bump, offer, with_person
from custody_escalator.domain.state import (
    DEFER_TIMER,
    FOLLOWUP_TIMER,
    LEVEL_TIMER,
    PROMOTE_TIMER,
    SLA_TIMER,
    Escalation,
    Timings,
)

DIGEST_CHANNEL = "digest"
NOT_FENCED = -1  # the SLA timer spans offers; its guard is the state, not the epoch

__all__ = ["NOT_FENCED", "Step", "on_command", "on_timer", "open_escalation"]


def open_escalation(
    routed: RoutingDecided, admins: tuple[str, ...], timings: Timings, now: datetime
) -> Step:
    """A routed incident is offered to level 1, deferred (quiet hours) or digested (GREEN)."""
    esc = Escalation(
        escalation_id=routed.escalation_id,
        state="open",
        title=routed.title,
        severity=routed.severity,
        customer_impact=routed.customer_impact,
        raised_by=routed.raised_by,
        detected_at=routed.occurred_at,
        proof=routed.proof,
        team=routed.team,
        policy_version=routed.explanation.policy_version,
        routing_summary=routed.explanation.summary,
        levels=routed.levels,
        repeat=routed.repeat,
        last_resort=routed.last_resort,
        admins=admins,
        timings=timings,
        substitute=routed.substitute,
        manager=routed.manager,
        meta_of=routed.meta_of,
        traceparent=routed.traceparent,
    )
    if all(channel == DIGEST_CHANNEL for channel in esc.levels[0].channels):
        digested = bump(esc, state="digest", reason="GREEN: daily digest, never pages")
        return digested, [Record("deferred", "system", reason=digested.reason)]
    if routed.deferred_until is not None and routed.deferred_until > now:
        reason = routed.defer_reason or "deferred"
        deferred = bump(esc, state="deferred", deferred_until=routed.deferred_until, reason=reason)
        return deferred, [
            Record("deferred", "system", reason=f"{reason} until {routed.deferred_until}"),
            ArmTimer(DEFER_TIMER, routed.deferred_until),
        ]
    return _first_offer(esc, now)


def _first_offer(esc: Escalation, now: datetime) -> Step:
    after, decisions = offer(
        esc, 0, 0, esc.levels[0].recipients[0], now, actor="system", reason="routed"
    )
    if esc.timings.acceptance_sla_s is not None and after.state == "offered":
        due = now + timedelta(seconds=esc.timings.acceptance_sla_s)
        decisions.append(ArmTimer(SLA_TIMER, due))
    return after, decisions


def on_timer(esc: Escalation, timer: str, epoch: int, now: datetime) -> Step:
    """A due timer acts only if it is still current; a stale one changes nothing."""
    if timer == SLA_TIMER:
        return _sla_breached(esc, now)
    if timer == DEFER_TIMER:
        return _first_offer(esc, now) if esc.state == "deferred" else (esc, [])
    if epoch != esc.epoch:
        return esc, []
    if timer == LEVEL_TIMER and esc.state == "offered":
        wait = esc.level.wait_s
        timed_out = bump(esc)
        why = f"{esc.custodian} did not accept within {wait:g}s"
        after, more = advance(timed_out, now, actor="system", reason="acceptance wait elapsed")
        return after, [Record("timed_out", "system", reason=why), *more]
    if timer == PROMOTE_TIMER and esc.state == "offered" and esc.custodian:
        level = esc.level
        channels = [c for c in esc.timings.promote_to if c not in level.channels]
        reason = f"unacknowledged: promoted to {', '.join(channels)}"
        pages = [Page(esc.custodian, c, level.number, esc.round + 1) for c in channels]
        return bump(esc), [Record("promoted", "system", reason=reason), *pages]
    if timer == FOLLOWUP_TIMER and esc.state == "accepted":
        return _followup(esc, now)
    return esc, []


def _sla_breached(esc: Escalation, now: datetime) -> Step:
    """Custody goes to the substitute and the manager is told; once per escalation."""
    if esc.state != "offered" or esc.sla_breached:
        return esc, []
    sla = esc.timings.acceptance_sla_s or 0
    breached = bump(esc, sla_breached=True)
    decisions: list[Decision] = [
        Record("sla_breached", "system", reason=f"not accepted within the {sla:g}s acceptance SLA")
    ]
    level = esc.level
    if esc.manager and esc.manager not in (esc.raised_by, esc.custodian):
        breached = breached.model_copy(update={"people": with_person(breached.people, esc.manager)})
        decisions.append(Page(esc.manager, "email", level.number, esc.round + 1))
    sub = esc.substitute
    if sub and sub not in (esc.raised_by, esc.custodian):
        after, more = offer(
            breached,
            esc.level_index,
            esc.round,
            sub,
            now,
            actor="system",
            reason=f"acceptance SLA breached: substitute {sub}",
        )
        return after, [*decisions, *more]
    return breached, decisions


def _followup(esc: Escalation, now: datetime) -> Step:
    """Ack is not fix: a note into the ledger and the digest, never a page; then re-armed."""
    window = esc.timings.followup_after_s or 0
    since = esc.acked_at.isoformat(timespec="minutes") if esc.acked_at else "?"
    reason = f"acknowledged by {esc.custodian} at {since}, still unresolved after {window:g}s"
    decisions: list[Decision] = [Record("followup", "system", reason=reason)]
    if window:
        decisions.append(ArmTimer(FOLLOWUP_TIMER, now + timedelta(seconds=window)))
    return bump(esc), decisions
