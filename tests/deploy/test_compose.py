"""docker-compose.yml, checked without a Docker engine: it parses, every command exists in the
CLI, every variable it sets is read by whoever it sets it for, every mounted file exists, and
the NATS cluster config it mounts passes `nats-server -t`."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from custody import nats_config, permissions, subjects
from custody.cli.deploy import DB_ROLES
from custody.runtime.nats_server import NatsServer
from tests.deploy.structure import (
    COMMAND_ENV,
    ROOT,
    SETTINGS,
    env_names,
    environment,
    interpolate,
    nats_config_check,
    parse_command,
)

COMPOSE = ROOT / "docker-compose.yml"
NATS_NODES = [f"nats-{i}" for i in range(1, nats_config.NODES + 1)]


def load() -> dict[str, Any]:
    document: dict[str, Any] = interpolate(yaml.safe_load(COMPOSE.read_text()))
    return document


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = load()["services"]
    return found


def custody_services(services: dict[str, dict[str, Any]]) -> list[str]:
    """Services that run the Custody image (the five, provision, cli)."""
    return [name for name, svc in services.items() if "custody" in str(svc.get("image"))]


def test_compose_has_the_cluster_postgres_the_five_and_observability(
    services: dict[str, dict[str, Any]],
) -> None:
    expected = {*NATS_NODES, "postgres", "provision", *subjects.SERVICES}
    expected |= {"otel-collector", "jaeger"}
    assert expected <= set(services)


@pytest.mark.parametrize("name", [*subjects.SERVICES, "cli"])
def test_each_command_exists_in_the_cli(services: dict[str, dict[str, Any]], name: str) -> None:
    args = parse_command(services[name]["command"])
    if name in subjects.SERVICES:
        assert (args.command, args.service) == ("run", name)


def test_provision_command_exists_and_makes_r3_streams(
    services: dict[str, dict[str, Any]],
) -> None:
    args = parse_command(services["provision"]["command"])
    assert args.command == "provision"
    assert args.stream_replicas == nats_config.NODES


def _reader(name: str, service: dict[str, Any]) -> set[str]:
    if name in SETTINGS:
        return env_names(SETTINGS[name])
    return COMMAND_ENV[name]


@pytest.mark.parametrize("name", [*subjects.SERVICES, "provision", "cli"])
def test_every_variable_set_is_read(services: dict[str, dict[str, Any]], name: str) -> None:
    unread = set(environment(services[name])) - _reader(name, services[name])
    assert not unread, f"{name} sets {sorted(unread)}, which nothing in {name} reads"


def test_every_mounted_file_exists(services: dict[str, dict[str, Any]]) -> None:
    mounts = [
        (name, str(volume).split(":", 1)[0])
        for name, svc in services.items()
        for volume in svc.get("volumes", [])
    ]
    files = [(name, source) for name, source in mounts if source.startswith((".", "/"))]
    assert files, "expected bind-mounted config files"
    missing = [(name, source) for name, source in files if not (ROOT / source).exists()]
    assert not missing


@pytest.mark.parametrize("name", subjects.SERVICES)
def test_each_service_has_a_healthcheck_on_its_own_port(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    svc = services[name]
    test = svc["healthcheck"]["test"]
    assert test[:2] == ["CMD", "custody"]
    args = parse_command(test[2:])
    assert args.command == "probe"
    env = environment(svc)
    port = env.get(f"CUSTODY_{name.upper()}_PORT") or env["CUSTODY_HEALTH_PORT"]
    assert urlsplit(args.url).port == int(port)
    assert urlsplit(args.url).path == "/readyz"


def test_custody_containers_are_unprivileged_and_read_only(
    services: dict[str, dict[str, Any]],
) -> None:
    for name in custody_services(services):
        svc = services[name]
        assert svc["read_only"] is True, name
        assert not str(svc["user"]).startswith("0"), name
        assert svc["cap_drop"] == ["ALL"], name
        assert svc["build"]["dockerfile"] == "deploy/Dockerfile", name


@pytest.mark.parametrize("name", subjects.SERVICES)
def test_each_service_connects_as_its_own_nats_user(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    env = environment(services[name])
    node = environment(services["nats-1"])
    assert env["CUSTODY_NATS_USER"] == name
    assert env["CUSTODY_NATS_PASSWORD"] == node[nats_config.password_env(name)]


def test_provision_is_the_nats_admin_and_the_ledger_runs_as_its_app_role(
    services: dict[str, dict[str, Any]],
) -> None:
    env = environment(services["provision"])
    nats_url = urlsplit(env["NATS_URL"])
    node = environment(services["nats-1"])
    assert nats_url.username == permissions.ADMIN
    assert nats_url.password == node[nats_config.password_env(permissions.ADMIN)]
    # The superuser: migrations run as ledger_owner, and the guard gets installed.
    postgres = environment(services["postgres"])
    database = urlsplit(env["DATABASE_URL"])
    assert (database.username, database.password) == ("postgres", postgres["POSTGRES_PASSWORD"])
    ledger = urlsplit(environment(services["ledger"])["DATABASE_URL"])
    assert ledger.username == DB_ROLES["app"]
    assert ledger.password == postgres["CUSTODY_DB_APP_PASSWORD"]
    init = (ROOT / "deploy" / "postgres" / "initdb" / "10-custody-roles.sh").read_text()
    for key in DB_ROLES:
        assert f'{key}_password="$CUSTODY_DB_{key.upper()}_PASSWORD"' in init
        assert f"CUSTODY_DB_{key.upper()}_PASSWORD" in postgres


def test_nats_nodes_match_the_generated_routes_and_the_tested_server_version(
    services: dict[str, dict[str, Any]],
) -> None:
    routes = {urlsplit(r).hostname for r in nats_config.compose_routes()}
    assert routes == set(NATS_NODES)
    for node in NATS_NODES:
        svc = services[node]
        assert svc["image"].split(":")[1].split("-")[0] == NatsServer.version()
        assert f"./{nats_config.COMPOSE_CONF}:/etc/nats/cluster.conf:ro" in svc["volumes"]
        assert environment(svc)[nats_config.SERVER_NAME_ENV] == node


@pytest.mark.parametrize("node", NATS_NODES)
def test_nats_config_passes_nats_server_t(services: dict[str, dict[str, Any]], node: str) -> None:
    result = nats_config_check(ROOT / nats_config.COMPOSE_CONF, environment(services[node]))
    assert result.returncode == 0, result.stderr


def test_nats_config_keeps_every_write_durable() -> None:
    text = Path(ROOT / nats_config.COMPOSE_CONF).read_text()
    assert "sync_interval: always" in text
    assert "no_auth_user" not in text  # nobody connects without credentials
