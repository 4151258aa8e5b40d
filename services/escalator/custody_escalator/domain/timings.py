"""The clock rules an escalation snapshots from its policy version (DESIGN.md § Policy)."""

from __future__ import annotations

from typing import Any

from custody.policy import Policy
from custody_escalator.domain.state import Timings

# DESIGN.md defaults, used where the policy does not say otherwise.
PAGE_CAP = 3
PROMOTE_AFTER_S = {"yellow": 15 * 60.0}
FOLLOWUP_AFTER_S = {"red": 60 * 60.0, "yellow": 4 * 3600.0}


def timings_for(policy: Policy, severity_class: str, routed_sla_s: float | None = None) -> Timings:
    """Read the class's settings from the policy, falling back to the documented defaults."""
    klass: Any = policy.severity.get(severity_class)
    caps: Any = getattr(policy, "caps", None)
    return Timings(
        page_cap=int(getattr(caps, "pages_per_24h", PAGE_CAP) or PAGE_CAP),
        promote_after_s=_seconds(klass, "promote_after", PROMOTE_AFTER_S.get(severity_class)),
        followup_after_s=_seconds(klass, "followup_after", FOLLOWUP_AFTER_S.get(severity_class)),
        acceptance_sla_s=(
            routed_sla_s if routed_sla_s is not None else _seconds(klass, "acceptance_sla", None)
        ),
    )


def _seconds(klass: Any, name: str, default: float | None) -> float | None:
    value = getattr(klass, name, None)
    return float(value) if isinstance(value, int | float) else default
