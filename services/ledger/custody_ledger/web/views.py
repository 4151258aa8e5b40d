"""What each page shows, read from the ledger's projection, plus the stamp that changes
whenever what it shows changes (the live stream compares stamps, not HTML)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from custody.auth.credentials import Principal
from custody_ledger.domain import documents
from custody_ledger.domain.documents import TimelineFact
from custody_ledger.domain.projection import Escalation
from custody_ledger.domain.visibility import can_see

HANDLED_LIMIT = 10
TEAM_LIMIT = 50


class ReadSide(Protocol):
    async def escalation(self, escalation_id: str) -> Escalation | None: ...
    async def facts(self, escalation_id: str) -> list[TimelineFact]: ...
    async def inbox(self, person: str) -> list[Escalation]: ...
    async def visible(
        self,
        viewer: str,
        *,
        is_admin: bool,
        state: str | None,
        limit: int,
        after: tuple[datetime, str] | None,
    ) -> list[Escalation]: ...


class People(Protocol):
    async def principal(self, token: str) -> Principal | None: ...
    async def admins(self) -> frozenset[str]: ...


@dataclass(frozen=True)
class Viewer:
    name: str
    token: str
    is_admin: bool


def stamp(data: object) -> str:
    raw = json.dumps(data, sort_keys=True, default=str).encode()
    return hashlib.sha256(raw).hexdigest()[:16]


async def inbox_sections(reads: ReadSide, who: Viewer) -> dict[str, list[dict[str, Any]]]:
    """Yours (held or offered), recently handled, and for admins the team's open work."""
    yours = [documents.summary(v) for v in await reads.inbox(who.name)]
    handled = await reads.visible(
        who.name, is_admin=who.is_admin, state="resolved", limit=HANDLED_LIMIT, after=None
    )
    sections = {"yours": yours, "handled": [documents.summary(v) for v in handled]}
    if who.is_admin:
        everything = await reads.visible(
            who.name, is_admin=True, state=None, limit=TEAM_LIMIT, after=None
        )
        sections["team"] = [documents.summary(v) for v in everything if v.state != "resolved"]
    return sections


async def visible_case(reads: ReadSide, who: Viewer, escalation_id: str) -> Escalation | None:
    """The escalation, or None when it does not exist or `who` may not see it (both are 404)."""
    view = await reads.escalation(escalation_id)
    if view is None:
        return None
    allowed = can_see(who.name, is_admin=who.is_admin, raised_by=view.raised_by, people=view.people)
    return view if allowed else None


async def case_document(reads: ReadSide, view: Escalation) -> dict[str, Any]:
    return documents.show(view, await reads.facts(view.escalation_id))


def case_stamp(view: Escalation | None) -> str:
    if view is None:
        return "gone"
    return stamp([view.version, view.updated_at, view.state, view.custodian, view.people])
