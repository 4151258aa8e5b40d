"""Least-privilege NATS users: one per service, plus an admin for provisioning.

Streams, durables and KV buckets come from `subjects.py`, so a new durable or bucket flows
into every rendered config (dev stack, compose, Kubernetes). What `subjects.py` cannot say is
*who* publishes where and who touches which bucket: that is the `GRANTS` table below, and a
test fails when a stream or bucket in `subjects.py` has nobody granted to it.

A grant turns into subject permissions this way:

- publishing on a stream subject is a plain publish; its PubAck comes back on the service's
  own inbox (`_INBOX_<service>.>`, see `bus/connection.py`);
- a durable pull consumer needs its INFO and MSG.NEXT API calls and its ack subject
  (`$JS.ACK.<stream>.<durable>.>`: ack, nak, term and +WPI all go there); durables are
  provisioned, so no service may create, update or delete one;
- every service may read the INFO of every Custody stream and durable (the durability guard
  checks them at start), which shows configuration and counts, never messages;
- a KV bucket read is STREAM.INFO plus DIRECT.GET/MSG.GET on `KV_<bucket>`; a write is a
  publish on `$KV.<bucket>.>`; listing keys or watching needs an ordered consumer.
"""

from __future__ import annotations

import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

from custody import subjects
from custody.contracts.facts import PageOutcomeKind

ADMIN: Final = "admin"  # `custody provision`, `custody policy apply`: everything
JS_API: Final = "$JS.API"

Access = Literal["read", "write", "watch"]
READ: Final[frozenset[Access]] = frozenset({"read"})
READ_WRITE: Final[frozenset[Access]] = frozenset({"read", "write"})


def _stream_subjects(stream: str) -> tuple[str, ...]:
    return subjects.STREAM_BY_NAME[stream].subjects


def _page_outcomes() -> tuple[str, ...]:
    """pages.<outcome>.> for every outcome the contract knows, never pages.requested.>."""
    return tuple(
        subjects.page_outcome(kind.removeprefix("page_"), ">")
        for kind in typing.get_args(PageOutcomeKind)
    )


@dataclass(frozen=True)
class Grant:
    """What one service does on the bus beyond consuming its durables (from subjects.py)."""

    publishes: tuple[str, ...]
    buckets: Mapping[str, frozenset[Access]] = field(default_factory=dict)
    reads_streams: tuple[str, ...] = ()  # direct reads of stored messages (no consumer)
    listens: tuple[str, ...] = ()  # core NATS subscriptions besides its own inbox
    answers_requests: bool = False  # may reply to a requester's inbox (allow_responses)


# Every service may dead-letter (bus/consuming.py publishes dlq.<stream>.<durable>).
_DEAD_LETTERS = _stream_subjects(subjects.DLQ)

GRANTS: Final[Mapping[str, Grant]] = {
    "intake": Grant(
        publishes=(
            subjects.incident_accepted(">"),
            subjects.incident_seen_again(">"),
            subjects.command(">"),
            *_stream_subjects(subjects.REJECTED),
        ),
        buckets={
            subjects.KV_CREDENTIALS: READ,
            subjects.KV_DEDUP: READ_WRITE,
            subjects.KV_ESCALATIONS: READ,
            subjects.KV_POLICY: READ,  # who is an admin
            # Replicas scan every heartbeat for silences, through a short-lived watcher.
            subjects.KV_HEARTBEATS: frozenset({"read", "write", "watch"}),
            subjects.KV_CALLBACKS: READ_WRITE,  # spent action tokens, replayed callbacks
            subjects.KV_DELIVERY: READ,  # SMS reply codes the notifier handed out
        },
        reads_streams=(subjects.REJECTED,),  # `custody rejected` lists them back
        # Command outcomes come back on custody.outcome.<id>; agents request on intake.events.
        listens=(subjects.command_outcome(">"), f"{subjects.INTAKE_EVENTS}.>"),
        answers_requests=True,
    ),
    "router": Grant(
        publishes=(subjects.routed(">"),),
        buckets={subjects.KV_POLICY: READ},
    ),
    "escalator": Grant(
        publishes=(
            *_stream_subjects(subjects.CUSTODY),
            subjects.page_requested(">"),
            *_stream_subjects(subjects.TIMERS),
            subjects.routed(">"),  # meta-incidents ("the cap was hit") re-enter as routed
        ),
        buckets={subjects.KV_ESCALATIONS: READ_WRITE, subjects.KV_POLICY: READ},
    ),
    "notifier": Grant(
        publishes=_page_outcomes(),
        buckets={
            subjects.KV_PAGE_CLAIMS: READ_WRITE,
            subjects.KV_DELIVERY: READ_WRITE,  # reply codes, throttles, digests, notices
            subjects.KV_ESCALATIONS: READ,
            subjects.KV_POLICY: READ,
        },
    ),
    "ledger": Grant(
        # Signed checkpoints of the chain: a copy of the proof kept outside Postgres.
        publishes=(subjects.ledger_checkpoint(),),
        buckets={subjects.KV_CREDENTIALS: READ, subjects.KV_POLICY: READ},
    ),
}


