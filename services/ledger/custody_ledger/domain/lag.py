"""Ledger lag: how far the record is behind the bus, in seconds, per durable consumer.

When a consumer has nothing pending, its lag is 0. Otherwise the oldest fact not yet
recorded was published no earlier than both (a) the publish time of the newest fact this
process recorded from that consumer and (b) the moment the backlog was first seen; the lag is
`now` minus the later of the two. During a Postgres outage neither moves, so the lag grows
with the outage; while catching up, (a) walks through the backlog, so the lag falls; a
rarely used stream (DLQ) with a new message shows a small lag, not the age of its last one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class Lag:
    started: datetime
    newest_recorded: dict[str, datetime] = field(default_factory=dict)
    backlog_since: dict[str, datetime] = field(default_factory=dict)

    def recorded(self, consumer: str, published_at: datetime) -> None:
        current = self.newest_recorded.get(consumer)
        if current is None or published_at > current:
            self.newest_recorded[consumer] = published_at

    def observed(self, consumer: str, backlog: int, now: datetime) -> None:
        """`backlog`: messages not yet acked (pending plus delivered-but-unacked)."""
        if backlog <= 0:
            self.backlog_since.pop(consumer, None)
        else:
            self.backlog_since.setdefault(consumer, now)

    def seconds(self, now: datetime) -> float:
        worst = 0.0
        for consumer, since in self.backlog_since.items():
            newest = self.newest_recorded.get(consumer)
            floor = since if newest is None else max(since, newest)
            worst = max(worst, (now - floor).total_seconds())
        return worst
