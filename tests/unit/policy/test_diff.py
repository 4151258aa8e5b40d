"""`custody policy diff`: one line per changed field; routes compared by id."""

from __future__ import annotations

from custody.policy import load_policy, load_policy_text
from custody.policy.diff import diff_policies
from custody.provisioning import EXAMPLE_POLICY

TEXT = EXAMPLE_POLICY.read_text()
BASE = load_policy(EXAMPLE_POLICY)


def test_no_changes_for_the_same_policy() -> None:
    assert diff_policies(BASE, load_policy_text(TEXT)) == []


def test_a_changed_field_is_one_line() -> None:
    new = load_policy_text(TEXT.replace("manager: dave ", "manager: carol "))
    assert [str(c) for c in diff_policies(BASE, new)] == [
        '~ teams.payments.manager: "dave" → "carol"'
    ]


def test_routes_are_compared_by_id() -> None:
    added = TEXT.replace(
        "routes:                     # first match wins, on source, service and labels\n",
        "routes:\n  - {id: search, match: {service: search}, team: payments, "
        "chain: payments-default}\n",
    )
    changes = diff_policies(BASE, load_policy_text(added))
    assert [(c.op, c.path) for c in changes] == [("+", "routes[search]")]


def test_reordering_routes_is_a_change() -> None:
    swapped = load_policy_text(
        TEXT.replace("  - id: checkout\n    match: {service: checkout}", "  - id: tmp")
        .replace(
            "  - id: no-service\n    match: {no_service: true}",
            "  - id: checkout\n    match: {service: checkout}",
        )
        .replace("  - id: tmp", "  - id: no-service\n    match: {no_service: true}")
    )
    changes = diff_policies(BASE, swapped)
    assert [(c.op, c.path) for c in changes] == [("~", "routes (order)")]


def test_against_nothing_everything_is_added() -> None:
    changes = diff_policies(None, BASE)
    assert {c.op for c in changes} == {"+"}
    assert "people" in {c.path for c in changes}
