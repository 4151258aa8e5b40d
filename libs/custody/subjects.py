"""The one module that names every subject, stream, durable consumer and KV bucket.

Nothing else in the code base spells a subject. Subjects that carry an escalation id end in
it, so per-escalation filters and message schedules (one schedule subject per timer) work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

# --- streams -------------------------------------------------------------------------------


@dataclass(frozen=True)
class StreamSpec:
    """What provisioning creates; services only ever bind to it (declare=False)."""

    name: str
    subjects: tuple[str, ...]
    description: str
    schedules: bool = False  # message schedules (TIMERS only)


INCIDENTS: Final = "INCIDENTS"
ROUTED: Final = "ROUTED"
CUSTODY: Final = "CUSTODY"
PAGES: Final = "PAGES"
COMMANDS: Final = "COMMANDS"
TIMERS: Final = "TIMERS"
REJECTED: Final = "REJECTED"
DLQ: Final = "DLQ"
ADVISORIES: Final = "ADVISORIES"
CHECKPOINTS: Final = "CHECKPOINTS"  # the ledger's signed checkpoints (ledger issue #7)

STREAMS: Final[tuple[StreamSpec, ...]] = (
    StreamSpec(INCIDENTS, ("incidents.>",), "Incidents accepted at intake"),
    StreamSpec(ROUTED, ("routed.>",), "Routing decisions with their explanation"),
    StreamSpec(CUSTODY, ("custody.>",), "Custody transitions decided by the escalator"),
    StreamSpec(PAGES, ("pages.>",), "Page requests and delivery outcomes"),
    StreamSpec(COMMANDS, ("commands.>",), "Responder commands accepted at intake"),
    StreamSpec(TIMERS, ("timers.>",), "Escalator timers as message schedules", schedules=True),
    StreamSpec(REJECTED, ("rejected.>",), "Every input intake refused, with its reason"),
    StreamSpec(DLQ, ("dlq.>",), "Messages dead-lettered after a permanent error"),
    StreamSpec(
        ADVISORIES,
        (
            "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.>",
            "$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.>",
        ),
        "Captured JetStream advisories: core NATS messages are gone unless a stream keeps them",
    ),
    StreamSpec(
        CHECKPOINTS,
        ("checkpoints.>",),
        "The ledger's signed hash-chain checkpoints: a copy of the proof kept outside Postgres",
    ),
)

STREAM_BY_NAME: Final = {s.name: s for s in STREAMS}


def stream_for(subject: str) -> str:
    """The stream whose subjects capture `subject` (used to pass `stream=` on every publish)."""
    head = subject.split(".", 1)[0]
    for spec in STREAMS:
        for pattern in spec.subjects:
            if pattern.split(".", 1)[0] == head:
                return spec.name
    raise KeyError(f"no stream captures subject {subject!r}")


# --- subjects ------------------------------------------------------------------------------


def incident_accepted(escalation_id: str) -> str:
    return f"incidents.accepted.{escalation_id}"


def incident_seen_again(escalation_id: str) -> str:
    return f"incidents.seen.{escalation_id}"


def routed(escalation_id: str) -> str:
    return f"routed.{escalation_id}"


def custody_fact(kind: str, escalation_id: str) -> str:
    return f"custody.{kind}.{escalation_id}"


def command_outcome(escalation_id: str) -> str:
    """Where the escalator answers a command; intake listens here to reply to the caller."""
    return f"custody.outcome.{escalation_id}"


def page_requested(escalation_id: str) -> str:
    return f"pages.requested.{escalation_id}"


def page_outcome(outcome: str, escalation_id: str) -> str:
    return f"pages.{outcome}.{escalation_id}"


def command(escalation_id: str) -> str:
    return f"commands.{escalation_id}"


def timer_schedule(escalation_id: str, timer: str) -> str:
    """One schedule subject per pending timer: a new schedule on a subject replaces the old."""
    return f"timers.tmr.{escalation_id}.{timer}"


def timer_due(escalation_id: str, timer: str) -> str:
    return f"timers.due.{escalation_id}.{timer}"


def timer_cancel(escalation_id: str, timer: str) -> str:
    return f"timers.cancel.{escalation_id}.{timer}"


def rejected(source: str) -> str:
    return f"rejected.{_token(source)}"


def intake_event(source: str) -> str:
    """Agents' direct NATS door (core request/reply, no stream): intake answers only after the
    PubAck. The source in the subject lets NATS permissions pin each agent to its own subject."""
    return f"{INTAKE_EVENTS}.{_token(source)}"


def dead_letter(stream: str, consumer: str) -> str:
    return f"dlq.{stream}.{consumer}"


def _token(value: str) -> str:
    """A subject token: NATS forbids '.', '*', '>' and whitespace inside one."""
    cleaned = "".join(c if c.isalnum() or c in "-_" else "_" for c in value)
    return cleaned[:64] or "_"


INTAKE_EVENTS: Final = "intake.events"  # + ".<source>"; intake listens on "intake.events.>"
INTAKE_QUEUE: Final = "intake"  # queue group: each request is answered by one intake replica

# --- durable consumers -----------------------------------------------------------------------


@dataclass(frozen=True)
class ConsumerSpec:
    """A durable pull consumer with explicit acks, created or updated by provisioning."""

    stream: str
    durable: str
    filter_subject: str
    ack_wait_s: float = 30.0
    max_deliver: int = 10
    backoff_s: tuple[float, ...] = field(default=())
    # More subjects for the same durable (the server filters; the consumer sees only these).
    more_filters: tuple[str, ...] = field(default=())

    @property
    def filters(self) -> tuple[str, ...]:
        return (self.filter_subject, *self.more_filters)


ROUTER_INCIDENTS: Final = ConsumerSpec(INCIDENTS, "router", "incidents.accepted.>")
ESCALATOR_ROUTED: Final = ConsumerSpec(ROUTED, "escalator-routed", "routed.>")
ESCALATOR_COMMANDS: Final = ConsumerSpec(COMMANDS, "escalator-commands", "commands.>")
ESCALATOR_TIMERS: Final = ConsumerSpec(TIMERS, "escalator-timers", "timers.due.>")
# Dead letters page the owner of last resort; this consumer itself never gives up.
ESCALATOR_DLQ: Final = ConsumerSpec(DLQ, "escalator-dlq", "dlq.>", max_deliver=-1)
NOTIFIER_PAGES: Final = ConsumerSpec(PAGES, "notifier", "pages.requested.>")
# Acks and resolves (cross-channel "acknowledged by bob"), digested GREENs, deferred YELLOWs
# and follow-up notes (digests, morning batch). The server filters out every other custody
# fact, so the notifier is not handed (and does not ack) the several each escalation makes.
NOTIFIER_CUSTODY_CHANGES: Final = ("acknowledged", "resolved", "followup", "deferred")
NOTIFIER_CUSTODY: Final = ConsumerSpec(
    CUSTODY,
    "notifier-custody",
    f"custody.{NOTIFIER_CUSTODY_CHANGES[0]}.>",
    more_filters=tuple(f"custody.{change}.>" for change in NOTIFIER_CUSTODY_CHANGES[1:]),
)
# The ledger never gives up on a fact: a Postgres outage just pauses it (max_deliver -1).
LEDGER_CONSUMERS: Final[tuple[ConsumerSpec, ...]] = tuple(
    ConsumerSpec(stream, f"ledger-{stream.lower()}", pattern, max_deliver=-1)
    for stream, pattern in (
        (INCIDENTS, "incidents.>"),
        (ROUTED, "routed.>"),
        (CUSTODY, "custody.>"),
        (PAGES, "pages.>"),
        (COMMANDS, "commands.>"),
        (REJECTED, "rejected.>"),
        (DLQ, "dlq.>"),
    )
)

CONSUMERS: Final[tuple[ConsumerSpec, ...]] = (
    ROUTER_INCIDENTS,
    ESCALATOR_ROUTED,
    ESCALATOR_COMMANDS,
    ESCALATOR_TIMERS,
    ESCALATOR_DLQ,
    NOTIFIER_PAGES,
    NOTIFIER_CUSTODY,
    *LEDGER_CONSUMERS,
)

SERVICE_CONSUMERS: Final[dict[str, tuple[ConsumerSpec, ...]]] = {
    "intake": (),
    "router": (ROUTER_INCIDENTS,),
    "escalator": (ESCALATOR_ROUTED, ESCALATOR_COMMANDS, ESCALATOR_TIMERS, ESCALATOR_DLQ),
    "notifier": (NOTIFIER_PAGES, NOTIFIER_CUSTODY),
    "ledger": LEDGER_CONSUMERS,
}

# --- KV buckets --------------------------------------------------------------------------------

KV_ESCALATIONS: Final = "escalations"  # escalator state, compare-and-set on revision
KV_PAGE_CLAIMS: Final = "page_claims"  # notifier claims a page (create) before sending it
KV_POLICY: Final = "policy"  # versioned policy documents
KV_CREDENTIALS: Final = "credentials"  # sha256(token) -> principal
KV_DEDUP: Final = "dedup"  # (source, dedup_key) -> current escalation
KV_HEARTBEATS: Final = "heartbeats"  # (agent, name) -> interval, last ping, current silence
# Notifier delivery state: SMS reply codes (intake reads them), per-number throttles and
# bundles, provider back-off, digest batches and their send claims, cross-channel notices.
KV_DELIVERY: Final = "delivery"
# Intake callbacks: spent action tokens, provider callback ids seen (replays), canary probes.
KV_CALLBACKS: Final = "callbacks"

KV_BUCKETS: Final = (
    KV_ESCALATIONS,
    KV_PAGE_CLAIMS,
    KV_POLICY,
    KV_CREDENTIALS,
    KV_DEDUP,
    KV_HEARTBEATS,
    KV_DELIVERY,
    KV_CALLBACKS,
)

SERVICES: Final = ("intake", "router", "escalator", "notifier", "ledger")


# --- policy (appended for policy issue #4) ----------------------------------------------------


def policy_applied(version: str) -> str:
    """A policy version applied: in CUSTODY, so the ledger (`custody.>`) records it."""
    return f"custody.policy.{_token(version)}"


# --- ledger checkpoints (appended for ledger issue #7) ----------------------------------------


def ledger_checkpoint() -> str:
    """Where the ledger publishes each signed checkpoint (seq, head_hash, time) of its chain."""
    return "checkpoints.ledger"
