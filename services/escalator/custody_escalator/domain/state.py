"""The escalation's state as stored in KV `escalations` (one JSON document per escalation)."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict

from custody.contracts import Level, ProofPacket, Severity
from custody.contracts.facts import EscalationState

LEVEL_TIMER = "level"


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
