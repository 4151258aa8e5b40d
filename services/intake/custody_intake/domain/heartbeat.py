"""Heartbeats as a dead-man's switch: an agent declares a name and an interval and pings; a
missed interval raises "NAME went silent", and the next ping resolves it.

Several intake replicas check the same heartbeats. They never raise a silence twice because the
incident's dedup key names the silence episode by the last ping before it, which every replica
reads the same, so they publish the very same message id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from custody.contracts import IncidentEvent, ProofPacket, Severity
from custody_intake.domain.rejection import refuse

MIN_INTERVAL_S = 1.0
MAX_INTERVAL_S = 7 * 24 * 3600.0
MAX_GRACE_S = 3.0  # keeps "raised within one interval plus 5 s" with a 1 s check period
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
NAME = re.compile(NAME_PATTERN)


@dataclass(frozen=True)
class Heartbeat:
    owner: str
    name: str
    interval_s: float
    last_ping_at: datetime
    severity: Severity = Severity.RED
    service: str | None = None
    silent_escalation: str | None = None  # raised for the current silence, until a ping

    def to_json(self) -> dict[str, Any]:
        return {
            "owner": self.owner,
            "name": self.name,
            "interval_s": self.interval_s,
            "last_ping_at": self.last_ping_at.isoformat(),
            "severity": self.severity.value,
            "service": self.service,
            "silent_escalation": self.silent_escalation,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Heartbeat:
        return cls(
            owner=str(data["owner"]),
            name=str(data["name"]),
            interval_s=float(data["interval_s"]),
            last_ping_at=datetime.fromisoformat(str(data["last_ping_at"])),
            severity=Severity(data.get("severity", "red")),
            service=data.get("service"),
            silent_escalation=data.get("silent_escalation"),
        )


@dataclass(frozen=True)
class Declaration:
    """What a ping may carry: a new interval, severity or service for the silence incident."""

    interval_s: float | None = None
    severity: Severity | None = None
    service: str | None = None


def check_name(name: str) -> None:
    if not NAME.match(name):
        raise refuse(
            422,
            "invalid_name",
            "name",
            "name: 1-128 characters of letters, digits, '.', '_' or '-', starting alphanumeric",
        )


def grace_s(interval_s: float) -> float:
    """A ping a moment late is not a silence: a tenth of the interval, at most 3 s."""
    return min(interval_s * 0.1, MAX_GRACE_S)


def overdue(hb: Heartbeat, now: datetime) -> bool:
    """Silent past its interval (plus grace), and not yet raised for this silence."""
    deadline = hb.last_ping_at + timedelta(seconds=hb.interval_s + grace_s(hb.interval_s))
    return hb.silent_escalation is None and now >= deadline


def episode_key(hb: Heartbeat) -> str:
    """The silence's dedup key, the same in every replica: named by the last ping before it."""
    return f"heartbeat:{hb.name}:{hb.last_ping_at.isoformat()}"


def silence_event(hb: Heartbeat) -> IncidentEvent:
    """Deterministic from the record alone, so replicas publish byte-identical incidents."""
    silent_since = hb.last_ping_at + timedelta(seconds=hb.interval_s)
    return IncidentEvent(
        source=hb.owner,
        dedup_key=episode_key(hb),
        title=f"{hb.name} went silent",
        severity=hb.severity,
        service=hb.service,
        labels={"heartbeat": hb.name},
        occurred_at=silent_since,
        proof=ProofPacket(
            signal=f"no heartbeat from {hb.name} since {hb.last_ping_at.isoformat()}",
            diagnosis=(
                f"{hb.owner} declared a ping every {hb.interval_s:g}s; none arrived, so the "
                "agent or what it watches may be down"
            ),
            agent_action="none: the agent itself went silent",
            proposed_action=f"check that {hb.owner} and what it monitors are running",
        ),
    )


def pinged(
    hb: Heartbeat | None, owner: str, name: str, declared: Declaration, now: datetime
) -> tuple[Heartbeat, str | None]:
    """The heartbeat after a ping, and the silence escalation the ping resolves (if any)."""
    if hb is None:
        if declared.interval_s is None:
            raise refuse(
                404,
                "not_declared",
                "interval",
                f"interval: heartbeat {name} is not declared yet; declare it with its interval",
            )
        fresh = Heartbeat(owner, name, declared.interval_s, now)
        return _declared(fresh, declared), None
    after = replace(_declared(hb, declared), last_ping_at=now, silent_escalation=None)
    return after, hb.silent_escalation


def _declared(hb: Heartbeat, declared: Declaration) -> Heartbeat:
    return replace(
        hb,
        interval_s=declared.interval_s or hb.interval_s,
        severity=declared.severity or hb.severity,
        service=declared.service if declared.service is not None else hb.service,
    )
