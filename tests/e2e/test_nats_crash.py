"""kill -9 of nats-server mid-flow: every accepted escalation is recorded and paged once."""

from __future__ import annotations

import threading
import time

import pytest

from tests.e2e.conftest import System

pytestmark = pytest.mark.e2e


def test_nats_killed_mid_flow_loses_nothing_and_pages_once(system: System) -> None:
    server = system.stack.nats
    assert server is not None
    accepted: list[str] = [system.raise_incident() for _ in range(8)]
    server.kill()
    restarter = threading.Timer(1.5, server.restart)
    restarter.start()
    try:
        # Raised during the outage and right after: the SDK retries 503s with the same key.
        accepted += [system.raise_incident() for _ in range(8)]
    finally:
        restarter.join()

    def all_paged() -> bool:
        return all(system.pages(esc) for esc in accepted)

    system.wait_for("a page for every accepted escalation", all_paged, timeout=30.0)

    def all_recorded() -> bool:
        for esc in accepted:
            shown = system.cli("show", esc, "--as", "dave", check=False)
            if not isinstance(shown, dict) or shown.get("state") in (None, "open"):
                return False
        return True

    system.wait_for("every escalation in the ledger", all_recorded, timeout=30.0)
    time.sleep(1.0)
    for esc in accepted:
        recipients = [p["recipient"] for p in system.pages(esc)]
        # Level 1 (bob) exactly once; level 2 (carol) at most once once the 3 s wait passed.
        assert recipients.count("bob") == 1, f"{esc}: {recipients}"
        assert recipients.count("carol") <= 1, f"{esc}: {recipients}"
