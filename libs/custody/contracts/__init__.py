"""Message contracts: frozen, versioned pydantic models, one envelope for every fact on the bus."""

from custody.contracts.envelope import SCHEMA_VERSION, Message, fact_from_json
from custody.contracts.facts import (
    CommandIssued,
    CommandOutcome,
    CustodyChanged,
    DeadLettered,
    IncidentAccepted,
    IncidentSeenAgain,
    PageOutcome,
    PageRequested,
    Rejected,
    RoutingDecided,
    TimerDue,
)
from custody.contracts.incident import (
    Evidence,
    IncidentEvent,
    ProofPacket,
    Severity,
    Threshold,
)
from custody.contracts.intake import EventAccepted, IntakeReply, Refusal
from custody.contracts.policy import PolicyApplied
from custody.contracts.routing import Level, RoutingExplanation

__all__ = [
    "SCHEMA_VERSION",
    "CommandIssued",
    "CommandOutcome",
    "CustodyChanged",
    "DeadLettered",
    "EventAccepted",
    "Evidence",
    "IncidentAccepted",
    "IncidentEvent",
    "IncidentSeenAgain",
    "IntakeReply",
    "Level",
    "Message",
    "PageOutcome",
    "PageRequested",
    "PolicyApplied",
    "ProofPacket",
    "Refusal",
    "Rejected",
    "RoutingDecided",
    "RoutingExplanation",
    "Severity",
    "Threshold",
    "TimerDue",
    "fact_from_json",
]
