"""Recording calls, claiming the expected ones, and proving nothing more was sent."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Call:
    """One request a fake received, in arrival order."""

    sink: str
    at: float  # time.monotonic() on arrival
    wall: float  # time.time() on arrival
    path: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    form: dict[str, str] = field(default_factory=dict)
    json: Any = None
    body: bytes = b""
    status: int = 200  # what the fake answered
    key: str = ""  # the idempotency key, if any
    message: Any = None  # a parsed email, for the SMTP fake


Match = Callable[[Call], bool]


class Recorder:
    """Thread-safe: fakes record from their server thread, tests read from theirs."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._calls: list[Call] = []
        self._claimed: set[int] = set()

    def record(self, call: Call) -> None:
        with self._lock:
            self._calls.append(call)

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def delivered(self) -> list[Call]:
        """Calls the fake accepted (2xx)."""
        return [c for c in self.calls if 200 <= c.status < 300]

    def expect(self, match: Match, count: int = 1, timeout: float = 10.0) -> list[Call]:
        """Wait for `count` unclaimed calls matching `match`, claim and return them."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                found = [
                    (i, c) for i, c in enumerate(self._calls) if i not in self._claimed and match(c)
                ]
                if len(found) >= count:
                    chosen = found[:count]
                    self._claimed.update(i for i, _ in chosen)
                    return [c for _, c in chosen]
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{self.name}: expected {count} matching call(s), found {len(found)}; "
                    f"unclaimed: {self._describe(found_only=False)}"
                )
            time.sleep(0.02)

    async def arrive(self, match: Match, count: int = 1, within: float = 10.0) -> list[Call]:
        """`expect` for async tests: waits without blocking the loop (where the notifier runs)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            with self._lock:
                seen = sum(
                    1 for i, c in enumerate(self._calls) if i not in self._claimed and match(c)
                )
            if seen >= count:
                break
            await asyncio.sleep(0.02)
        return self.expect(match, count, timeout=0)

    async def nothing_more(self, settle_s: float = 0.5) -> None:
        """`assert_nothing_more` for async tests: the loop keeps running while it settles."""
        await asyncio.sleep(settle_s)
        self.assert_nothing_more(settle_s=0)

    def claim_all(self, match: Match) -> list[Call]:
        """Claim every call matching `match` so far (no waiting)."""
        with self._lock:
            found = [
                (i, c) for i, c in enumerate(self._calls) if i not in self._claimed and match(c)
            ]
            self._claimed.update(i for i, _ in found)
            return [c for _, c in found]

    def assert_nothing_more(self, settle_s: float = 0.3) -> None:
        """After a short settle, every call received must have been claimed by `expect`."""
        time.sleep(settle_s)
        with self._lock:
            extra = [c for i, c in enumerate(self._calls) if i not in self._claimed]
        assert not extra, f"{self.name}: {len(extra)} unexpected call(s): {self._summary(extra)}"

    def _describe(self, found_only: bool) -> str:
        with self._lock:
            extra = [c for i, c in enumerate(self._calls) if i not in self._claimed]
        return self._summary(extra)

    @staticmethod
    def _summary(calls: list[Call]) -> str:
        return "; ".join(
            f"{c.path} {c.status} {c.key or ''} {str(c.form or c.json)[:120]}" for c in calls[:10]
        )
