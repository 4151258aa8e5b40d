"""Every message type on the bus. Events are past tense; the ledger records each as a fact."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import AwareDatetime

from custody.contracts.envelope import Message, register
from custody.contracts.incident import IncidentEvent, ProofPacket, Severity
from custody.contracts.routing import Level, RoutingExplanation


@register
class IncidentAccepted(Message):
    """Intake accepted an incident: durable in INCIDENTS before the caller heard "accepted"."""

    kind: ClassVar[str] = "raised"
    event: IncidentEvent
    raised_by: str


@register
class IncidentSeenAgain(Message):
    """The same (source, dedup_key) arrived while its escalation was open."""

    kind: ClassVar[str] = "seen_again"
    source: str
    dedup_key: str
    proof: ProofPacket


@register
class RoutingDecided(Message):
    """The router's decision for one escalation, with the explanation for the proof packet."""

    kind: ClassVar[str] = "routed"
    title: str
    severity: Severity
    customer_impact: bool
    raised_by: str
    proof: ProofPacket
    team: str
    levels: tuple[Level, ...]
    repeat: int = 0
    last_resort: str
    explanation: RoutingExplanation
    # Quiet hours or the morning batch: the escalation waits, visibly, until then.
    deferred_until: AwareDatetime | None = None
    defer_reason: str = ""
    # The acceptance SLA for this severity class; on breach custody goes to the substitute.
    acceptance_sla_s: float | None = None
    substitute: str | None = None
    manager: str | None = None
    # Set on a meta-incident (e.g. "escalation cap hit on X"): it can never raise another.
    meta_of: str | None = None


CustodyChange = Literal[
    "opened",
    "offered",
    "acknowledged",
    "resolved",
    "declined",
    "reassigned",
    "note",
    "timed_out",
    "deferred",
    "muted",
    "followup",
    "refused",
    "promoted",
    "sla_breached",
    "role_assigned",
]

EscalationState = Literal["open", "offered", "accepted", "resolved", "deferred", "digest", "muted"]


@register
class CustodyChanged(Message):
    """One custody transition decided by the escalator. `version` only ever grows."""

    kind: ClassVar[str] = "custody"
    change: CustodyChange
    state: EscalationState
    custodian: str | None
    level: int
    epoch: int
    version: int
    actor: str
    reason: str = ""
    note: str = ""
    title: str = ""
    severity: Severity | None = None
    raised_by: str = ""
    offered_to: tuple[str, ...] = ()

    def wire(self) -> dict[str, Any]:
        data = super().wire()
        data["kind"] = self.change
        return data


CommandAction = Literal["ack", "resolve", "reassign", "decline", "note", "assign_role"]
IncidentRole = Literal["commander", "decision_log", "comms_lead"]


@register
class CommandIssued(Message):
    """A responder's command, accepted at intake and durable in COMMANDS."""

    kind: ClassVar[str] = "command"
    command_id: str
    action: CommandAction
    actor: str
    to: str | None = None
    note: str = ""
    reason: str = ""
    role: IncidentRole | None = None
    # "api", "cli", "sms", "email", "chat", "link"; "source" means the raising agent's own
    # tool (PagerDuty acknowledge/resolve, Alertmanager resolved): allowed for ack and resolve.
    via: str = "api"


@register
class CommandOutcome(Message):
    """The escalator's answer to one command; intake relays it to the waiting caller."""

    kind: ClassVar[str] = "command_outcome"
    command_id: str
    action: CommandAction
    actor: str
    accepted: bool
    error_code: str | None = None
    message: str = ""
    state: EscalationState
    custodian: str | None


@register
class PageRequested(Message):
    """The escalator asks for one page. `page_id` names (escalation, level, recipient, channel,
    attempt): the unit that may be paged at most once."""

    kind: ClassVar[str] = "page_requested"
    page_id: str
    recipient: str
    channel: str
    level: int
    attempt: int
    epoch: int
    title: str
    severity: Severity
    raised_by: str
    detected_at: AwareDatetime
    proof: ProofPacket
    routing_summary: str = ""
    policy_version: str = ""


PageOutcomeKind = Literal["page_sent", "page_failed", "page_in_doubt", "page_skipped"]


@register
class PageOutcome(Message):
    kind: ClassVar[str] = "page_outcome"
    outcome: PageOutcomeKind
    page_id: str
    recipient: str
    channel: str
    level: int
    attempt: int
    detail: str = ""

    def wire(self) -> dict[str, Any]:
        data = super().wire()
        data["kind"] = self.outcome
        return data


@register
class TimerDue(Message):
    """Body of a message schedule; fires on `timers.due.<id>.<timer>` with the same body."""

    kind: ClassVar[str] = "timer_due"
    timer: str
    epoch: int
    due_at: AwareDatetime


@register
class Rejected(Message):
    """An input intake refused. Kept, never dropped."""

    kind: ClassVar[str] = "rejected"
    error_code: str
    field: str
    message: str
    source: str
    body_sha256: str
    body_head: str


@register
class DeadLettered(Message):
    """A message a consumer gave up on, with why; a dead escalation pages the last resort."""

    kind: ClassVar[str] = "dead_lettered"
    stream: str
    consumer: str
    stream_seq: int
    subject: str
    reason: str
    payload_head: str
