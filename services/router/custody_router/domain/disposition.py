"""What happens to a routed incident now: offered at once, deferred to the morning batch,
or sent to the digest. Quiet hours are the custodian's own, in their own zone.

- GREEN goes to the digest only; it never pages.
- RED pages at once, at any hour: never deferred.
- YELLOW that is customer-visible is never deferred.
- Other YELLOW arriving in the custodian's quiet hours waits for their end (07:00 local by
  default), the morning batch, unless the custodian is marked awake.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from custody_router.domain.quiet_hours import QuietState
from custody_router.domain.severity import Classification

Disposition = Literal["offer", "defer", "digest"]


@dataclass(frozen=True)
class Outcome:
    disposition: Disposition
    reason: str
    deferred_until: datetime | None = None


def dispose(klass: Classification, quiet: QuietState) -> Outcome:
    who = quiet.person
    if klass.klass == "green":
        return Outcome("digest", "GREEN goes to the daily digest and never pages")
    if klass.klass == "red":
        return Outcome("offer", "RED pages at once, at any hour")
    if klass.customer_visible:
        return Outcome("offer", "customer-visible YELLOW is never deferred")
    if not quiet.quiet:
        return Outcome("offer", f"YELLOW outside {who}'s quiet hours ({quiet.window} local)")
    if quiet.awake:
        return Outcome("offer", f"YELLOW in {who}'s quiet hours, but {who} is marked awake")
    assert quiet.ends_at is not None
    local_end = quiet.ends_at.astimezone(ZoneInfo(quiet.zone))
    return Outcome(
        "defer",
        f"YELLOW in {who}'s quiet hours ({quiet.window} {quiet.zone}): "
        f"morning batch at {local_end:%Y-%m-%d %H:%M %Z}",
        quiet.ends_at,
    )
