"""Policy facts: a new policy version applied, recorded in the ledger like any other fact."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import AwareDatetime

from custody.contracts.envelope import Message, register


@register
class PolicyApplied(Message):
    """`custody policy apply` stored a policy version in KV and made it current.

    It belongs to no escalation (`escalation_id` is ""). It carries the whole document, so
    the ledger alone can show which rules any escalation's `policy_version` stood for.
    """

    kind: ClassVar[str] = "policy_applied"
    version: str
    previous_version: str | None = None
    actor: str  # the author
    applied_at: AwareDatetime
    new: bool  # False: this version was stored before and is current again
    changes: tuple[str, ...] = ()  # what changed against the previous version, one per line
    document: dict[str, Any]
