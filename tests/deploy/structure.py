"""What the deploy tests check files against: the CLI's parser, each service's settings, and
compose-style variable interpolation (there is no Docker engine to ask)."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from custody import settings
from custody.cli.main import _parser
from custody.runtime.nats_server import nats_server_binary

ROOT = Path(__file__).parents[2]

SETTINGS: dict[str, type[BaseSettings]] = {
    "intake": settings.IntakeSettings,
    "router": settings.RouterSettings,
    "escalator": settings.EscalatorSettings,
    "notifier": settings.NotifierSettings,
    "ledger": settings.LedgerSettings,
}

# Commands that are not services read a few variables themselves (cli/main.py, cli/system.py,
# cli/context.py) rather than through a settings class.
COMMAND_ENV: dict[str, set[str]] = {
    "provision": {"NATS_URL", "DATABASE_URL", "CUSTODY_DATA_DIR"},
    "cli": {"CUSTODY_DATA_DIR", "CUSTODY_INTAKE_URL", "CUSTODY_LEDGER_URL", "CUSTODY_TOKEN"},
}


def env_names(cls: type[BaseSettings]) -> set[str]:
    """Every environment variable a settings class reads (pydantic-settings is case-blind)."""
    prefix = str(cls.model_config.get("env_prefix", ""))
    names: set[str] = set()
    for name, field in cls.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names |= {c.upper() for c in alias.choices if isinstance(c, str)}
        elif isinstance(alias, str):
            names.add(alias.upper())
        else:
            names.add(f"{prefix}{name}".upper())
    return names


def parse_command(argv: list[str]) -> argparse.Namespace:
    """Parse as `custody <argv>` would; argparse exits (SystemExit) on an unknown command."""
    return _parser().parse_args(argv)


_VARIABLE = re.compile(
    r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
)


def interpolate(value: Any, env: Mapping[str, str] | None = None) -> Any:
    """Compose's `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}` and `$$`,
    applied through a parsed YAML document, with `env` (default: nothing set)."""
    env = env or {}
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name"), match.group("op"), match.group("arg") or ""
        current = env.get(name)
        unset = current is None or (op is not None and op.startswith(":") and not current)
        if op in (":-", "-") and unset:
            return arg
        if op in (":?", "?") and unset:
            raise KeyError(f"{name}: {arg}")
        return current or ""

    return _VARIABLE.sub(replace, value)


def environment(service: Mapping[str, Any]) -> dict[str, str]:
    """A compose service's `environment`, as a mapping whichever form it was written in."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def nats_config_check(config: Path, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """`nats-server -t`: parse and validate the config (nkeys, permissions, cluster)."""
    return subprocess.run(
        [str(nats_server_binary()), "-t", "-c", str(config)],
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", ""), **env},
        timeout=30,
        check=False,
    )
