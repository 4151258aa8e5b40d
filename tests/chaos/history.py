"""A Jepsen-style history: every submit is an invoke, then ok, fail or info (unknown)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Literal

Outcome = Literal["invoke", "ok", "fail", "info"]


@dataclass(frozen=True)
class Event:
    at: float
    process: str  # "client" or "nemesis"
    outcome: Outcome | Literal["fault"]
    key: str  # the submit's escalation id, or the fault's name
    detail: str = ""


@dataclass
class History:
    events: list[Event] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _add(
        self, process: str, outcome: Outcome | Literal["fault"], key: str, detail: str
    ) -> None:
        with self._lock:
            self.events.append(Event(time.monotonic(), process, outcome, key, detail))

    def invoke(self, key: str) -> None:
        self._add("client", "invoke", key, "")

    def ok(self, key: str) -> None:
        self._add("client", "ok", key, "")

    def fail(self, key: str, detail: str) -> None:
        self._add("client", "fail", key, detail)

    def info(self, key: str, detail: str) -> None:
        self._add("client", "info", key, detail)

    def fault(self, name: str, detail: str = "") -> None:
        self._add("nemesis", "fault", name, detail)

    def keys(self, outcome: Outcome) -> set[str]:
        """The final outcome per key wins: a retried submit that ended ok is ok."""
        final: dict[str, str] = {}
        with self._lock:
            for event in self.events:
                if event.process == "client" and event.outcome != "invoke":
                    final[event.key] = event.outcome
        return {key for key, result in final.items() if result == outcome}

    def faults(self) -> list[Event]:
        with self._lock:
            return [e for e in self.events if e.process == "nemesis"]
