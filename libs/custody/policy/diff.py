"""What changes between two policies, one line per changed field (`custody policy diff`).

Lists of things with an id (routes) are compared by id, so inserting a route reads as one
added route rather than every later route changed; lists of the same length item by item;
other lists as whole values.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from custody.policy.loader import policy_document
from custody.policy.model import Policy

_MISSING = object()


@dataclass(frozen=True)
class Change:
    op: Literal["+", "-", "~"]
    path: str
    old: Any = None
    new: Any = None

    def __str__(self) -> str:
        if self.op == "+":
            return f"+ {self.path}: {_short(self.new)}"
        if self.op == "-":
            return f"- {self.path}: {_short(self.old)}"
        return f"~ {self.path}: {_short(self.old)} → {_short(self.new)}"

    def as_dict(self) -> dict[str, Any]:
        return {"op": self.op, "path": self.path, "old": self.old, "new": self.new}


def diff_policies(old: Policy | None, new: Policy) -> list[Change]:
    before = policy_document(old) if old is not None else {}
    return list(_diff(before, policy_document(new), ""))


def _diff(old: Any, new: Any, path: str) -> list[Change]:
    if old == new:
        return []
    if isinstance(old, dict) and isinstance(new, dict):
        return _diff_maps(old, new, path)
    if _keyed(old) and _keyed(new):
        by_id_old = {item["id"]: item for item in old}
        by_id_new = {item["id"]: item for item in new}
        changes = _diff_maps(by_id_old, by_id_new, path, keyed=True)
        if not changes:  # same items, new order: first match wins, so order matters
            changes = [Change("~", f"{path} (order)", list(by_id_old), list(by_id_new))]
        return changes
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [
            c
            for i, (a, b) in enumerate(zip(old, new, strict=True))
            for c in _diff(a, b, f"{path}[{i}]")
        ]
    return [Change("~", path, old, new)]


def _diff_maps(
    old: dict[str, Any], new: dict[str, Any], path: str, keyed: bool = False
) -> list[Change]:
    changes: list[Change] = []
    for key in list(old) + [k for k in new if k not in old]:
        where = f"{path}[{key}]" if keyed else (f"{path}.{key}" if path else key)
        before, after = old.get(key, _MISSING), new.get(key, _MISSING)
        if before is _MISSING:
            changes.append(Change("+", where, new=after))
        elif after is _MISSING:
            changes.append(Change("-", where, old=before))
        else:
            changes.extend(_diff(before, after, where))
    return changes


def _keyed(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(item, dict) and "id" in item for item in value)
    )


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 120 else text[:117] + "..."
