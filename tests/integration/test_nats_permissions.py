"""The per-service NATS users, against real servers (issue #11, acceptance 3).

A three-node cluster runs the Kubernetes config's text (nats_config renders the committed
file; here with loopback ports, a scratch store and fresh NKeys), provisioned with R3 streams.
Each service logs in with its own NKey and does everything it does in production: pull and
ack its durables, publish with a PubAck where it publishes, use its KV buckets. Then it tries
what it must not: another service's durable, the timer stream, the policy, other inboxes.
The compose and dev flavours (passwords) get a login check on one server each.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client as NATS
from nats.js.errors import KeyNotFoundError

from custody import nats_config, permissions, subjects
from custody.bus.provisioning import provision_jetstream
from custody.nkey import UserKey
from custody.runtime.nats_server import NatsServer, nats_server_binary
from custody.runtime.ports import free_port

ADMIN_PASSWORD = "admin-secret"


@dataclass
class Cluster:
    urls: list[str]
    keys: dict[str, UserKey]
    procs: list[subprocess.Popen[bytes]]

    @property
    def admin_url(self) -> str:
        return self.urls[0].replace("nats://", f"nats://{permissions.ADMIN}:{ADMIN_PASSWORD}@")


def _healthy(monitor: str) -> bool:
    try:
        with urllib.request.urlopen(f"{monitor}/healthz", timeout=1.0) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("nats-cluster")
    keys = {service: UserKey.generate() for service in subjects.SERVICES}
    env = {nats_config.nkey_env(s): k.public_key for s, k in keys.items()}
    env[nats_config.password_env(permissions.ADMIN)] = ADMIN_PASSWORD
    ports = [(free_port(), free_port(), free_port()) for _ in range(nats_config.NODES)]
    routes = [f"nats-route://127.0.0.1:{route}" for _, route, _ in ports]
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for i, (client, route, monitor) in enumerate(ports):
            node = nats_config.Node(
                routes=routes,
                store_dir=str(root / f"n{i}"),
                client=f"127.0.0.1:{client}",
                monitor=f"127.0.0.1:{monitor}",
                cluster=f"127.0.0.1:{route}",
            )
            conf = root / f"n{i}.conf"
            conf.write_text(nats_config.server_config(node, nats_config.nkey_credentials(), ""))
            node_env = {**os.environ, **env, nats_config.SERVER_NAME_ENV: f"n{i}"}
            with (root / f"n{i}.log").open("wb") as log:
                procs.append(
                    subprocess.Popen(
                        [str(nats_server_binary()), "-c", str(conf)],
                        env=node_env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
        deadline = time.monotonic() + 30
        monitors = [f"http://127.0.0.1:{m}" for _, _, m in ports]
        while not all(_healthy(m) for m in monitors):
            assert time.monotonic() < deadline, f"cluster not healthy; logs in {root}"
            time.sleep(0.1)
        yield Cluster([f"nats://127.0.0.1:{c}" for c, _, _ in ports], keys, procs)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=15)


@pytest.fixture(scope="module")
async def provisioned(cluster: Cluster) -> Cluster:
    """R3 streams, durables and buckets, as the admin; one message waiting on each durable."""
    nc = await _provision_connect(cluster.admin_url)
    try:
        js = nc.jetstream()
        await provision_jetstream(js, replicas=nats_config.NODES)
        for spec in subjects.CONSUMERS:
            subject = _concrete(spec.filter_subject)
            await js.publish(subject, b"{}", stream=spec.stream)
        info = await js.stream_info(subjects.INCIDENTS)
        assert info.config.num_replicas == nats_config.NODES
    finally:
        await nc.close()
    return cluster


async def _provision_connect(url: str) -> NATS:
    # Right after start the cluster may still be electing its JetStream meta leader.
    deadline = time.monotonic() + 30
    while True:
        nc = await nats.connect(url, connect_timeout=5)
        try:
            await nc.jetstream().account_info()
            return nc
        except Exception:
            await nc.close()
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


def _concrete(pattern: str) -> str:
    return pattern.replace("*", "x").replace(">", "esc-perm.t1")


class Session:
    """One service's connection, collecting the permission errors the server sends back."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.errors: list[str] = []
        self.nc = NATS()

    async def connect(self, url: str, key: UserKey) -> None:
        async def on_error(exc: Exception) -> None:
            self.errors.append(str(exc))

        # nats-py learns the public key only through the optional `nkeys` package; give it
        # directly and sign the nonce with custody.nkey.
        self.nc._public_nkey = key.public_key
        await self.nc.connect(
            url,
            signature_cb=key.sign,
            inbox_prefix=f"_INBOX_{self.service}".encode(),
            error_cb=on_error,
            allow_reconnect=False,
            connect_timeout=5,
        )

    async def violations(self) -> list[str]:
        await asyncio.sleep(0.2)  # -ERR arrives asynchronously
        return [e for e in self.errors if "permissions violation" in e.lower()]


