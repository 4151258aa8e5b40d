"""The escalation's state as stored in KV `escalations` (one JSON document per escalation)."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict

from custody.contracts import Level, ProofPacket, Severity
from custody.contracts.facts import EscalationState

LEVEL_TIMER = "level"  # the current level's acceptance wait
PROMOTE_TIMER = "promote"  # YELLOW without SMS: promote to SMS if still unacknowledged
SLA_TIMER = "sla"  # the severity class's acceptance SLA, from when the escalation opened
FOLLOWUP_TIMER = "followup"  # acknowledged but unresolved: write a follow-up note
DEFER_TIMER = "defer"  # quiet hours / morning batch: offer when it ends
ALL_TIMERS = (LEVEL_TIMER, PROMOTE_TIMER, SLA_TIMER, FOLLOWUP_TIMER, DEFER_TIMER)


class Timings(BaseModel):
    """The clock rules of this escalation, snapshotted from its policy version at open."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    page_cap: int = 3
    cap_window_s: float = 24 * 3600.0
    promote_after_s: float | None = None
    promote_to: tuple[str, ...] = ("sms",)
    followup_after_s: float | None = None
    acceptance_sla_s: float | None = None


class Escalation(BaseModel):
    """Everything the rules need, snapshotted when the escalation opened: a later policy
    edit never changes a running escalation."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    escalation_id: str
    state: EscalationState
    title: str
    severity: Severity
    customer_impact: bool
    raised_by: str
    detected_at: AwareDatetime
    proof: ProofPacket
    team: str
    policy_version: str
    routing_summary: str
    levels: tuple[Level, ...]
    repeat: int
    last_resort: str
    admins: tuple[str, ...] = ()
    timings: Timings = Timings()
    substitute: str | None = None
    manager: str | None = None
    meta_of: str | None = None  # a meta-incident never raises another (no recursion)
    deferred_until: AwareDatetime | None = None
    acked_at: AwareDatetime | None = None
    sla_breached: bool = False
    cap_hit: bool = False
    roles: dict[str, str] = {}
    level_index: int = 0  # 0-based into levels
    round: int = 0  # how many times the chain was restarted (<= repeat)
    custodian: str | None = None  # offered to, or holding
    epoch: int = 0  # fences timers: a timer carrying another epoch is stale
    version: int = 0  # grows with every recorded transition
    people: tuple[str, ...] = ()  # everyone ever offered or holding it (earlier custodians)
    offers: tuple[AwareDatetime, ...] = ()  # when each offer paged, for the cap
    traceparent: str | None = None
    reason: str = ""

    @property
    def level(self) -> Level:
        return self.levels[min(self.level_index, len(self.levels) - 1)]

    def offers_since(self, since: datetime) -> int:
        return sum(1 for at in self.offers if at >= since)
