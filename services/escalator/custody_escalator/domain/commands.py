"""Responder commands: ack, resolve, reassign, decline, note and incident roles."""

from __future__ import annotations

from datetime import datetime, timedelta

from custody.contracts import CommandIssued
from custody_escalator.domain.authorization import may_act
from custody_escalator.domain.decisions import Answer, ArmTimer, Decision, Record
from custody_escalator.domain.offers import Step, advance, bump, cancel_armed, offer, with_person
from custody_escalator.domain.state import FOLLOWUP_TIMER, Escalation

SOURCE = "source"  # the raising agent's own tool (PagerDuty acknowledge, Alertmanager resolved)


def on_command(esc: Escalation, cmd: CommandIssued, now: datetime) -> Step:
    """Only the right person acts (invariant 7); everyone else gets a recorded refusal."""

    def refuse(code: str, message: str) -> Step:
        return esc, [Answer(cmd.command_id, cmd.action, cmd.actor, False, code, message)]

    from_source = cmd.via == SOURCE and cmd.actor == esc.raised_by
    if from_source and cmd.action not in ("ack", "resolve"):
        return refuse("not_custodian", "the source may only acknowledge or resolve")
    if not from_source and not may_act(esc, cmd.actor):
        return refuse(
            "not_custodian",
            f"{cmd.actor} is not the custodian of {esc.escalation_id}, an earlier custodian, "
            "or an admin",
        )
    if esc.state == "resolved" and cmd.action != "note":
        return refuse("already_resolved", f"{esc.escalation_id} is already resolved")
    try:
        after, decisions = _HANDLERS[cmd.action](esc, cmd, now, from_source)
    except Refusal as refusal:
        return refuse(refusal.code, refusal.message)
    return after, [*decisions, Answer(cmd.command_id, cmd.action, cmd.actor, True)]


class Refusal(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _ack(esc: Escalation, cmd: CommandIssued, now: datetime, source: bool) -> Step:
    holder = esc.custodian if source else cmd.actor  # an ack from the source keeps the offeree
    if esc.state == "accepted" and esc.custodian == holder:
        return esc, []
    acked = bump(
        esc,
        state="accepted",
        custodian=holder,
        epoch=esc.epoch + 1,
        people=with_person(esc.people, holder) if holder else esc.people,
        acked_at=now,
        reason="acknowledged by the source" if source else "",
    )
    decisions: list[Decision] = [Record("acknowledged", cmd.actor, note=cmd.note)]
    decisions += cancel_armed(esc)
    if esc.timings.followup_after_s is not None:
        due = now + timedelta(seconds=esc.timings.followup_after_s)
        decisions.append(ArmTimer(FOLLOWUP_TIMER, due))
    return acked, decisions


def _resolve(esc: Escalation, cmd: CommandIssued, now: datetime, source: bool) -> Step:
    reason = "resolved by the source" if source else ""
    resolved = bump(esc, state="resolved", epoch=esc.epoch + 1, reason=reason)
    return resolved, [
        Record("resolved", cmd.actor, reason=reason, note=cmd.note),
        *cancel_armed(esc),
    ]


def _reassign(esc: Escalation, cmd: CommandIssued, now: datetime, source: bool) -> Step:
    target = cmd.to or ""
    if not target:
        raise Refusal("invalid_target", "reassign needs --to PERSON")
    if target == esc.raised_by:
        raise Refusal("raiser_cannot_hold", f"{target} raised it: custody needs a second person")
    reassigned = bump(esc)
    after, more = offer(
        reassigned,
        esc.level_index,
        esc.round,
        target,
        now,
        actor=cmd.actor,
        reason=f"reassigned by {cmd.actor}",
    )
    record = Record("reassigned", cmd.actor, reason=f"to {target}", note=cmd.note)
    return after, [record, *cancel_armed(esc), *more]


def _decline(esc: Escalation, cmd: CommandIssued, now: datetime, source: bool) -> Step:
    if esc.custodian != cmd.actor and cmd.actor not in esc.admins:
        raise Refusal("not_custodian", f"only the custodian may decline; it is {esc.custodian}")
    if not cmd.reason.strip():
        raise Refusal("reason_required", "a decline needs --reason")
    declined = bump(esc)
    after, more = advance(declined, now, actor=cmd.actor, reason=f"declined: {cmd.reason}")
    return after, [Record("declined", cmd.actor, reason=cmd.reason), *cancel_armed(esc), *more]


def _note(esc: Escalation, cmd: CommandIssued, now: datetime, source: bool) -> Step:
    decisions: list[Decision] = [Record("note", cmd.actor, note=cmd.note)]
    return bump(esc), decisions


def _assign_role(esc: Escalation, cmd: CommandIssued, now: datetime, source: bool) -> Step:
    if cmd.role is None or not cmd.to:
        raise Refusal("invalid_role", "assign_role needs a role and --to PERSON")
    after = bump(esc, roles={**esc.roles, cmd.role: cmd.to})
    decisions: list[Decision] = [Record("role_assigned", cmd.actor, reason=f"{cmd.role}: {cmd.to}")]
    return after, decisions


_HANDLERS = {
    "ack": _ack,
    "resolve": _resolve,
    "reassign": _reassign,
    "decline": _decline,
    "note": _note,
    "assign_role": _assign_role,
}
