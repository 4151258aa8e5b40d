"""Fuzzing the real HTTP app, with a real nats-server behind it (acceptance 1).

Hypothesis sends at least 2,000 valid and mutated native events. Every valid one must be
accepted (202, and in INCIDENTS); every mutated one refused with a 4xx naming `error_code` and
`field`; none may get a 5xx; and REJECTED must hold exactly one fact per refusal.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from custody import subjects
from custody.runtime.nats_server import NatsServer
from custody_intake.adapters.gateway import ANONYMOUS
from tests.integration.intake_harness import Intake, bearer, running_intake

EXAMPLES = 2000

# --- valid events -----------------------------------------------------------------------------

# One-line text: no control characters (Cc: C0, DEL, C1) and no lone surrogates (Cs).
line = st.characters(exclude_categories=("Cc", "Cs"))
prose = st.one_of(line, st.sampled_from("\n\t\r"))


def text(size: int, min_size: int = 0, chars: st.SearchStrategy[str] = line) -> Any:
    return st.text(chars, min_size=min_size, max_size=size)


evidence = st.fixed_dictionaries(
    {"label": text(60)},
    optional={"url": text(200) | st.none(), "excerpt": text(300, chars=prose) | st.none()},
)
proof = st.fixed_dictionaries(
    {},
    optional={
        "signal": text(600, chars=prose),
        "evidence": st.lists(evidence, max_size=3),
        "diagnosis": text(600, chars=prose),
        "thresholds": st.lists(
            st.sampled_from(
                ["customer_impact", "outside_runbook", "cross_team_dependency", "slo_at_risk"]
            ),
            max_size=4,
        ),
        "proposed_action": text(300, chars=prose),
        "reversible": st.booleans() | st.none(),
        "agent_action": text(200, chars=prose),
        "runbook_url": text(200) | st.none(),
    },
)
zones = st.sampled_from(
    [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8))]
)
moments = st.datetimes(datetime(1970, 1, 2), datetime(2100, 1, 1), timezones=zones).map(
    lambda d: d.isoformat()
)


def valid_events(agent: str) -> Any:
    at_limits = st.fixed_dictionaries(
        {
            "source": st.just(agent),
            "dedup_key": st.text("abc", min_size=255, max_size=255),
            "title": st.just("t" * 200),
            "severity": st.just("green"),
            "labels": st.just({f"k{i:02d}" + "k" * 61: "v" * 256 for i in range(32)}),
        }
    )
    typical = st.fixed_dictionaries(
        {
            "source": st.just(agent),
            "dedup_key": text(255, min_size=1),
            "title": text(200, min_size=1),
            "severity": st.sampled_from(["red", "yellow", "green"]),
        },
        optional={
            "customer_impact": st.booleans(),
            "service": text(128) | st.none(),
            "labels": st.dictionaries(text(64, min_size=1), text(256), max_size=8),
            "occurred_at": moments | st.none(),
            "proof": proof,
        },
    )
    return st.one_of(typical, at_limits)


# --- mutations: each one makes a valid event invalid ------------------------------------------

controls = st.sampled_from([chr(c) for c in [*range(0x20), 0x7F, 0x85, 0x9F]])
hard_controls = controls.filter(lambda c: c not in "\t\n\r")


def _set(path: str, value: Any) -> Any:
    def apply(event: dict[str, Any]) -> dict[str, Any]:
        head, _, rest = path.partition(".")
        if rest:
            inner = dict(event.get(head) or {})
            inner[rest] = value
            return {**event, head: inner}
        return {**event, head: value}

    return apply


def field_mutations() -> Any:
    """(event -> event) changes that pydantic or the text rules must refuse."""
    drop = st.sampled_from(["source", "dedup_key", "title", "severity"]).map(
        lambda name: lambda e: {k: v for k, v in e.items() if k != name}
    )
    insert_control = st.tuples(
        st.sampled_from(["title", "dedup_key", "service", "source"]), controls
    ).map(lambda fc: lambda e: {**e, fc[0]: f"x{fc[1]}y"})
    prose_control = st.tuples(st.sampled_from(["signal", "diagnosis"]), hard_controls).map(
        lambda fc: _set(f"proof.{fc[0]}", f"a{fc[1]}b")
    )
    return st.one_of(
        drop,
        insert_control,
        prose_control,
        st.integers(201, 400).map(lambda n: _set("title", "t" * n)),
        st.integers(256, 400).map(lambda n: _set("dedup_key", "k" * n)),
        st.sampled_from(["title", "dedup_key", "source"]).map(lambda f: _set(f, "")),
        st.integers(33, 40).map(lambda n: _set("labels", {f"k{i}": "v" for i in range(n)})),
        st.just(_set("labels", {"k" * 65: "v"})),
        st.just(_set("labels", {"k": "v" * 257})),
        st.just(_set("labels", {"k": "two\nlines"})),
        st.sampled_from(["purple", "RED", "", "critical"]).map(lambda s: _set("severity", s)),
        st.sampled_from([1, None, True, ["red"]]).map(lambda s: _set("severity", s)),
        st.sampled_from(["true", 1, None, "yes"]).map(lambda v: _set("customer_impact", v)),
        st.sampled_from([[], "env=prod", {"k": 1}]).map(lambda v: _set("labels", v)),
        st.sampled_from(["2026-01-01T00:00:00", "yesterday", 1700000000]).map(
            lambda v: _set("occurred_at", v)
        ),
        st.sampled_from(["colour", "Title", "severity_class"]).map(lambda k: _set(k, "x")),
        st.just(_set("proof.thresholds", ["vibes"])),
        st.just(_set("proof.evidence", [{"label": "x"}] * 21)),
        st.just(_set("proof.signal", "s" * 2001)),
        st.just(_set("proof.unknown", 1)),
        st.just(_set("source", "someone-else")),
        st.just(_set("padding", "p" * 70_000)),
    )


def raw_mutations() -> Any:
    """(bytes -> bytes) changes to the serialized body itself."""
    return st.one_of(
        st.sampled_from([b"NaN", b"Infinity", b"-Infinity", b"1e999"]).map(
            lambda lit: lambda raw: raw[:-1] + b', "x": ' + lit + b"}"
        ),
        st.sampled_from(["\\ud800", "\\udfff", "\\udbff"]).map(
            lambda s: lambda raw: raw[:-1] + b', "title": "' + s.encode() + b'"}'
        ),
        st.just(lambda raw: raw[:-1] + b', "title": "dup"}'),
        st.integers(33, 80).map(
            lambda d: lambda raw: raw[:-1] + b', "x": ' + b"[" * d + b"]" * d + b"}"
        ),
        st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80"]).map(
            lambda bad: lambda raw: raw[:10] + bad + raw[10:]
        ),
        st.integers(0, 200).map(lambda n: lambda raw: raw[: min(n, len(raw) - 1)]),
        st.sampled_from([b"[]", b'"event"', b"42", b"null", b"", b"  "]).map(
            lambda body: lambda raw: body
        ),
    )


def mutated_events(agent: str) -> Any:
    by_field = st.tuples(valid_events(agent), field_mutations()).map(
        lambda em: _encode(em[1](em[0]))
    )
    by_bytes = st.tuples(valid_events(agent), raw_mutations()).map(lambda em: em[1](_encode(em[0])))
    noise = st.binary(max_size=300)  # never a valid event: it cannot name the agent as source
    return st.one_of(by_field, by_bytes, noise)


def _encode(event: dict[str, Any]) -> bytes:
    return json.dumps(event, ensure_ascii=False).encode()


# --- the run ----------------------------------------------------------------------------------


def test_fuzz_2000_payloads_no_5xx_every_refusal_coded_and_kept(nats_server: NatsServer) -> None:
    loop = asyncio.new_event_loop()
    stack = AsyncExitStack()
    intake: Intake = loop.run_until_complete(
        stack.enter_async_context(running_intake(nats_server.url))
    )
    agent, token = loop.run_until_complete(intake.agent(prefix="fuzz"))
    tally: Counter[str] = Counter()
    accepted: list[str] = []
    started = time.monotonic()

    def post(raw: bytes) -> tuple[int, dict[str, Any]]:
        response = loop.run_until_complete(
            intake.http.post(
                "/v1/events",
                content=raw,
                headers={**bearer(token), "Content-Type": "application/json"},
            )
        )
        return response.status_code, response.json()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(
        st.one_of(
            valid_events(agent).map(lambda e: ("valid", _encode(e))),
            mutated_events(agent).map(lambda raw: ("invalid", raw)),
        )
    )
    def check(case: tuple[str, bytes]) -> None:
        kind, raw = case
        status, body = post(raw)
        tally[kind] += 1
        assert status < 500, (status, body, raw[:300])
        if kind == "valid":
            assert status == 202, (body, raw[:300])
            accepted.append(body["escalation_id"])
            return
        assert 400 <= status < 500, (status, body, raw[:300])
        assert isinstance(body.get("error_code"), str), body
        assert isinstance(body.get("field"), str), body
        assert body["error_code"], body
        assert body["field"], body
        tally["refused"] += 1
        tally[f"code:{body['error_code']}"] += 1

    try:
        check()
        elapsed = time.monotonic() - started
        kept = loop.run_until_complete(intake.count(subjects.REJECTED, subjects.rejected(agent)))
        missing = loop.run_until_complete(_not_in_stream(intake, accepted))
        codes = {k[5:]: v for k, v in tally.items() if k.startswith("code:")}
        print(
            f"\n[fuzz] {tally['valid'] + tally['invalid']} payloads in {elapsed:.1f}s: "
            f"{tally['valid']} valid, {tally['invalid']} mutated; REJECTED {kept}; codes {codes}"
        )
        assert tally["valid"] + tally["invalid"] >= EXAMPLES
        assert tally["valid"] >= EXAMPLES // 5
        assert tally["invalid"] >= EXAMPLES // 5
        assert kept == tally["refused"]
        assert missing == []
    finally:
        loop.run_until_complete(stack.aclose())
        loop.close()


async def _not_in_stream(intake: Intake, escalations: list[str]) -> list[str]:
    missing = []
    for esc in set(escalations):
        if await intake.count(subjects.INCIDENTS, subjects.incident_accepted(esc)) < 1:
            missing.append(esc)
    return missing


# --- the compatibility doors: structural mutations of recorded payloads ---------------------

PAYLOADS = Path(__file__).parents[1] / "unit" / "intake" / "payloads"
COMPAT_EXAMPLES = 400
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text(30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text(10), inner, max_size=3),
    max_leaves=8,
)


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(doc, dict):
        for key, value in doc.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            found += _paths(value, (*prefix, index))
    return found


def _replaced(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    copy = json.loads(json.dumps(doc))
    target = copy
    for step in path[:-1]:
        target = target[step]
    if value is _DELETE and isinstance(target, dict):
        del target[path[-1]]
    else:
        target[path[-1]] = None if value is _DELETE else value
    return copy


_DELETE = object()


def mutated_payloads(recorded: dict[str, Any]) -> Any:
    paths = _paths(recorded)
    one = st.tuples(st.sampled_from(paths), json_values | st.just(_DELETE))
    return st.lists(one, min_size=1, max_size=3).map(lambda changes: _apply_all(recorded, changes))


def _apply_all(doc: Any, changes: list[tuple[tuple[Any, ...], Any]]) -> bytes:
    for path, value in changes:
        try:
            doc = _replaced(doc, path, value)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change removed the path
    return json.dumps(doc).encode()


def test_fuzz_compat_doors_never_5xx_and_keep_every_refusal(nats_server: NatsServer) -> None:
    loop = asyncio.new_event_loop()
    stack = AsyncExitStack()
    intake: Intake = loop.run_until_complete(
        stack.enter_async_context(running_intake(nats_server.url))
    )
    agent, token = loop.run_until_complete(intake.agent(prefix="fuzzc"))
    pd = json.loads((PAYLOADS / "pagerduty_trigger.json").read_text()) | {"routing_key": token}
    am = json.loads((PAYLOADS / "alertmanager_firing.json").read_text())
    tally: Counter[str] = Counter()

    @settings(
        max_examples=COMPAT_EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(
        st.one_of(
            mutated_payloads(pd).map(lambda raw: ("/v2/enqueue", raw)),
            mutated_payloads(am).map(lambda raw: ("/v1/integrations/alertmanager", raw)),
        )
    )
    def check(case: tuple[str, bytes]) -> None:
        path, raw = case
        response = loop.run_until_complete(
            intake.http.post(path, content=raw, headers=bearer(token))
        )
        body = response.json()
        assert response.status_code < 500, (response.status_code, body, raw[:300])
        tally["sent"] += 1
        if response.status_code >= 400:
            assert body["error_code"], body
            assert body["field"], body
            tally["refused"] += 1

    def kept(source: str) -> int:
        return loop.run_until_complete(intake.count(subjects.REJECTED, subjects.rejected(source)))

    try:
        # A body refused before its sender is known (unreadable, or a mangled routing key) is
        # kept under the anonymous subject; this session's tests run one at a time.
        anonymous_before = kept(ANONYMOUS)
        check()
        mine, anonymous = kept(agent), kept(ANONYMOUS) - anonymous_before
        print(
            f"\n[fuzz] compat: {dict(tally)}; REJECTED: {mine} the agent's, {anonymous} anonymous"
        )
        assert tally["sent"] >= COMPAT_EXAMPLES
        assert mine + anonymous == tally["refused"]
    finally:
        loop.run_until_complete(stack.aclose())
        loop.close()
