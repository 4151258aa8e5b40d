"""A model test of the pure state machine: random commands, timers and redeliveries."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from custody.contracts import CommandIssued
from custody_escalator.domain import machine
from custody_escalator.domain.decisions import Decision, Page
from custody_escalator.domain.state import LEVEL_TIMER, PROMOTE_TIMER, Escalation, Timings

from .conftest import T0, routed

PEOPLE = ("bob", "carol", "dave", "alice", "monitor-1")
CAP = 3


class CustodyMachine(RuleBasedStateMachine):
    esc: Escalation
    now: datetime

    @initialize(
        raiser=st.sampled_from(("monitor-1", "alice")),
        repeat=st.integers(0, 3),
        yellow=st.booleans(),
    )
    def raise_incident(self, raiser: str, repeat: int, yellow: bool) -> None:
        channels = ("email", "chat") if yellow else ("sms",)
        route = routed(repeat=repeat, raised_by=raiser, channels=channels)
        timings = Timings(page_cap=CAP, promote_after_s=60.0, followup_after_s=300.0)
        self.now = T0
        self.raiser = raiser
        self.offer_times: list[datetime] = []
        self.last_timer: tuple[str, int] | None = None
        self.counter = 0
        self.esc, decisions = machine.open_escalation(route, ("dave",), timings, self.now)
        self.check_step(None, decisions, from_timer=False)

    def check_step(
        self, before: Escalation | None, decisions: list[Decision], *, from_timer: bool
    ) -> None:
        pages = [d for d in decisions if isinstance(d, Page)]
        assert len({p.recipient for p in pages}) <= 1, "one offer at a time"
        assert all(p.recipient != self.raiser for p in pages), "never the raiser"
        if from_timer and before is not None and before.state in ("accepted", "resolved"):
            assert not pages, "no page after ack or resolve"
        if self.esc.state == "offered":
            assert self.esc.custodian not in (None, self.raiser)
        if self.esc.offers and (not before or len(self.esc.offers) > len(before.offers)):
            self.offer_times.append(self.now)

    def command(self, action: str, actor: str, **extra: object) -> None:
        self.counter += 1
        cmd = CommandIssued(
            event_id=f"c{self.counter}",
            escalation_id=self.esc.escalation_id,
            occurred_at=self.now,
            command_id=f"c{self.counter}",
            action=action,
            actor=actor,
            **extra,  # type: ignore[arg-type]
        )
        before = self.esc
        self.esc, decisions = machine.on_command(before, cmd, self.now)
        self.check_step(before, decisions, from_timer=False)

    @rule(actor=st.sampled_from(PEOPLE))
    def ack(self, actor: str) -> None:
        self.command("ack", actor)

    @rule(actor=st.sampled_from(PEOPLE))
    def resolve(self, actor: str) -> None:
        self.command("resolve", actor)

    @rule(actor=st.sampled_from(PEOPLE))
    def decline(self, actor: str) -> None:
        self.command("decline", actor, reason="busy")

    @rule(actor=st.sampled_from(PEOPLE), to=st.sampled_from(PEOPLE))
    def reassign(self, actor: str, to: str) -> None:
        self.command("reassign", actor, to=to)

    @rule(
        timer=st.sampled_from((LEVEL_TIMER, PROMOTE_TIMER)),
        stale=st.booleans(),
        minutes=st.integers(1, 600),
    )
    def timer_fires(self, timer: str, stale: bool, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)
        epoch = self.esc.epoch - 1 if stale else self.esc.epoch
        before = self.esc
        self.esc, decisions = machine.on_timer(before, timer, epoch, self.now)
        if stale:
            assert (self.esc, decisions) == (before, [])
        self.last_timer = (timer, epoch)
        self.check_step(before, decisions, from_timer=True)

    @rule()
    def duplicate_timer_delivery(self) -> None:
        if self.last_timer is None:
            return
        before = self.esc
        self.esc, decisions = machine.on_timer(before, *self.last_timer, self.now)
        # A redelivered timer that was already applied carries a spent epoch: nothing happens.
        if self.last_timer[1] != before.epoch:
            assert decisions == []
        self.check_step(before, decisions, from_timer=True)

    @invariant()
    def caps_respected(self) -> None:
        if not hasattr(self, "esc"):
            return
        window = [t for t in self.esc.offers if t > self.now - timedelta(hours=24)]
        assert len(window) <= CAP


TestCustodyMachine = CustodyMachine.TestCase
TestCustodyMachine.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
