"""Who may act on an escalation (invariant 7)."""

from __future__ import annotations

from custody_escalator.domain.state import Escalation


def may_act(esc: Escalation, actor: str) -> bool:
    """The current custodian, an earlier custodian in this escalation's chain, or an admin."""
    return actor == esc.custodian or actor in esc.people or actor in esc.admins
