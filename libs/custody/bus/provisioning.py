"""Idempotent provisioning of every stream, durable consumer and KV bucket (`custody provision`).

Services never declare streams: FastStream's auto-declare overwrites stream settings
(notes/jetstream.md). This module is the single place their configuration lives.
"""

from __future__ import annotations

from dataclasses import dataclass

import nats
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    KeyValueConfig,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import NotFoundError

from custody import subjects

DUPLICATE_WINDOW_S = 3600.0  # >= 1 h: retries after an outage still dedupe
MAX_MSG_SIZE = 1024 * 1024  # explicit: the server default is only an accident of config
PIPELINE_MAX_AGE_S = 30 * 24 * 3600.0  # the ledger is the record; streams are the pipe


@dataclass(frozen=True)
class ProvisionReport:
    streams: tuple[str, ...]
    consumers: tuple[str, ...]
    buckets: tuple[str, ...]


def stream_config(spec: subjects.StreamSpec, replicas: int = 1) -> StreamConfig:
    config = StreamConfig(
        name=spec.name,
        description=spec.description,
        subjects=list(spec.subjects),
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        num_replicas=replicas,
        duplicate_window=DUPLICATE_WINDOW_S,
        max_msg_size=MAX_MSG_SIZE,
        discard=DiscardPolicy.OLD,
        max_age=PIPELINE_MAX_AGE_S,
    )
    if spec.name == subjects.CHECKPOINTS:
        config.max_age = 0  # signed checkpoints are evidence: kept for as long as the ledger
    if spec.schedules:
        # Any max_age/max_msgs/max_bytes eviction silently cancels a pending timer, so the
        # timer stream is unbounded and its records expire by per-message TTL instead.
        config.max_age = 0
        config.allow_msg_schedules = True
        config.allow_msg_ttl = True
    return config


def consumer_config(spec: subjects.ConsumerSpec) -> ConsumerConfig:
    return ConsumerConfig(
        durable_name=spec.durable,
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=spec.ack_wait_s,
        max_deliver=spec.max_deliver,
        backoff=list(spec.backoff_s) or None,
        filter_subject=None if spec.more_filters else spec.filter_subject,
        filter_subjects=list(spec.filters) if spec.more_filters else None,
        max_ack_pending=1000,
    )


async def provision_jetstream(js: JetStreamContext, replicas: int = 1) -> ProvisionReport:
    """Create or update everything. Safe to run any number of times, on a live system."""
    for spec in subjects.STREAMS:
        config = stream_config(spec, replicas)
        try:
            await js.stream_info(spec.name)
        except NotFoundError:
            await js.add_stream(config)
        else:
            await js.update_stream(config)
    for consumer in subjects.CONSUMERS:
        # add_consumer creates or updates; a subscriber's own config never updates a durable.
        await js.add_consumer(consumer.stream, consumer_config(consumer))
    for bucket in subjects.KV_BUCKETS:
        await _provision_bucket(js, bucket, replicas)
    return ProvisionReport(
        streams=tuple(s.name for s in subjects.STREAMS),
        consumers=tuple(c.durable for c in subjects.CONSUMERS),
        buckets=subjects.KV_BUCKETS,
    )


def direct_reads(replicas: int) -> bool:
    """Whether a bucket answers reads by direct get. On one server a direct get reads exactly
    what the leader has, and costs the server and the reader far less than the JSON
    STREAM.MSG.GET API (no base64, no header parsing). With replicas, a direct get may be
    answered by a follower that has not yet applied the latest write (nats-server#6557), so
    replicated buckets keep leader reads: the notifier's look at an escalation after claiming
    a page must see an ack that was just written."""
    return replicas == 1


async def _provision_bucket(js: JetStreamContext, bucket: str, replicas: int) -> None:
    """Create the bucket, or bring an existing one's read mode in line (its other settings are
    the ones it was created with)."""
    direct = direct_reads(replicas)
    try:
        info = await js.stream_info(f"KV_{bucket}")
    except NotFoundError:
        await js.create_key_value(
            KeyValueConfig(
                bucket=bucket,
                history=5,
                storage=StorageType.FILE,
                replicas=replicas,
                max_value_size=MAX_MSG_SIZE,
                direct=direct,
            )
        )
        return
    if bool(info.config.allow_direct) != direct:
        info.config.allow_direct = direct
        await js.update_stream(info.config)


async def provision(nats_url: str, replicas: int = 1) -> ProvisionReport:
    nc = await nats.connect(nats_url, name="custody-provision", connect_timeout=5)
    try:
        return await provision_jetstream(nc.jetstream(), replicas)
    finally:
        await nc.close()
