"""The escalations projection converges whatever order the facts arrive in."""

import itertools

import pytest

from custody_ledger.domain.projection import Escalation, fold
from tests.unit.ledger import factories as f


def _project(facts):  # type: ignore[no-untyped-def]
    return fold({}, facts)


def test_full_lifecycle_projects_the_current_view() -> None:
    view = _project(f.lifecycle("e1"))["e1"]
    assert (view.state, view.custodian, view.version) == ("accepted", "bob", 2)
    assert (view.title, view.severity, view.raised_by) == (
        "checkout-api auth-chain-break",
        "red",
        "monitor-1",
    )
    assert (view.team, view.policy_version, view.rule) == ("payments", "p-1", "checkout")
    assert view.proof is not None
    assert view.proof["signal"] == "5xx rate 38% on checkout-api"
    assert view.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert view.people == ("bob",)
    assert view.opened_at == f.at(0)
    assert view.updated_at == f.at(1.1)


def test_every_arrival_order_converges() -> None:
    facts = [
        f.raised("e"),
        f.routed("e"),
        f.custody("e", "offered", version=1, state="offered", custodian="bob", s=0.1),
        f.custody("e", "acknowledged", version=2, state="accepted", custodian="bob", s=1),
        f.page("e", recipient="bob"),
    ]
    views = [_project(order)["e"] for order in itertools.permutations(facts)]
    assert all(view == views[0] for view in views)
    assert (views[0].state, views[0].custodian) == ("accepted", "bob")


def test_an_escalation_with_no_custody_fact_is_open() -> None:
    view = _project([f.raised("e"), f.routed("e")])["e"]
    assert (view.state, view.custodian, view.version) == ("open", None, 0)


@pytest.mark.parametrize("stale_version", [1, 2])
def test_a_stale_custody_fact_does_not_move_state(stale_version: int) -> None:
    current = {"e": Escalation("e", state="resolved", custodian="bob", version=2)}
    late = f.custody("e", "offered", version=stale_version, state="offered", custodian="carol", s=5)
    view = fold(current, [late])["e"]
    assert (view.state, view.custodian, view.version) == ("resolved", "bob", 2)
    assert "carol" in view.people  # but carol was offered it once, so she may still see it


def test_the_raised_proof_wins_over_the_routers_copy_in_any_order() -> None:
    for order in ([f.raised("e"), f.routed("e")], [f.routed("e"), f.raised("e")]):
        assert _project(order)["e"].proof["signal"] == "5xx rate 38% on checkout-api"  # type: ignore[index]


def test_routed_alone_fills_title_severity_raiser_and_proof() -> None:
    view = _project([f.routed("e", by="alice")])["e"]
    assert (view.title, view.severity, view.raised_by) == (
        "checkout-api auth-chain-break",
        "red",
        "alice",
    )
    assert view.proof is not None
    assert view.proof["signal"] == "router copy"


def test_people_collects_everyone_offered_holding_or_paged() -> None:
    facts = [
        f.custody(
            "e", "offered", version=1, state="offered", custodian="bob", s=0, offered_to=("bob",)
        ),
        f.page("e", recipient="bob"),
        f.custody("e", "timed_out", version=2, state="offered", custodian="carol", s=1),
        f.page_requested("e", recipient="dave"),
    ]
    assert _project(facts)["e"].people == ("bob", "carol", "dave")


def test_facts_without_an_escalation_change_no_view() -> None:
    fact = f.raised("e")
    orphan = type(fact)(**{**fact.__dict__, "escalation_id": ""})
    assert _project([orphan]) == {}
