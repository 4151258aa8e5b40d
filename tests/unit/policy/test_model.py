"""The policy model: the example shows every feature, YAML quirks read as meant, versions are
content-addressed, and the committed JSON Schema is current."""

from __future__ import annotations

import json
from datetime import time
from pathlib import Path

import pytest

from custody.policy import Policy, load_policy, load_policy_text, policy_version
from custody.policy.schema import SCHEMA_PATH, render_schema
from custody.provisioning import EXAMPLE_POLICY

E2E_POLICY = Path(__file__).parents[2] / "e2e" / "policy.yaml"
EXAMPLE = load_policy(EXAMPLE_POLICY)


def test_example_keeps_the_contract_cast() -> None:
    """CONTRACT.md § The example policy."""
    payments = EXAMPLE.teams["payments"]
    assert payments.schedule.primary.members == ("bob",)
    assert payments.schedule.secondary is not None
    assert payments.schedule.secondary.members == ("carol",)
    assert (payments.manager, payments.last_resort) == ("dave", "dave")
    assert EXAMPLE.operators == ("alice",)
    assert EXAMPLE.admins == ("dave",)
    assert "monitor-1" in EXAMPLE.agents
    on_rotation = {*payments.schedule.primary.members, *payments.schedule.secondary.members}
    assert "alice" not in on_rotation
    for person in EXAMPLE.people.values():
        assert person.timezone
        assert person.contacts.sms
        assert person.contacts.email
        assert person.contacts.chat
    matches = {route.id: route.match for route in EXAMPLE.routes}
    assert matches["checkout"].service == "checkout"
    assert matches["no-service"].no_service


def test_example_shows_every_feature() -> None:
    team = EXAMPLE.teams["payments"]
    assert team.schedule.overrides
    assert team.substitute
    assert all(team.exceptions.owner_of(k) for k in ("data_missing", "legal_hold"))
    assert team.exceptions.owner_of("cross_team_dependency") is not None
    assert any(p.quiet_hours.start != time(22, 0) for p in EXAMPLE.people.values())
    assert "presence" in EXAMPLE_POLICY.read_text()  # shown, and off
    assert not any(p.presence.awake for p in EXAMPLE.people.values())
    assert {i.name for i in EXAMPLE.classification.inputs} == {"pagerduty", "alertmanager"}
    assert EXAMPLE.severity["yellow"].promote_after == 900.0
    assert EXAMPLE.severity["red"].acceptance_sla is not None
    assert EXAMPLE.caps.pages_per_24h == 3
    assert EXAMPLE.default_team == "payments"


def test_the_e2e_policy_still_loads() -> None:
    load_policy(E2E_POLICY)


def test_unquoted_times_and_dates_read_as_meant() -> None:
    """YAML 1.1 reads 22:00 as the number 1320 and 2026-01-05 as a date."""
    text = EXAMPLE_POLICY.read_text().replace(
        '{start: "22:00", end: "07:00"}', "{start: 21:30, end: 06:00}"
    )
    policy = load_policy_text(text)
    hours = policy.people["bob"].quiet_hours
    assert (hours.start, hours.end) == (time(21, 30), time(6, 0))
    assert str(policy.teams["payments"].schedule.primary.start) == "2026-01-05"


def test_a_class_keeps_its_documented_defaults_for_fields_it_omits() -> None:
    policy = load_policy_text(E2E_POLICY.read_text() + "severity:\n  yellow: {channels: [chat]}\n")
    yellow = policy.severity["yellow"]
    assert yellow.channels == ("chat",)
    assert (yellow.promote_after, yellow.promote_to) == (900.0, ("sms",))
    assert policy.severity["red"].channels == ("sms",)  # a class left out keeps its plan


def test_version_survives_the_round_trip_through_kv_json() -> None:
    document = json.loads(json.dumps(EXAMPLE.model_dump(mode="json")))
    assert policy_version(Policy.model_validate(document)) == policy_version(EXAMPLE)


def test_version_changes_with_content() -> None:
    other = EXAMPLE_POLICY.read_text().replace("wait: 10m", "wait: 11m")
    assert policy_version(load_policy_text(other)) != policy_version(EXAMPLE)


def test_a_policy_built_in_code_still_checks_references() -> None:
    document = EXAMPLE.model_dump(mode="json")
    document["default_team"] = "nope"
    with pytest.raises(ValueError, match="default_team: unknown team 'nope'"):
        Policy.model_validate(document)


def test_committed_json_schema_is_current() -> None:
    """Regenerate with `custody policy schema --output libs/custody/policy/policy.schema.json`."""
    assert SCHEMA_PATH.read_text(encoding="utf-8") == render_schema()


def test_json_schema_describes_the_yaml_forms() -> None:
    schema = json.loads(render_schema())
    level = schema["$defs"]["ChainLevel"]["properties"]
    assert {"type": "string", "pattern": level["wait"]["anyOf"][1]["pattern"]} in level["wait"][
        "anyOf"
    ]
    assert schema["additionalProperties"] is False  # editors flag a misspelt section
    assert "people" in schema["required"]
