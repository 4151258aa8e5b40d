"""Who may see an escalation."""

import pytest

from custody_ledger.domain.visibility import can_see


@pytest.mark.parametrize(
    ("viewer", "is_admin", "raised_by", "people", "visible"),
    [
        ("monitor-1", False, "monitor-1", (), True),  # an agent sees what it raised
        ("bob", False, "monitor-1", ("bob",), True),  # offered or holding, now or before
        ("carol", False, "monitor-1", ("bob",), False),
        ("dave", True, "monitor-1", (), True),  # admins see everything
        ("", False, "", (), False),  # an empty name never matches an empty raiser
    ],
)
def test_can_see(
    viewer: str, is_admin: bool, raised_by: str, people: tuple[str, ...], visible: bool
) -> None:
    assert can_see(viewer, is_admin=is_admin, raised_by=raised_by, people=people) is visible
