"""Offering custody: the next candidate, the page cap, and muting with fallback custody."""

from __future__ import annotations

from datetime import datetime, timedelta

from custody_escalator.domain.decisions import (
    ArmTimer,
    CancelTimer,
    Decision,
    Page,
    RaiseMeta,
    Record,
)
from custody_escalator.domain.state import (
    DEFER_TIMER,
    FOLLOWUP_TIMER,
    LEVEL_TIMER,
    PROMOTE_TIMER,
    SLA_TIMER,
    Escalation,
)

Step = tuple[Escalation, list[Decision]]
SMS = "sms"


def advance(esc: Escalation, now: datetime, *, actor: str, reason: str) -> Step:
    """The next level, or the next round of the chain, or mute when it is exhausted."""
    index, rnd = esc.level_index + 1, esc.round
    if index >= len(esc.levels):
        if rnd >= esc.repeat:
            return mute(
                esc,
                f"chain exhausted after {rnd + 1} round(s); custody falls to the owner of "
                f"last resort {esc.last_resort}",
                now,
            )
        index, rnd = 0, rnd + 1
    recipient = esc.levels[index].recipients[0]
    return offer(esc, index, rnd, recipient, now, actor=actor, reason=reason)


def offer(
    esc: Escalation, index: int, rnd: int, recipient: str, now: datetime, *, actor: str, reason: str
) -> Step:
    """Exactly one open offer: the new epoch fences every timer of the previous offer."""
    cap = esc.timings.page_cap
    if esc.offers_since(now - timedelta(seconds=esc.timings.cap_window_s)) >= cap:
        return mute(esc, f"page cap reached: {cap} pages within 24 h", now, cap_hit=True)
    level = esc.levels[index]
    offered = bump(
        esc,
        state="offered",
        level_index=index,
        round=rnd,
        custodian=recipient,
        epoch=esc.epoch + 1,
        people=with_person(esc.people, recipient),
        offers=(*esc.offers, now),
        reason=reason,
        deferred_until=None,
    )
    decisions: list[Decision] = [Record("offered", actor, reason=reason)]
    decisions += [Page(recipient, channel, level.number, rnd + 1) for channel in level.channels]
    decisions.append(ArmTimer(LEVEL_TIMER, now + timedelta(seconds=level.wait_s)))
    promote = esc.timings.promote_after_s
    if promote is not None and not set(esc.timings.promote_to) <= set(level.channels):
        decisions.append(ArmTimer(PROMOTE_TIMER, now + timedelta(seconds=promote)))
    return offered, decisions


def mute(esc: Escalation, reason: str, now: datetime, *, cap_hit: bool = False) -> Step:
    """Paging stops; custody falls to the owner of last resort, with the reason recorded.
    Hitting the cap raises one RED meta-incident, unless this already is one."""
    muted = bump(
        esc,
        state="muted",
        custodian=esc.last_resort,
        epoch=esc.epoch + 1,
        people=with_person(esc.people, esc.last_resort),
        reason=reason,
        cap_hit=esc.cap_hit or cap_hit,
    )
    decisions: list[Decision] = [Record("muted", "system", reason=reason)]
    decisions += cancel_armed(esc)
    if cap_hit and not esc.cap_hit and esc.meta_of is None:
        decisions.append(
            RaiseMeta(f"escalation cap hit on {esc.escalation_id}: {esc.title}"[:200], reason)
        )
    return muted, decisions


def cancel_armed(esc: Escalation) -> list[Decision]:
    """Cancel the timers `esc` may have pending, and only those: each cancel is a durable
    write. A timer missed here is still harmless: every due handler checks state and epoch."""
    armed: list[str] = []
    if esc.state == "offered":
        armed.append(LEVEL_TIMER)
        promote_to = set(esc.timings.promote_to)
        if esc.timings.promote_after_s is not None and not promote_to <= set(esc.level.channels):
            armed.append(PROMOTE_TIMER)
        if esc.timings.acceptance_sla_s is not None and not esc.sla_breached:
            armed.append(SLA_TIMER)
    elif esc.state == "accepted" and esc.timings.followup_after_s is not None:
        armed.append(FOLLOWUP_TIMER)
    elif esc.state == "deferred":
        armed.append(DEFER_TIMER)
    return [CancelTimer(timer) for timer in armed]


def bump(esc: Escalation, **update: object) -> Escalation:
    """Every recorded transition bumps `version`, so the ledger's projection only moves forward."""
    return esc.model_copy(update={**update, "version": esc.version + 1})


def with_person(people: tuple[str, ...], person: str) -> tuple[str, ...]:
    return people if person in people else (*people, person)
