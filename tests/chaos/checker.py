"""Set and total-queue checks of a history against the ledger and the fake providers."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from tests.chaos.history import History


@dataclass(frozen=True)
class Verdict:
    scenario: str
    incidents: int
    faults: int
    ok: int
    info: int
    fail: int
    lost: int  # acknowledged (ok) but never recorded
    unexpected: int  # recorded but never submitted
    unpaged: int  # recorded but neither a page at the provider nor an in-doubt page
    duplicate_pages: int  # the same (escalation, level, recipient, channel, attempt) twice
    in_doubt: int  # pages whose outcome was unknown after a crash (never resent)
    recover_s: float  # from the last fault to the last escalation recorded

    @property
    def clean(self) -> bool:
        return self.lost == 0 and self.unexpected == 0 and self.duplicate_pages == 0


def duplicate_units(pages: list[dict[str, Any]]) -> int:
    units = Counter(
        (p["escalation_id"], p["level"], p["recipient"], p["channel"], p["attempt"]) for p in pages
    )
    return sum(count - 1 for count in units.values() if count > 1)


def check(
    scenario: str,
    history: History,
    recorded: set[str],
    pages: list[dict[str, Any]],
    in_doubt: int,
    recover_s: float,
    doubtful: frozenset[str] | set[str] = frozenset(),
) -> Verdict:
    ok, info, fail = history.keys("ok"), history.keys("info"), history.keys("fail")
    submitted = ok | info | fail
    ours = [p for p in pages if p["escalation_id"] in submitted]
    paged = {p["escalation_id"] for p in ours}
    return Verdict(
        scenario=scenario,
        incidents=len(submitted),
        faults=len(history.faults()),
        ok=len(ok),
        info=len(info),
        fail=len(fail),
        lost=len(ok - recorded),
        unexpected=len(recorded - ok - info),
        unpaged=len((recorded & submitted) - paged - doubtful),
        duplicate_pages=duplicate_units(ours),
        in_doubt=in_doubt,
        recover_s=recover_s,
    )


COLUMNS = (
    "scenario",
    "incidents",
    "faults",
    "ok",
    "info",
    "lost",
    "unexpected",
    "unpaged",
    "duplicate_pages",
    "in_doubt",
    "recover_s",
)


def table(verdicts: list[Verdict]) -> str:
    rows = [
        [str(getattr(v, c)) if c != "recover_s" else f"{v.recover_s:.1f}" for c in COLUMNS]
        for v in verdicts
    ]
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(COLUMNS)]
    line = "  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths, strict=True))
    body = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join([line, *body])
