"""Which service produced each kind of fact: the hops of `custody trace`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, get_args

from custody.contracts.facts import CustodyChange, PageOutcomeKind

# Derived from the contract's literals, so a new custody change or page outcome can never be
# missing here.
CUSTODY_CHANGES: Final = frozenset(get_args(CustodyChange))
PAGE_OUTCOMES: Final = frozenset(get_args(PageOutcomeKind))

_SERVICE_BY_KIND: Final[dict[str, str]] = {
    "raised": "intake",
    "seen_again": "intake",
    "command": "intake",
    "rejected": "intake",
    "routed": "router",
    "page_requested": "escalator",
    "command_outcome": "escalator",
    "timer_due": "escalator",
    **dict.fromkeys(CUSTODY_CHANGES, "escalator"),
    **dict.fromkeys(PAGE_OUTCOMES, "notifier"),
}


def service_for(kind: str) -> str:
    """The service that published a fact of this kind; `ledger` for what only it knows
    (undecodable bodies, dead letters are attributed to the consumer in their payload)."""
    return _SERVICE_BY_KIND.get(kind, "ledger")


@dataclass(frozen=True)
class Hop:
    kind: str
    at: datetime


def hops(facts: Sequence[Hop]) -> list[dict[str, Any]]:
    """Facts in occurred_at order, each with the ms elapsed since the previous hop."""
    ordered = sorted(facts, key=lambda f: f.at)
    out: list[dict[str, Any]] = []
    previous: datetime | None = None
    for fact in ordered:
        latency = 0.0 if previous is None else (fact.at - previous).total_seconds() * 1000
        out.append(
            {
                "service": service_for(fact.kind),
                "kind": fact.kind,
                "at": fact.at.isoformat(),
                "latency_ms": round(latency, 3),
            }
        )
        previous = fact.at
    return out
