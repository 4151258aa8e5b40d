"""Properties over random policies, incidents and instants (DST transitions included).

Whatever the policy and the instant, the router yields exactly one candidate custodian who
is not the raiser, and an explicit offer, defer or digest with a reason. It never raises.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custody.policy import Policy
from custody_router.domain.routing import Decision, RouteInput, route
from custody_router.domain.schedule import resolve_layer

NAMES = ("ann", "ben", "cat", "dan", "eve")
ZONES = (
    "Europe/Stockholm",
    "America/New_York",
    "Australia/Lord_Howe",  # 30-minute DST shift
    "Asia/Kathmandu",  # +05:45, no DST
    "Pacific/Chatham",  # +12:45/+13:45
    "UTC",
)
# 2026 DST transitions of the zones above: instants near them are where rules break.
TRANSITIONS = tuple(
    datetime.fromisoformat(t)
    for t in (
        "2026-03-29T01:00:00+00:00",
        "2026-10-25T01:00:00+00:00",
        "2026-03-08T07:00:00+00:00",
        "2026-11-01T06:00:00+00:00",
        "2026-04-04T15:00:00+00:00",
        "2026-10-03T15:30:00+00:00",
        "2026-04-04T14:00:00+00:00",
        "2026-09-26T14:00:00+00:00",
    )
)

instants = st.one_of(
    st.datetimes(datetime(2025, 6, 1), datetime(2027, 6, 1), timezones=st.just(UTC)),
    st.builds(
        lambda at, minutes: at + timedelta(minutes=minutes),
        st.sampled_from(TRANSITIONS),
        st.integers(-24 * 60, 24 * 60),
    ),
)
wall_times = st.builds(time, st.integers(0, 23), st.sampled_from((0, 10, 15, 30, 45, 59)))
local_datetimes = st.builds(
    lambda day, at: datetime.combine(day, at),
    st.dates(date(2026, 1, 1), date(2026, 12, 31)),
    wall_times,
)


def hhmm(at: time) -> str:
    return f"{at:%H:%M}"


@st.composite
def people(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.lists(st.sampled_from(NAMES), min_size=2, max_size=5, unique=True))
    found: dict[str, Any] = {}
    for name in names:
        start, end = draw(wall_times), draw(wall_times)
        until = draw(st.none() | local_datetimes)
        found[name] = {
            "name": name,
            "timezone": draw(st.sampled_from(ZONES)),
            "quiet_hours": {"start": hhmm(start), "end": hhmm(end), "enabled": start != end},
            "presence": {"awake": draw(st.booleans()), "until": until and until.isoformat()},
        }
    return found


@st.composite
def rotations(draw: st.DrawFn, names: list[str]) -> dict[str, Any]:
    return {
        "members": draw(st.lists(st.sampled_from(names), min_size=1, max_size=3)),
        "handoff": hhmm(draw(wall_times)),
        "handoff_weekday": draw(st.integers(0, 6)),
        "start": draw(st.dates(date(2025, 6, 1), date(2026, 12, 31))).isoformat(),
    }


@st.composite
def teams(draw: st.DrawFn, names: list[str]) -> dict[str, Any]:
    pick = st.sampled_from(names)
    schedule: dict[str, Any] = {
        "timezone": draw(st.sampled_from(ZONES)),
        "primary": draw(rotations(names)),
    }
    if draw(st.booleans()):
        schedule["secondary"] = draw(rotations(names))
    overrides = []
    for layer in draw(st.lists(st.sampled_from(("primary", "secondary")), unique=True)):
        start = draw(local_datetimes)
        end = start + timedelta(minutes=draw(st.integers(1, 7 * 24 * 60)))
        overrides.append(
            {
                "layer": layer,
                "person": draw(pick),
                "start": start.isoformat(),
                "end": end.isoformat(),
            }
        )
    schedule["overrides"] = overrides
    exceptions = {
        klass: {"owner": draw(pick), "sla": draw(st.integers(1, 7200))}
        for klass in draw(st.lists(st.sampled_from(("data_missing", "legal_hold")), unique=True))
    }
    return {
        "members": draw(st.lists(pick, max_size=3, unique=True)),
        "manager": draw(pick),
        "last_resort": draw(pick),
        "substitute": draw(st.none() | pick),
        "schedule": schedule,
        "exceptions": exceptions,
    }


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    found = draw(people())
    names = sorted(found)
    team_ids = draw(
        st.lists(st.sampled_from(("ops", "web", "db")), min_size=1, max_size=3, unique=True)
    )
    targets = ["primary", "secondary", "manager", *(f"person:{n}" for n in names)]
    targets += [f"{role}@{t}" for t in team_ids for role in ("primary", "secondary", "manager")]
    level = st.fixed_dictionaries(
        {
            "targets": st.lists(st.sampled_from(targets), min_size=1, max_size=3),
            "wait": st.integers(1, 900),
        }
    )
    chains = {c: {"levels": draw(st.lists(level, min_size=1, max_size=3))} for c in ("a", "b")}
    routes = []
    for index in range(draw(st.integers(0, 3))):
        match: dict[str, Any] = {}
        service = draw(st.sampled_from(("web", "db", None)))
        if service is not None:
            match["service"] = service
        elif draw(st.booleans()):
            match["no_service"] = True
        if draw(st.booleans()):
            match["labels"] = {"env": "prod"}
        routes.append(
            {
                "id": f"r{index}",
                "match": match,
                "team": draw(st.sampled_from(team_ids)),
                "chain": draw(st.sampled_from(("a", "b"))),
            }
        )
        if not match:
            break  # a catch-all makes later routes unreachable, which the policy rejects
    return Policy.model_validate(
        {
            "admins": draw(st.lists(st.sampled_from(names), max_size=2, unique=True)),
            "people": found,
            "agents": {"agent-1": {}},
            "teams": {t: draw(teams(names)) for t in team_ids},
            "chains": chains,
            "routes": routes,
            "default_team": draw(st.sampled_from(team_ids)),
        }
    )


@st.composite
def incidents(draw: st.DrawFn, policy: Policy) -> RouteInput:
    raiser = draw(st.sampled_from((*sorted(policy.people), "agent-1", "someone-else")))
    label_values = {
        "env": st.sampled_from(("prod", "dev")),
        "exception": st.sampled_from(("data_missing", "legal_hold", "cross_team_dependency", "x")),
        "severity": st.sampled_from(("critical", "warning", "info", "page", "odd")),
        "pd_severity": st.sampled_from(("critical", "error", "warning", "info")),
        "customer_visible": st.sampled_from(("true", "false")),
    }
    keys = draw(st.lists(st.sampled_from(sorted(label_values)), unique=True))
    return RouteInput(
        source=raiser,
        service=draw(st.sampled_from(("web", "db", "other", None))),
        labels={k: draw(label_values[k]) for k in keys},
        severity=draw(st.sampled_from(("red", "yellow", "green"))),
        customer_impact=draw(st.booleans()),
        raised_by=raiser,
        thresholds=draw(st.sampled_from(((), ("customer_impact",), ("slo_at_risk",)))),
    )


@st.composite
def cases(draw: st.DrawFn) -> tuple[Policy, RouteInput, datetime]:
    policy = draw(policies())
    return policy, draw(incidents(policy)), draw(instants)


PROPERTIES = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTIES
@given(cases())
def test_router_decides_one_custodian_explicitly_and_deterministically(
    case: tuple[Policy, RouteInput, datetime],
) -> None:
    """One generated case checks every routing property (generation is the slow part)."""
    policy, incident, now = case
    decision = route(policy, "p-x", incident, now)
    _check_custodian(policy, incident, decision)
    _check_reason(decision)
    _check_disposition(decision, now)
    assert route(policy, "p-x", incident, now) == decision  # deterministic


def _check_custodian(policy: Policy, incident: RouteInput, decision: Decision) -> None:
    """Exactly one candidate custodian, never the raiser (invariant 4)."""
    assert decision.custodian in policy.people
    assert decision.custodian != incident.raised_by
    for level in decision.levels:
        assert level.recipients
        assert incident.raised_by not in level.recipients
    assert decision.last_resort != incident.raised_by
    assert incident.raised_by not in (decision.substitute, decision.manager)
    assert decision.substitute != decision.custodian
    assert [level.number for level in decision.levels] == list(range(1, len(decision.levels) + 1))


def _check_reason(decision: Decision) -> None:
    why = decision.explanation
    assert decision.reason
    assert why.reason == decision.reason
    assert why.policy_version == "p-x"
    assert why.quiet_hours["person"] == decision.custodian
    if why.rule == "(no route matched)" or "last resort" in decision.levels[0].why:
        assert "owner of last resort" in why.summary


def _check_disposition(decision: Decision, now: datetime) -> None:
    """Offer, defer or digest, each explicit: digest iff GREEN, RED never deferred."""
    why = decision.explanation
    klass = why.severity_class
    assert (decision.disposition == "digest") == (klass == "green")
    if decision.disposition == "defer":
        assert klass == "yellow"
        assert not why.classification["customer_visible"]
        assert why.quiet_hours["quiet"]
        assert not why.quiet_hours["presence_override"]
        assert decision.deferred_until is not None
        assert now < decision.deferred_until <= now + timedelta(hours=25)
        assert why.deferral is not None
        assert why.deferral["until"] == decision.deferred_until.isoformat()
    else:
        assert decision.deferred_until is None
        assert why.deferral is None
    if klass == "red":
        assert decision.disposition == "offer"


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policies(), instants)
def test_on_call_never_hands_back_within_two_hours(policy: Policy, now: datetime) -> None:
    """Without overrides a layer changes holder at most once in two hours (weekly
    rotations): the fall-back hour never returns the pager to the previous holder."""
    for team in policy.teams.values():
        if team.schedule.overrides:
            continue
        for layer in ("primary", "secondary"):
            holders = [
                resolve_layer(team.schedule, layer, now + timedelta(minutes=m)).person
                for m in range(0, 120, 10)
            ]
            changes = sum(1 for a, b in itertools.pairwise(holders) if a != b)
            assert changes <= 1, f"{layer} changed hands {changes} times in 2 h: {holders}"