def schedule_subjects() -> tuple[str, ...]:
    """Subjects of schedule-enabled streams: one `Nats-Rollup: all` there wipes every pending
    timer (notes/jetstream.md), so only the escalator (and the admin) may publish on them."""
    return tuple(s for spec in subjects.STREAMS if spec.schedules for s in spec.subjects)


# --- the matrix -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Permissions:
    publish_allow: tuple[str, ...]
    subscribe_allow: tuple[str, ...]
    publish_deny: tuple[str, ...] = ()
    allow_responses: bool = False


def inbox(service: str) -> str:
    """nats-py appends ".<nuid>" to the prefix `make_broker` sets (`_INBOX_<service>`)."""
    return f"_INBOX_{service}.>"


def consumer_rights(spec: subjects.ConsumerSpec) -> tuple[str, ...]:
    return (
        f"{JS_API}.CONSUMER.INFO.{spec.stream}.{spec.durable}",
        f"{JS_API}.CONSUMER.MSG.NEXT.{spec.stream}.{spec.durable}",
        f"$JS.ACK.{spec.stream}.{spec.durable}.>",
    )


def stream_read_rights(stream: str) -> tuple[str, ...]:
    return (
        f"{JS_API}.STREAM.INFO.{stream}",
        f"{JS_API}.STREAM.MSG.GET.{stream}",
        f"{JS_API}.DIRECT.GET.{stream}",
        f"{JS_API}.DIRECT.GET.{stream}.>",
    )


def bucket_rights(bucket: str, access: Iterable[Access]) -> tuple[str, ...]:
    stream = f"KV_{bucket}"
    rights: list[str] = []
    granted = set(access)
    if granted & {"read", "write", "watch"}:
        # nats-py opens a bucket with STREAM.INFO; a write that races (create on a deleted
        # key, update) reads the entry first, so every access level can read.
        rights += [
            f"{JS_API}.STREAM.INFO.{stream}",
            f"{JS_API}.DIRECT.GET.{stream}",
            f"{JS_API}.DIRECT.GET.{stream}.>",
            f"{JS_API}.STREAM.MSG.GET.{stream}",
        ]
    if "write" in granted:
        rights.append(f"$KV.{bucket}.>")
    if "watch" in granted:
        # keys()/watch() run an ordered push consumer: created, flow-controlled, deleted.
        rights += [
            f"{JS_API}.CONSUMER.CREATE.{stream}",
            f"{JS_API}.CONSUMER.CREATE.{stream}.>",
            f"{JS_API}.CONSUMER.INFO.{stream}.>",
            f"{JS_API}.CONSUMER.DELETE.{stream}.>",
            f"$JS.FC.{stream}.>",
        ]
    return tuple(rights)


def metadata_rights() -> tuple[str, ...]:
    """Read-only INFO on every Custody stream and durable: the durability guard checks their
    configuration when any service starts (durability.py). No data, no changes."""
    return (
        *(f"{JS_API}.STREAM.INFO.{spec.name}" for spec in subjects.STREAMS),
        *(f"{JS_API}.CONSUMER.INFO.{c.stream}.{c.durable}" for c in subjects.CONSUMERS),
    )


def permissions_for(service: str) -> Permissions:
    grant = GRANTS[service]
    publish: list[str] = [*grant.publishes, *_DEAD_LETTERS]
    for spec in subjects.SERVICE_CONSUMERS[service]:
        publish += consumer_rights(spec)
    for stream in grant.reads_streams:
        publish += stream_read_rights(stream)
    for bucket, access in sorted(grant.buckets.items()):
        publish += bucket_rights(bucket, access)
    publish += metadata_rights()
    deny: tuple[str, ...] = ()
    if not any(s in grant.publishes for s in schedule_subjects()):
        deny = schedule_subjects()  # explicit, so a later broad allow cannot reopen it
    return Permissions(
        publish_allow=_unique(publish),
        subscribe_allow=(inbox(service), *grant.listens),
        publish_deny=deny,
        allow_responses=grant.answers_requests,
    )


ADMIN_PERMISSIONS: Final = Permissions(publish_allow=(">",), subscribe_allow=(">",))


def matrix() -> dict[str, Permissions]:
    """Every NATS user Custody needs: the five services and the admin."""
    users = {service: permissions_for(service) for service in subjects.SERVICES}
    users[ADMIN] = ADMIN_PERMISSIONS
    return users


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))
