"""The checker itself: it must see loss, surprises and duplicates, or the scenarios are no proof."""

from __future__ import annotations

from tests.chaos.checker import check, duplicate_units
from tests.chaos.history import History


def page(esc: str, recipient: str = "bob", attempt: int = 1) -> dict[str, object]:
    return {
        "escalation_id": esc,
        "level": 1,
        "recipient": recipient,
        "channel": "sms",
        "attempt": attempt,
    }


def history(ok: list[str], info: list[str] = (), fail: list[str] = ()) -> History:  # type: ignore[assignment]
    h = History()
    for key in [*ok, *info, *fail]:
        h.invoke(key)
    for key in ok:
        h.ok(key)
    for key in info:
        h.info(key, "timeout")
    for key in fail:
        h.fail(key, "400")
    return h


def test_clean_history_is_clean() -> None:
    v = check("t", history(["a", "b"]), {"a", "b"}, [page("a"), page("b")], 0, 1.0)
    assert (v.lost, v.unexpected, v.unpaged, v.duplicate_pages) == (0, 0, 0, 0)
    assert v.clean


def test_acknowledged_but_unrecorded_is_lost() -> None:
    v = check("t", history(["a", "b"]), {"a"}, [page("a")], 0, 1.0)
    assert v.lost == 1
    assert not v.clean


def test_info_may_or_may_not_be_recorded() -> None:
    assert check("t", history([], info=["x"]), {"x"}, [page("x")], 0, 0).clean
    assert check("t", history([], info=["x"]), set(), [], 0, 0).clean


def test_recorded_but_never_submitted_is_unexpected() -> None:
    v = check("t", history(["a"]), {"a", "zz"}, [page("a")], 0, 0)
    assert v.unexpected == 1


def test_same_unit_twice_is_a_duplicate_page_but_a_new_attempt_is_not() -> None:
    assert duplicate_units([page("a"), page("a")]) == 1
    assert duplicate_units([page("a"), page("a", attempt=2), page("a", recipient="carol")]) == 0
    v = check("t", history(["a"]), {"a"}, [page("a"), page("a")], 0, 0)
    assert v.duplicate_pages == 1


def test_recorded_without_a_page_is_unpaged() -> None:
    assert check("t", history(["a"]), {"a"}, [], 0, 0).unpaged == 1


def test_a_retry_that_ended_ok_counts_as_ok() -> None:
    h = History()
    h.invoke("a")
    h.info("a", "timeout")
    h.ok("a")
    assert h.keys("ok") == {"a"}
    assert h.keys("info") == set()


def test_an_in_doubt_page_accounts_for_its_escalation_but_nothing_else() -> None:
    assert check("t", history(["a"]), {"a"}, [], 1, 0, doubtful={"a"}).unpaged == 0
    assert check("t", history(["a", "b"]), {"a", "b"}, [], 1, 0, doubtful={"a"}).unpaged == 1
