"""An embedded Postgres server with crash-safe settings, for local runs and tests."""

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any, Literal, NoReturn, TypeVar
from urllib.parse import quote

import asyncpg

from custody.runtime.ports import free_port
from custody.runtime.postgres_host import (
    OsUser,
    PostgresBinaries,
    PostgresError,
    give_dir_to,
    postgres_binaries,
    postgres_os_user,
)
from custody.runtime.server_log import open_log, tail

__all__ = ["PostgresBinaries", "PostgresError", "PostgresServer", "ShutdownMode"]

READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 30.0

ShutdownMode = Literal["smart", "fast", "immediate"]
# The postmaster's documented shutdown signals: smart waits for clients to leave,
# fast disconnects them and checkpoints, immediate quits without a checkpoint and
# recovers from WAL at the next start, as after a crash.
_SHUTDOWN_SIGNALS = {"smart": signal.SIGTERM, "fast": signal.SIGINT, "immediate": signal.SIGQUIT}

T = TypeVar("T")


def _run_coroutine(coro: Coroutine[Any, Any, T]) -> T:
    # A fresh thread has no running event loop, so this works from sync fixtures
    # and from inside async tests alike.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _children_of(pid: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat_line = (entry / "stat").read_text()
        except OSError:
            continue  # exited while we looked
        # Fields after the parenthesised command name: state, ppid, ...
        fields = stat_line.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            children.append(int(entry.name))
    return children


def _is_alive(pid: int) -> bool:
    try:
        stat_line = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # A zombie has exited; whoever inherited it may just not have reaped it yet.
    return stat_line.rsplit(")", 1)[1].split()[0] != "Z"


class PostgresServer:
    """One postmaster we start directly, so we own its PID, on a fixed port.

    When we are root it runs as the unprivileged user from `postgres_os_user()`.
    """

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.port = port if port is not None else free_port()
        self.log_path = self.data_dir.with_name(self.data_dir.name + ".log")
        self.binaries: PostgresBinaries = postgres_binaries()
        self._proc: subprocess.Popen[bytes] | None = None
        self._socket_dir: Path | None = None

    @property
    def url(self) -> str:
        return self.database_url("postgres")

    def database_url(self, name: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{quote(name, safe='')}"

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise PostgresError("postgres was never started")
        return self._proc.pid

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        """Start the postmaster (running initdb first on an empty dir) and wait until ready."""
        if self.is_running():
            raise PostgresError(f"postgres is already running (pid {self.pid})")
        user = postgres_os_user()
        give_dir_to(self.data_dir, user)
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb(user)
        argv = [
            str(self.binaries.path("postgres")),
            *("-D", str(self.data_dir), "-p", str(self.port)),
            *("-c", "listen_addresses=127.0.0.1"),
            *("-c", f"unix_socket_directories={self._ensure_socket_dir(user)}"),
            # The defaults, stated so that no postgresql.conf edit can weaken them:
            # the ledger's promise rests on committed rows surviving a crash.
            *("-c", "fsync=on", "-c", "synchronous_commit=on", "-c", "full_page_writes=on"),
        ]
        try:
            with open_log(self.log_path, f"starting {' '.join(argv)}") as log:
                self._proc = self._spawn(argv, user, log)
            self._wait_ready()
        except BaseException:
            # A half-started server must not linger holding the port or data dir.
            self.kill()
            self._remove_socket_dir()
            raise

    def _spawn(
        self, argv: list[str], user: OsUser | None, log: IO[bytes]
    ) -> subprocess.Popen[bytes]:
        # PG* variables (PGDATA, PGPORT, ...) from the caller's shell must not
        # redirect our server.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            # The unprivileged user may not be allowed into our working directory.
            cwd="/",
            user=user.uid if user else None,
            group=user.gid if user else None,
            extra_groups=[] if user else None,
        )

    def _initdb(self, user: OsUser | None) -> None:
        argv = [str(self.binaries.path("initdb")), "-D", str(self.data_dir)]
        # --locale=C makes the cluster independent of the locales the host happens
        # to have generated; text sorts bytewise.
        argv += ["--auth=trust", "-U", "postgres", "--encoding=UTF8", "--locale=C"]
        with open_log(self.log_path, f"running {' '.join(argv)}") as log:
            proc = self._spawn(argv, user, log)
        try:
            code = proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        if code != 0:
            self._fail(f"initdb exited with code {code}")

    def _ensure_socket_dir(self, user: OsUser | None) -> Path:
        # A short path under the system temp dir: Unix socket paths are limited to
        # ~107 bytes, and deep pytest temp dirs can exceed that.
        if self._socket_dir is None or not self._socket_dir.is_dir():
            self._socket_dir = Path(tempfile.mkdtemp(prefix="custody-pg-sock-"))
            give_dir_to(self._socket_dir, user)
        return self._socket_dir

    def _wait_ready(self) -> None:
        if not _run_coroutine(self._poll_ready()):
            self._fail(f"postgres not accepting connections after {READY_TIMEOUT_S:.0f} s")

    async def _poll_ready(self) -> bool:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                self._fail(f"postgres exited with code {self._proc.returncode}")
            try:
                conn = await asyncpg.connect(self.url, timeout=1.0)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
                await asyncio.sleep(0.1)  # not listening yet, or still recovering
                continue
            await conn.close()
            return True
        return False

    def _fail(self, reason: str) -> NoReturn:
        raise PostgresError(f"{reason}; last lines of {self.log_path}:\n{tail(self.log_path)}")

    def stop(self, mode: ShutdownMode = "fast") -> None:
        """Shut down with Postgres's own `mode`; SIGKILL everything if it takes over 30 s."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(_SHUTDOWN_SIGNALS[mode])
            try:
                self._proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.kill()
        self._remove_socket_dir()

    def _remove_socket_dir(self) -> None:
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
            self._socket_dir = None

    def kill(self) -> None:
        """SIGKILL the postmaster and all its children, leaving the data dir as a crash would.

        Killing only the postmaster would leave backends attached to shared memory,
        and the next start refuses to run beside them.
        """
        if self._proc is None or self._proc.poll() is not None:
            return
        # Freeze the postmaster first so it cannot fork a child we would miss.
        self._proc.send_signal(signal.SIGSTOP)
        children = _children_of(self._proc.pid)
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
        self._proc.kill()
        self._proc.wait()
        deadline = time.monotonic() + 5.0
        while any(_is_alive(child) for child in children) and time.monotonic() < deadline:
            time.sleep(0.02)

    def restart(self) -> None:
        """Stop (fast) if running, then start again on the same data dir and port."""
        self.stop("fast")
        self.start()

    def create_database(self, name: str) -> str:
        """Create database `name` as the superuser and return its URL."""
        _run_coroutine(self._execute(f"CREATE DATABASE {_quote_ident(name)}"))
        return self.database_url(name)

    def drop_database(self, name: str) -> None:
        """Drop database `name`, disconnecting anyone still using it."""
        _run_coroutine(self._execute(f"DROP DATABASE IF EXISTS {_quote_ident(name)} WITH (FORCE)"))

    async def _execute(self, sql: str) -> None:
        conn = await asyncpg.connect(self.url, timeout=10.0)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()
