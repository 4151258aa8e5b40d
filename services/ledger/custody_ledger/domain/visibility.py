"""Who may see an escalation: its raiser, anyone ever offered or holding it, and admins.

The list query in adapters/reads.py applies the same rule in SQL; an integration test
checks that the two agree.
"""

from __future__ import annotations

from collections.abc import Collection


def can_see(viewer: str, *, is_admin: bool, raised_by: str, people: Collection[str]) -> bool:
    if is_admin:
        return True
    return bool(viewer) and (viewer == raised_by or viewer in people)
