"""The custody state machine. Every function takes `now` and returns (new state, decisions)."""

from __future__ import annotations

from datetime import datetime, timedelta

from custody.contracts import CommandIssued, RoutingDecided
from custody_escalator.domain.authorization import may_act
from custody_escalator.domain.decisions import (
    Answer,
    ArmTimer,
    CancelTimer,
    Decision,
    Page,
    Record,
)
from custody_escalator.domain.state import LEVEL_TIMER, Escalation

PAGE_CAP = 3  # pages (offers) per incident per 24 h (DESIGN.md § caps)
CAP_WINDOW = timedelta(hours=24)
DIGEST_CHANNEL = "digest"

Step = tuple[Escalation, list[Decision]]


def open_escalation(routed: RoutingDecided, admins: tuple[str, ...], now: datetime) -> Step:
    """A routed incident becomes an escalation offered to level 1 (or digested if GREEN)."""
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
        traceparent=routed.traceparent,
    )
    if all(channel == DIGEST_CHANNEL for channel in esc.levels[0].channels):
        digested = esc.model_copy(
            update={"state": "digest", "version": 1, "reason": "GREEN: daily digest, no page"}
        )
        return digested, [Record("deferred", "system", reason=digested.reason)]
    return _offer(esc, 0, 0, esc.levels[0].recipients[0], now, actor="system", reason="routed")


def on_timer(esc: Escalation, timer: str, epoch: int, now: datetime) -> Step:
    """A due timer advances the chain, unless it is stale (another epoch, or no longer offered)."""
    if timer != LEVEL_TIMER or epoch != esc.epoch or esc.state != "offered":
        return esc, []
    wait = esc.level.wait_s
    timed_out = _recorded(esc, "timed_out")
    decisions: list[Decision] = [
        Record("timed_out", "system", reason=f"{esc.custodian} did not accept within {wait:g}s")
    ]
    nxt, more = _advance(timed_out, now, actor="system", reason="acceptance wait elapsed")
    return nxt, decisions + more


def on_command(esc: Escalation, cmd: CommandIssued, now: datetime) -> Step:
    """Ack, resolve, reassign, decline or note, by someone allowed to (invariant 7)."""

    def refuse(code: str, message: str) -> Step:
        return esc, [Answer(cmd.command_id, cmd.action, cmd.actor, False, code, message)]

    def accept(new: Escalation, decisions: list[Decision]) -> Step:
        return new, [*decisions, Answer(cmd.command_id, cmd.action, cmd.actor, True)]

    if not may_act(esc, cmd.actor):
        return refuse(
            "not_custodian",
            f"{cmd.actor} is not the custodian of {esc.escalation_id}, an earlier custodian, "
            "or an admin",
        )
    if esc.state == "resolved" and cmd.action != "note":
        return refuse("already_resolved", f"{esc.escalation_id} is already resolved")

    if cmd.action == "note":
        return accept(_recorded(esc, "note"), [Record("note", cmd.actor, note=cmd.note)])

    if cmd.action == "ack":
        if esc.state == "accepted" and esc.custodian == cmd.actor:
            return accept(esc, [])
        acked = _recorded(
            esc,
            "acknowledged",
            state="accepted",
            custodian=cmd.actor,
            epoch=esc.epoch + 1,
            people=_with(esc.people, cmd.actor),
            reason="",
        )
        return accept(
            acked, [Record("acknowledged", cmd.actor, note=cmd.note), CancelTimer(LEVEL_TIMER)]
        )

    if cmd.action == "resolve":
        resolved = _recorded(esc, "resolved", state="resolved", epoch=esc.epoch + 1)
        return accept(
            resolved, [Record("resolved", cmd.actor, note=cmd.note), CancelTimer(LEVEL_TIMER)]
        )

    if cmd.action == "reassign":
        target = cmd.to or ""
        if not target:
            return refuse("invalid_target", "reassign needs --to PERSON")
        if target == esc.raised_by:
            return refuse(
                "raiser_cannot_hold", f"{target} raised it: custody needs a second person"
            )
        reassigned = _recorded(esc, "reassigned")
        nxt, more = _offer(
            reassigned,
            esc.level_index,
            esc.round,
            target,
            now,
            actor=cmd.actor,
            reason=f"reassigned by {cmd.actor}",
        )
        return accept(
            nxt, [Record("reassigned", cmd.actor, reason=f"to {target}", note=cmd.note), *more]
        )

    # decline: a handback to the next candidate, recorded as a declined offer.
    if esc.custodian != cmd.actor and cmd.actor not in esc.admins:
        return refuse("not_custodian", f"only the custodian may decline; it is {esc.custodian}")
    declined = _recorded(esc, "declined")
    nxt, more = _advance(declined, now, actor=cmd.actor, reason=f"declined: {cmd.reason}")
    return accept(nxt, [Record("declined", cmd.actor, reason=cmd.reason), *more])


def _advance(esc: Escalation, now: datetime, *, actor: str, reason: str) -> Step:
    index, rnd = esc.level_index + 1, esc.round
    if index >= len(esc.levels):
        if rnd >= esc.repeat:
            return _mute(
                esc,
                f"chain exhausted after {rnd + 1} round(s); custody falls to "
                f"the owner of last resort {esc.last_resort}",
            )
        index, rnd = 0, rnd + 1
    return _offer(esc, index, rnd, esc.levels[index].recipients[0], now, actor=actor, reason=reason)


def _offer(
    esc: Escalation, index: int, rnd: int, recipient: str, now: datetime, *, actor: str, reason: str
) -> Step:
    if esc.offers_since(now - CAP_WINDOW) >= PAGE_CAP:
        return _mute(esc, f"page cap reached: {PAGE_CAP} pages within 24 h")
    level = esc.levels[index]
    offered = _recorded(
        esc,
        "offered",
        state="offered",
        level_index=index,
        round=rnd,
        custodian=recipient,
        epoch=esc.epoch + 1,
        people=_with(esc.people, recipient),
        offers=(*esc.offers, now),
        reason=reason,
    )
    decisions: list[Decision] = [Record("offered", actor, reason=reason)]
    decisions += [Page(recipient, channel, level.number, rnd + 1) for channel in level.channels]
    decisions.append(ArmTimer(LEVEL_TIMER, now + timedelta(seconds=level.wait_s)))
    return offered, decisions


def _mute(esc: Escalation, reason: str) -> Step:
    muted = _recorded(
        esc,
        "muted",
        state="muted",
        custodian=esc.last_resort,
        epoch=esc.epoch + 1,
        people=_with(esc.people, esc.last_resort),
        reason=reason,
    )
    return muted, [Record("muted", "system", reason=reason), CancelTimer(LEVEL_TIMER)]


def _recorded(esc: Escalation, _change: str, **update: object) -> Escalation:
    """Every recorded transition bumps `version`, so the ledger's projection only moves forward."""
    return esc.model_copy(update={**update, "version": esc.version + 1})


def _with(people: tuple[str, ...], person: str) -> tuple[str, ...]:
    return people if person in people else (*people, person)
