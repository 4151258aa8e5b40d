"""A stack for fault scenarios: two notifier replicas, whose NATS traffic passes a fault proxy."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from custody.runtime.ports import free_port
from custody.runtime.stack import Stack
from tests.chaos.checker import Verdict, check, table
from tests.chaos.faultproxy import FaultProxy
from tests.chaos.history import History
from tests.chaos.load import drive, ledger_view
from tests.fixtures.infra import postgres_scratch_dir

POLICY = Path(__file__).parent / "policy.yaml"
FULL = os.environ.get("CUSTODY_CHAOS_TIER") == "full"
VERDICTS: list[Verdict] = []


@dataclass
class Chaos:
    stack: Stack
    proxy: FaultProxy
    # Escalations recorded by earlier scenarios on this stack: not this scenario's to explain.
    earlier: set[str] = field(default_factory=set)
    earlier_in_doubt: int = 0

    def token(self) -> str:
        return self.stack.credentials()["monitor-1"]

    def run(self, history: History, count: int, rate: float) -> None:
        asyncio.run(drive(self.stack.intake_url, self.token(), history, count, rate))

    def pages(self) -> list[dict[str, Any]]:
        path = self.stack.sink_path
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def settle(
        self, scenario: str, history: History, last_fault_at: float, timeout_s: float = 120.0
    ) -> Verdict:
        """Wait for quiescence (every ok recorded and paged), then check the history."""
        deadline = time.monotonic() + timeout_s
        while True:
            recorded, doubtful, _ = asyncio.run(ledger_view(self.stack.database_url))
            # A page whose send was cut off is in doubt, surfaced and never resent (inv. 5):
            # it accounts for its escalation, which stays visibly offered.
            paged = {p["escalation_id"] for p in self.pages()} | doubtful
            ok = history.keys("ok")
            if (ok <= recorded and recorded <= paged) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        time.sleep(1.0)  # a late duplicate would land now
        recorded, doubtful, in_doubt = asyncio.run(ledger_view(self.stack.database_url))
        recover = max(0.0, time.monotonic() - last_fault_at)
        mine = recorded - self.earlier
        self.earlier |= recorded
        in_doubt, self.earlier_in_doubt = in_doubt - self.earlier_in_doubt, in_doubt
        verdict = check(scenario, history, mine, self.pages(), in_doubt, recover, doubtful)
        VERDICTS.append(verdict)
        print("\n" + table([verdict]))
        return verdict


def size(fast: int, full: int) -> int:
    return full if FULL else fast


@pytest.fixture(scope="session")
def chaos() -> Iterator[Chaos]:
    with postgres_scratch_dir() as root:
        data = root / "custody"
        data.mkdir()
        nats_port = free_port()
        # Fix the NATS port up front so the proxy can sit in front of it from the first start.
        (data / "ports.json").write_text(json.dumps({"nats": nats_port}))
        proxy = FaultProxy(nats_port)
        proxy.start()
        stack = Stack(
            data, POLICY, replicas={"notifier": 2}, env_for={"notifier": {"NATS_URL": proxy.url}}
        )
        try:
            stack.start()
            yield Chaos(stack, proxy)
        finally:
            stack.stop()
            proxy.stop()
            if VERDICTS:
                print("\n[chaos] summary\n" + table(VERDICTS))