@pytest.fixture
async def session(provisioned: Cluster, request: pytest.FixtureRequest) -> AsyncIterator[Session]:
    service: str = request.param
    s = Session(service)
    await s.connect(provisioned.urls[1], provisioned.keys[service])
    yield s
    await s.nc.close()


SERVICES = pytest.mark.parametrize("session", subjects.SERVICES, indirect=True)


@SERVICES
async def test_each_service_pulls_and_acks_its_own_durables(session: Session) -> None:
    js = session.nc.jetstream()
    for spec in subjects.SERVICE_CONSUMERS[session.service]:
        sub = await js.pull_subscribe(
            spec.filter_subject,
            durable=spec.durable,
            stream=spec.stream,
            inbox_prefix=f"_INBOX_{session.service}.".encode(),
        )
        (msg,) = await sub.fetch(1, timeout=5)
        await msg.ack_sync(timeout=5)
        await sub.unsubscribe()
    assert await session.violations() == []


@SERVICES
async def test_each_service_publishes_with_a_puback_where_it_publishes(session: Session) -> None:
    js = session.nc.jetstream()
    grant = permissions.permissions_for(session.service)
    for pattern in grant.publish_allow:
        if pattern.startswith("$"):
            continue  # API and ack subjects: exercised by the other tests
        subject = _concrete(pattern)
        ack = await js.publish(subject, b"{}", stream=subjects.stream_for(subject), timeout=5)
        assert ack.seq > 0, subject
    assert await session.violations() == []


@SERVICES
async def test_each_service_uses_its_buckets_as_granted(session: Session) -> None:
    js = session.nc.jetstream()
    for bucket, access in permissions.GRANTS[session.service].buckets.items():
        kv = await js.key_value(bucket)
        with pytest.raises(KeyNotFoundError):
            await kv.get(f"absent-{session.service}")
        if "write" in access:
            revision = await kv.put(f"probe-{session.service}", b"1")
            assert (await kv.get(f"probe-{session.service}")).revision == revision
        if "watch" in access:
            watcher = await kv.watchall()
            await watcher.stop()  # type: ignore[no-untyped-call]  # nats-py leaves it untyped
    for stream in permissions.GRANTS[session.service].reads_streams:
        info = await js.stream_info(stream)
        if info.state.last_seq:
            await js.get_msg(stream, info.state.last_seq)
    for listen in permissions.GRANTS[session.service].listens:
        sub = await session.nc.subscribe(listen)
        await sub.unsubscribe()
    # The durability guard reads every stream's and durable's configuration at start.
    for spec in subjects.STREAMS:
        await js.stream_info(spec.name)
    for consumer in subjects.CONSUMERS:
        await js.consumer_info(consumer.stream, consumer.durable)
    await session.nc.flush()
    assert await session.violations() == []


async def _refused_publish(session: Session, subject: str) -> bool:
    session.errors.clear()
    await session.nc.publish(subject, b"{}")
    await session.nc.flush()
    return bool(await session.violations())


