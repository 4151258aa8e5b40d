"""The checkpoint file: one signed checkpoint per JSON line, appended and fsynced."""

from __future__ import annotations

import json
import os
from pathlib import Path

from custody_ledger.domain.checkpoints import Checkpoint, parse


class CheckpointFile:
    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, checkpoint: Checkpoint) -> None:
        """Durable on return: a checkpoint that only sat in the page cache proves nothing."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(checkpoint.as_json(), separators=(",", ":")) + "\n"
        with self.path.open("a", encoding="utf-8") as out:
            out.write(line)
            out.flush()
            os.fsync(out.fileno())

    def read(self) -> tuple[list[Checkpoint], list[str]]:
        """Every checkpoint, plus a reason for each line that is not one (none if no file)."""
        if not self.path.exists():
            return [], []
        found: list[Checkpoint] = []
        bad: list[str] = []
        text = self.path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                found.append(parse(json.loads(line)))
            except ValueError as exc:  # JSONDecodeError is a ValueError
                bad.append(f"{self.path}:{number}: not a checkpoint ({exc})")
        return found, bad
