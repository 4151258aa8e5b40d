"""What the router reads from an incident: the fields routing rules may look at, nothing else."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from custody.contracts import IncidentEvent


@dataclass(frozen=True)
class RouteInput:
    source: str
    service: str | None
    labels: dict[str, str]
    severity: str  # native: red | yellow | green
    customer_impact: bool
    raised_by: str
    thresholds: tuple[str, ...] = field(default=())

    @classmethod
    def of(cls, event: IncidentEvent, raised_by: str) -> RouteInput:
        return cls(
            source=event.source,
            service=event.service,
            labels=dict(event.labels),
            severity=event.severity.value,
            customer_impact=event.customer_impact,
            raised_by=raised_by,
            thresholds=tuple(t.value for t in event.proof.thresholds),
        )

    def as_dict(self, now: datetime) -> dict[str, Any]:
        """The inputs used, as the explanation records them."""
        return {
            "source": self.source,
            "service": self.service,
            "labels": dict(self.labels),
            "severity": self.severity,
            "customer_impact": self.customer_impact,
            "thresholds": list(self.thresholds),
            "raised_by": self.raised_by,
            "at": now.isoformat(),
        }