@SERVICES
async def test_only_the_escalator_may_publish_on_the_timer_stream(session: Session) -> None:
    for subject in ("timers.tmr.esc-1.ack", "timers.due.esc-1.ack", "timers.cancel.esc-1.ack"):
        assert await _refused_publish(session, subject) == (session.service != "escalator")


@SERVICES
async def test_no_service_reads_another_services_durable_or_changes_the_bus(
    session: Session,
) -> None:
    own = subjects.SERVICE_CONSUMERS[session.service]
    others = [c for c in subjects.CONSUMERS if c not in own]
    for spec in others:
        subject = f"$JS.API.CONSUMER.MSG.NEXT.{spec.stream}.{spec.durable}"
        assert await _refused_publish(session, subject), spec.durable
        assert await _refused_publish(session, f"$JS.ACK.{spec.stream}.{spec.durable}.1.1.1.1.0")
    for api in (
        "STREAM.DELETE.INCIDENTS",
        "STREAM.PURGE.TIMERS",
        "STREAM.UPDATE.DLQ",
        "CONSUMER.DELETE.PAGES.notifier",
    ):
        assert await _refused_publish(session, f"$JS.API.{api}"), api
    assert await _refused_publish(session, "$KV.policy.current")
    assert await _refused_publish(session, "$KV.credentials.someone")


@SERVICES
async def test_no_service_listens_on_anothers_inbox(session: Session) -> None:
    session.errors.clear()
    await session.nc.subscribe("_INBOX.>")
    other = "router" if session.service != "router" else "intake"
    await session.nc.subscribe(f"_INBOX_{other}.>")
    await session.nc.flush()
    assert len(await session.violations()) == 2


async def test_a_wrong_nkey_cannot_log_in(provisioned: Cluster) -> None:
    s = Session("router")
    with pytest.raises(Exception, match=r"(?i)authorization"):
        await s.connect(provisioned.urls[0], UserKey.generate())
    await s.nc.close()


# --- the password flavours: docker-compose and the embedded dev server ------------------------


def _start_single(tmp: Path, auth: str, env: dict[str, str]) -> NatsServer:
    server = NatsServer(tmp, extra_config=auth)
    previous = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # nats-server resolves $VARIABLES from its environment
    try:
        server.start()
    finally:
        for k, v in previous.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return server


async def test_compose_password_users_log_in_as_themselves(tmp_path: Path) -> None:
    passwords = {u: f"pw-{u}" for u in permissions.matrix()}
    env = {nats_config.password_env(u): pw for u, pw in passwords.items()}
    auth = nats_config.render_authorization(nats_config.password_credentials())
    server = _start_single(tmp_path, auth, env)
    try:
        for user, password in passwords.items():
            nc = await nats.connect(server.url, user=user, password=password, connect_timeout=5)
            await nc.close()
        with pytest.raises(Exception, match=r"(?i)authorization"):
            await nats.connect(server.url, allow_reconnect=False, connect_timeout=5)
    finally:
        server.stop()


async def test_dev_server_gives_services_their_own_users_and_anonymous_the_admin(
    tmp_path: Path,
) -> None:
    passwords = nats_config.dev_passwords(tmp_path / "nats-users.json")
    server = _start_single(tmp_path / "nats", nats_config.render_dev_authorization(passwords), {})
    try:
        router = Session("router")
        router.nc = await nats.connect(
            server.url,
            user="router",
            password=passwords["router"],
            error_cb=_collect(router.errors),
            allow_reconnect=False,
        )
        assert await _refused_publish(router, "timers.tmr.esc-1.x")
        await router.nc.close()
        anonymous = await nats.connect(server.url)  # the CLI, tests and bench on loopback
        await anonymous.jetstream().account_info()
        await anonymous.close()
    finally:
        server.stop()


def _collect(errors: list[str]) -> Callable[[Exception], Awaitable[None]]:
    async def on_error(exc: Exception) -> None:
        errors.append(str(exc))

    return on_error
