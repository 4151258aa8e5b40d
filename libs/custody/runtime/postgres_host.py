"""What an embedded Postgres needs from the host: binaries, an OS user, reachable dirs."""

import contextlib
import functools
import importlib.util
import os
import pwd
import re
import shutil
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

# Postgres refuses to run as root, so when we are root it runs as this user.
PG_OS_USER = "custody-pg"
FALLBACK_OS_USER = "nobody"


class PostgresError(RuntimeError):
    """Postgres binaries are missing, it failed to start, or was used in the wrong state."""


@dataclass(frozen=True)
class PostgresBinaries:
    """A directory holding initdb and postgres, and where it came from."""

    bin_dir: Path
    source: Literal["system", "pgserver"]

    def path(self, name: str) -> Path:
        return self.bin_dir / name


def _has_server_binaries(bin_dir: Path) -> bool:
    return all((bin_dir / name).is_file() for name in ("initdb", "postgres"))


def _major_version(bin_dir: Path) -> tuple[int, ...]:
    # /usr/lib/postgresql/<major>/bin: sort numerically so 16 beats 9.6.
    return tuple(int(part) for part in re.findall(r"\d+", bin_dir.parent.name))


@functools.cache
def postgres_binaries() -> PostgresBinaries:
    """Choose the Postgres binaries: the host's own first, else the `pgserver` wheel's.

    Host binaries come first because the distro patches and updates them; the wheel
    is the fallback that makes a bare `pip install` enough to run everything.
    """
    on_path = shutil.which("postgres")
    if on_path is not None:
        # Follow symlinks such as /usr/local/bin/postgres so initdb is found beside it.
        bin_dir = Path(on_path).resolve().parent
        if _has_server_binaries(bin_dir):
            return PostgresBinaries(bin_dir, "system")
    installed = [d for d in Path("/usr/lib/postgresql").glob("*/bin") if _has_server_binaries(d)]
    if installed:
        return PostgresBinaries(max(installed, key=_major_version), "system")
    # Located without importing pgserver, whose import touches platformdirs and
    # warns when XDG_RUNTIME_DIR is unset. This is the path its _commands.py uses
    # for POSTGRES_BIN_PATH.
    spec = importlib.util.find_spec("pgserver")
    if spec is not None and spec.origin is not None:
        bundled = Path(spec.origin).parent / "pginstall" / "bin"
        if _has_server_binaries(bundled):
            return PostgresBinaries(bundled, "pgserver")
    raise PostgresError(
        "no Postgres found: install the postgresql package, or pip install pgserver"
    )


@dataclass(frozen=True)
class OsUser:
    """The unprivileged account Postgres runs as when we are root."""

    name: str
    uid: int
    gid: int


def postgres_os_user() -> OsUser | None:
    """Return the account to run Postgres as, creating it if needed; None if we are not root."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(PG_OS_USER)
    except KeyError:
        # Without useradd (OSError), we fall through to the fallback user.
        with contextlib.suppress(OSError):
            subprocess.run(
                [
                    *("useradd", "--system", "--no-create-home"),
                    "--shell=/usr/sbin/nologin",
                    PG_OS_USER,
                ],
                capture_output=True,
                check=False,
                timeout=30,
            )
        try:
            # Looked up again rather than trusting useradd's exit code, because a
            # concurrent test run may have created the user first.
            entry = pwd.getpwnam(PG_OS_USER)
        except KeyError:
            entry = pwd.getpwnam(FALLBACK_OS_USER)
    return OsUser(entry.pw_name, entry.pw_uid, entry.pw_gid)


def _can_traverse(path: Path, user: OsUser) -> bool:
    mode = path.stat().st_mode
    if path.stat().st_uid == user.uid:
        return bool(mode & stat.S_IXUSR)
    if path.stat().st_gid == user.gid:
        return bool(mode & stat.S_IXGRP)
    return bool(mode & stat.S_IXOTH)


def make_reachable(path: Path, user: OsUser) -> None:
    """Make sure `user` can traverse every ancestor of `path`, or say what to change.

    Pytest's temp dirs (/tmp/pytest-of-root is 0700) are the usual obstacle. Inside
    the system temp dir we add o+x (search, not listing) to the blocking dirs: they
    are scratch dirs made for this run. Anywhere else we refuse to loosen someone's
    permissions and explain instead. Note that pytest resets pytest-of-<user> to
    0700 when another session starts, so long-lived servers should live in a temp dir
    of their own (see tests/fixtures/infra.py).
    """
    temp_root = Path(tempfile.gettempdir()).resolve()
    for parent in reversed(path.parents):
        if _can_traverse(parent, user):
            continue
        if parent.is_relative_to(temp_root) and parent != temp_root:
            parent.chmod(parent.stat().st_mode | stat.S_IXOTH)
            continue
        raise PostgresError(
            f"Postgres runs as user {user.name!r}, which cannot enter {parent}; "
            f"choose a data dir it can reach, or run: chmod o+x {parent}"
        )


def give_dir_to(path: Path, user: OsUser | None) -> None:
    """Create `path` as a 0700 dir owned by `user`, as Postgres insists for its data dir."""
    path.mkdir(parents=True, exist_ok=True)
    if user is not None:
        make_reachable(path, user)
        if path.stat().st_uid != user.uid:
            # Recursive, because a data dir made by a run under another account
            # (e.g. the 'nobody' fallback) must change hands whole.
            os.chown(path, user.uid, user.gid)
            for root, dirs, files in os.walk(path):
                for name in dirs + files:
                    os.lchown(Path(root) / name, user.uid, user.gid)
    path.chmod(0o700)
