"""Printing results: JSON for scripts, a few readable lines for people."""

from __future__ import annotations

import json
from typing import Any


def emit(as_json: bool, data: Any, human: str) -> None:
    print(json.dumps(data, indent=2, default=str) if as_json else human)


def table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    if not rows:
        return "(nothing)"
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns}
    lines = ["  ".join(c.upper().ljust(widths[c]) for c in columns)]
    lines += ["  ".join(str(r.get(c, "")).ljust(widths[c]) for c in columns) for r in rows]
    return "\n".join(lines)
