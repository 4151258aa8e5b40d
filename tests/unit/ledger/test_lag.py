"""Ledger lag: 0 when caught up, grows through an outage, falls while catching up."""

from datetime import UTC, datetime, timedelta

from custody_ledger.domain.lag import Lag

T = datetime(2026, 3, 29, 12, 0, tzinfo=UTC)


def s(seconds: float) -> datetime:
    return T + timedelta(seconds=seconds)


def test_no_backlog_means_no_lag() -> None:
    lag = Lag(started=T)
    lag.recorded("ledger-pages", s(0))
    lag.observed("ledger-pages", 0, s(100))
    assert lag.seconds(s(100)) == 0.0


def test_an_outage_grows_the_lag_and_catching_up_shrinks_it() -> None:
    lag = Lag(started=T)
    lag.recorded("ledger-pages", s(10))  # the last fact recorded before Postgres went away
    lag.observed("ledger-pages", 5, s(11))
    assert lag.seconds(s(40)) == 29.0
    assert lag.seconds(s(70)) == 59.0
    lag.recorded("ledger-pages", s(50))  # catching up: facts published at 50 s are in
    assert lag.seconds(s(72)) == 22.0
    lag.observed("ledger-pages", 0, s(73))
    assert lag.seconds(s(73)) == 0.0


def test_a_new_message_on_a_quiet_stream_is_not_counted_from_its_last_fact() -> None:
    lag = Lag(started=T)
    lag.recorded("ledger-dlq", s(0))
    lag.observed("ledger-dlq", 1, s(86400))  # a day later, one dead letter
    assert lag.seconds(s(86401)) == 1.0


def test_the_worst_consumer_is_the_lag() -> None:
    lag = Lag(started=T)
    lag.observed("a", 1, s(0))
    lag.observed("b", 1, s(5))
    assert lag.seconds(s(10)) == 10.0
