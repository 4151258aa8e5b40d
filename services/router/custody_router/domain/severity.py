"""Severity classes: map what the incident says (its native severity, a PagerDuty or
Alertmanager severity carried in a label, customer impact) to RED, YELLOW or GREEN."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from custody.policy.model import Policy

if TYPE_CHECKING:
    from custody_router.domain.routing import RouteInput

RANK = {"green": 0, "yellow": 1, "red": 2}
TRUTHY = frozenset({"true", "yes", "1"})
CUSTOMER_VISIBLE_LABEL = "customer_visible"


@dataclass(frozen=True)
class Classification:
    klass: str  # red | yellow | green
    basis: str  # what decided it, in words
    customer_visible: bool  # never deferred by quiet hours
    notes: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "class": self.klass,
            "basis": self.basis,
            "customer_visible": self.customer_visible,
        }


def customer_impact(event: RouteInput) -> bool:
    return event.customer_impact or "customer_impact" in event.thresholds


def customer_visible(event: RouteInput) -> bool:
    """Customer impact, or a `customer_visible: "true"` label: reversible (so YELLOW) but
    seen by customers, such as a degraded status page."""
    label = event.labels.get(CUSTOMER_VISIBLE_LABEL, "").strip().lower()
    return customer_impact(event) or label in TRUTHY


def classify(policy: Policy, event: RouteInput) -> Classification:
    """The first classification input whose label the incident carries decides, else its
    native severity; customer impact then raises it to at least the policy's floor."""
    klass, basis, notes = _base(policy, event)
    floor = policy.classification.customer_impact
    if customer_impact(event) and floor is not None and RANK[floor] > RANK[klass]:
        klass, basis = floor, f"{basis}; customer impact makes it at least {floor.upper()}"
    return Classification(klass, basis, customer_visible(event), notes)


def _base(policy: Policy, event: RouteInput) -> tuple[str, str, tuple[str, ...]]:
    notes: list[str] = []
    for source in policy.classification.inputs:
        value = event.labels.get(source.label)
        if value is None:
            continue
        mapped = source.map.get(value) or source.map.get(value.strip().lower())
        if mapped is not None:
            return mapped, f"{source.name}: {source.label}={value} → {mapped.upper()}", ()
        notes.append(f"{source.name}: {source.label}={value!r} is not in its map; ignored")
    if event.severity in RANK:
        return event.severity, f"native severity {event.severity.upper()}", tuple(notes)
    # Not reachable through intake (the contract has three severities); fail loud, not quiet.
    notes.append(f"unknown native severity {event.severity!r}: treated as RED")
    return "red", "unknown severity → RED", tuple(notes)
