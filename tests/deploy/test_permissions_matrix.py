"""The per-service NATS permission matrix (permissions.py) covers everything in subjects.py,
grants nothing twice over, and keeps the timer stream to the escalator."""

from __future__ import annotations

import pytest

from custody import nats_config, permissions, subjects


def covers(patterns: tuple[str, ...], subject: str) -> bool:
    """NATS wildcard matching: `*` is one token, a final `>` one or more."""
    want = subject.split(".")
    for pattern in patterns:
        tokens = pattern.split(".")
        for i, token in enumerate(tokens):
            if token == ">":
                if len(want) > i:
                    return True
                break
            if i >= len(want) or token not in ("*", want[i]):
                break
        else:
            if len(tokens) == len(want):
                return True
    return False


def publishers(subject: str) -> set[str]:
    return {
        user
        for user, perms in permissions.matrix().items()
        if covers(perms.publish_allow, subject) and not covers(perms.publish_deny, subject)
    }


def test_matrix_has_the_five_services_and_the_admin() -> None:
    assert set(permissions.matrix()) == {*subjects.SERVICES, permissions.ADMIN}
    assert set(permissions.GRANTS) == set(subjects.SERVICES)


@pytest.mark.parametrize("spec", subjects.STREAMS, ids=lambda s: s.name)
def test_every_stream_has_a_publisher_besides_the_admin(spec: subjects.StreamSpec) -> None:
    if spec.name == subjects.ADVISORIES:
        pytest.skip("the server itself publishes advisories")
    heads = {pattern.split(".")[0] for pattern in spec.subjects}
    granted = [
        service
        for service in subjects.SERVICES
        if any(
            pattern.split(".")[0] in heads
            for pattern in permissions.permissions_for(service).publish_allow
        )
    ]
    assert granted, f"no service may publish on {spec.name}: add it to permissions.GRANTS"


@pytest.mark.parametrize("bucket", subjects.KV_BUCKETS)
def test_every_bucket_is_granted_to_someone(bucket: str) -> None:
    holders = [s for s, grant in permissions.GRANTS.items() if bucket in grant.buckets]
    assert holders, f"no service may use KV {bucket}: add it to permissions.GRANTS"


def test_only_the_escalator_and_the_admin_publish_timers() -> None:
    for subject in ("timers.tmr.esc-1.ack", "timers.due.esc-1.ack", "timers.cancel.esc-1.ack"):
        assert publishers(subject) == {"escalator", permissions.ADMIN}
    assert permissions.schedule_subjects() == subjects.STREAM_BY_NAME[subjects.TIMERS].subjects


def test_page_requests_come_only_from_the_escalator_and_outcomes_only_from_the_notifier() -> None:
    assert publishers(subjects.page_requested("esc-1")) == {"escalator", permissions.ADMIN}
    for outcome in ("sent", "failed", "in_doubt", "skipped"):
        assert publishers(subjects.page_outcome(outcome, "esc-1")) == {
            "notifier",
            permissions.ADMIN,
        }


def test_stream_publishers_are_who_the_pipeline_says() -> None:
    assert publishers(subjects.incident_accepted("e")) == {"intake", permissions.ADMIN}
    assert publishers(subjects.command("e")) == {"intake", permissions.ADMIN}
    assert publishers(subjects.routed("e")) == {"router", "escalator", permissions.ADMIN}
    assert publishers(subjects.custody_fact("offered", "e")) == {"escalator", permissions.ADMIN}
    assert publishers(subjects.rejected("agent")) == {"intake", permissions.ADMIN}
    assert publishers(subjects.dead_letter("PAGES", "notifier")) == {
        *subjects.SERVICES,
        permissions.ADMIN,
    }


@pytest.mark.parametrize("service", subjects.SERVICES)
def test_each_service_pulls_and_acks_only_its_own_durables(service: str) -> None:
    perms = permissions.permissions_for(service)
    own = subjects.SERVICE_CONSUMERS[service]
    for spec in subjects.CONSUMERS:
        pull = f"$JS.API.CONSUMER.MSG.NEXT.{spec.stream}.{spec.durable}"
        ack = f"$JS.ACK.{spec.stream}.{spec.durable}.1.2.3.4.0"
        assert covers(perms.publish_allow, pull) == (spec in own), spec.durable
        assert covers(perms.publish_allow, ack) == (spec in own), spec.durable


@pytest.mark.parametrize("service", subjects.SERVICES)
def test_no_service_may_change_streams_durables_or_buckets(service: str) -> None:
    allow = permissions.permissions_for(service).publish_allow
    for api in (
        "STREAM.CREATE.INCIDENTS",
        "STREAM.UPDATE.TIMERS",
        "STREAM.DELETE.TIMERS",
        "STREAM.PURGE.TIMERS",
        "STREAM.MSG.DELETE.TIMERS",
        "CONSUMER.DELETE.ROUTED.escalator-routed",
        "CONSUMER.CREATE.PAGES.notifier",
        "CONSUMER.DURABLE.CREATE.PAGES.notifier",
        "STREAM.PURGE.KV_policy",
    ):
        assert not covers(allow, f"$JS.API.{api}"), f"{service} may {api}"


@pytest.mark.parametrize("service", subjects.SERVICES)
def test_each_service_subscribes_only_to_its_inbox_and_named_subjects(service: str) -> None:
    subscribe = permissions.permissions_for(service).subscribe_allow
    assert subscribe[0] == f"_INBOX_{service}.>"
    assert not covers(subscribe, "_INBOX.abc")  # nobody reads another client's replies
    assert ">" not in subscribe


def test_policy_is_writable_only_by_the_admin() -> None:
    assert publishers("$KV.policy.current") == {permissions.ADMIN}
    assert publishers("$KV.credentials.abc") == {permissions.ADMIN}
    assert publishers("$KV.escalations.esc-1") == {"escalator", permissions.ADMIN}
    assert publishers("$KV.page_claims.p1") == {"notifier", permissions.ADMIN}


def test_rendering_refuses_a_user_without_credentials() -> None:
    creds = {u: nats_config.Credential("password", "x") for u in subjects.SERVICES}
    with pytest.raises(ValueError, match="admin"):
        nats_config.render_authorization(creds)


def test_dev_passwords_are_kept_private_and_stable(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "nats-users.json"
    first = nats_config.dev_passwords(path)
    assert nats_config.dev_passwords(path) == first
    assert set(first) == set(permissions.matrix())
    assert path.stat().st_mode & 0o777 == 0o600
