"""The durability guard: refuse to run on a bus or database that could lose acknowledged data.

Checked at provisioning and at every service's start. Each violation is one line saying what is
wrong and what to change; any violation stops the process (notes/jetstream.md explains each).
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from nats.js import JetStreamContext
from nats.js.api import StorageType
from nats.js.errors import NotFoundError

from custody import subjects
from custody.bus.provisioning import DUPLICATE_WINDOW_S

MIN_SERVER = (2, 14, 0)  # message schedules with atomic cancel


class DurabilityError(RuntimeError):
    """One line per violation."""


def version_tuple(version: str) -> tuple[int, ...]:
    core = version.split("-", 1)[0]
    return tuple(int(part) for part in core.split(".") if part.isdigit())


def server_violations(varz: dict[str, Any]) -> list[str]:
    """From the monitor's /varz: the server version and fsync-per-write."""
    problems = []
    version = str(varz.get("version", "0"))
    if version_tuple(version) < MIN_SERVER:
        wanted = ".".join(map(str, MIN_SERVER))
        problems.append(f"nats-server {version} is older than {wanted} (message schedules)")
    config = (varz.get("jetstream") or {}).get("config") or {}
    if not config.get("sync_always"):
        problems.append(
            "nats-server fsyncs lazily: set `jetstream { sync_interval: always }` in its config"
        )
    return problems


def stream_violations(name: str, config: Any) -> list[str]:
    problems = []
    if config.storage != StorageType.FILE:
        problems.append(f"stream {name}: storage must be file, not {config.storage}")
    if (config.duplicate_window or 0) < DUPLICATE_WINDOW_S:
        window = config.duplicate_window
        problems.append(f"stream {name}: duplicate_window {window}s < {DUPLICATE_WINDOW_S:.0f}s")
    if not config.max_msg_size or config.max_msg_size < 0:
        problems.append(f"stream {name}: max_msg_size must be set explicitly")
    if getattr(config, "persist_mode", None) not in (None, "default"):
        problems.append(f"stream {name}: persist_mode {config.persist_mode} acks before writing")
    return problems


async def jetstream_violations(js: JetStreamContext, service: str | None = None) -> list[str]:
    """Every stream (or those a service uses) and its durables, as provisioning made them."""
    problems: list[str] = []
    # A service checks the streams it consumes (intake consumes none: only the DLQ it may
    # write to); no service named means everything, as provisioning made it.
    specs = subjects.SERVICE_CONSUMERS.get(service, ()) if service else subjects.CONSUMERS
    wanted = {c.stream for c in specs} if service else {s.name for s in subjects.STREAMS}
    wanted.add(subjects.DLQ)
    for name in sorted(wanted):
        try:
            info = await js.stream_info(name)
        except NotFoundError:
            problems.append(f"stream {name} is missing: run `custody provision`")
            continue
        problems += stream_violations(name, info.config)
    for consumer in specs:
        try:
            info = await js.consumer_info(consumer.stream, consumer.durable)
        except NotFoundError:
            problems.append(f"consumer {consumer.durable} is missing: run `custody provision`")
            continue
        if info.config.max_deliver != consumer.max_deliver:
            problems.append(
                f"consumer {consumer.durable}: max_deliver {info.config.max_deliver}, "
                f"provisioning sets {consumer.max_deliver}: run `custody provision`"
            )
    return problems


def fetch_varz(monitor_url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{monitor_url.rstrip('/')}/varz", timeout=5) as response:
        data: dict[str, Any] = json.load(response)
    return data


async def postgres_violations(conn: Any) -> list[str]:
    problems = []
    for setting in ("fsync", "synchronous_commit"):
        value = await conn.fetchval(f"SHOW {setting}")
        if value != "on":
            problems.append(f"Postgres {setting} is {value!r}: set it to 'on'")
    return problems


def refuse(problems: list[str]) -> None:
    if problems:
        raise DurabilityError("durability guard: " + "; ".join(problems))
