"""The clock rules an escalation snapshots from its policy version (DESIGN.md § Policy)."""

from __future__ import annotations

from custody.policy import Policy
from custody.policy.model import DEFAULT_SEVERITY
from custody_escalator.domain.state import Timings


def timings_for(policy: Policy, severity_class: str, routed_sla_s: float | None = None) -> Timings:
    """The class's clocks from the policy (its defaults are DESIGN.md's: YELLOW promoted after
    15 min, follow-ups after 60 min RED / 4 h YELLOW, 3 pages per 24 h)."""
    klass = policy.severity.get(severity_class) or DEFAULT_SEVERITY.get(severity_class)
    return Timings(
        page_cap=policy.caps.pages_per_24h,
        promote_after_s=klass.promote_after if klass else None,
        promote_to=tuple(klass.promote_to) if klass and klass.promote_to else ("sms",),
        followup_after_s=klass.followup_after if klass else None,
        acceptance_sla_s=(
            routed_sla_s if routed_sla_s is not None else (klass.acceptance_sla if klass else None)
        ),
    )
