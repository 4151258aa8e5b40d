"""What a transition asks the edge to do, as plain data; the handler turns it into messages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from custody.contracts.facts import CommandAction, CustodyChange


@dataclass(frozen=True)
class Record:
    """Publish a CustodyChanged fact for this transition."""

    change: CustodyChange
    actor: str
    reason: str = ""
    note: str = ""


@dataclass(frozen=True)
class Page:
    recipient: str
    channel: str
    level: int
    attempt: int

    def page_id(self, escalation_id: str) -> str:
        return f"{escalation_id}.l{self.level}.{self.recipient}.{self.channel}.a{self.attempt}"


@dataclass(frozen=True)
class ArmTimer:
    timer: str
    due_at: datetime


@dataclass(frozen=True)
class CancelTimer:
    timer: str


@dataclass(frozen=True)
class Answer:
    """Tell the command's caller what happened (intake is waiting for it)."""

    command_id: str
    action: CommandAction
    actor: str
    accepted: bool
    error_code: str | None = None
    message: str = ""


@dataclass(frozen=True)
class RaiseMeta:
    """Open a RED meta-incident for the owner of last resort (e.g. the page cap was hit)."""

    title: str
    reason: str


Decision = Record | Page | ArmTimer | CancelTimer | Answer | RaiseMeta
