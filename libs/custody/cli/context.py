"""Where the CLI finds the running system and who it acts as."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class CliError(Exception):
    """Printed as one line on stderr with a non-zero exit."""


@dataclass
class Context:
    data_dir: Path
    json: bool

    def state(self) -> dict[str, Any]:
        path = self.data_dir / "state.json"
        if not path.exists():
            return {}
        data: dict[str, Any] = json.loads(path.read_text())
        return data

    def url(self, which: str) -> str:
        env = os.environ.get(f"CUSTODY_{which.upper()}_URL")
        if env:
            return env
        url = self.state().get(f"{which}_url")
        if not url:
            raise CliError(
                f"no {which} URL: run `custody up` (state in {self.data_dir}) "
                f"or set CUSTODY_{which.upper()}_URL"
            )
        return str(url)

    def token(self, name: str | None) -> str:
        if name:
            path = self.data_dir / "credentials.json"
            if not path.exists():
                raise CliError(f"--as {name}: no {path}; outside dev, set CUSTODY_TOKEN")
            tokens: dict[str, str] = json.loads(path.read_text())
            if name not in tokens:
                known = ", ".join(sorted(tokens))
                raise CliError(f"--as {name}: unknown name (known: {known})")
            return tokens[name]
        token = os.environ.get("CUSTODY_TOKEN")
        if token:
            return token
        admin = self.state().get("dev_admin")
        if admin:
            return self.token(str(admin))
        raise CliError("who are you? pass --as NAME (dev) or set CUSTODY_TOKEN")
