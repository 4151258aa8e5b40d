"""The profile harness's bookkeeping: reading /proc, and CPU between two snapshots by group."""

from __future__ import annotations

import os
from pathlib import Path

from custody.bench.profile import CpuTimes, cpu_per_group, cpu_snapshot, group_of


def _stat(name: str, user: int, system: int) -> str:
    # pid (comm) state ppid ... utime is the 14th field, stime the 15th.
    rest = ["S", "1"] + ["0"] * 9 + [str(user), str(system)] + ["0"] * 10
    return f"42 ({name}) " + " ".join(rest)


def test_snapshot_reads_user_and_system_time_even_with_spaces_in_the_name(tmp_path: Path) -> None:
    tick = os.sysconf("SC_CLK_TCK")
    proc = tmp_path / "42"
    proc.mkdir()
    (proc / "stat").write_text(_stat("python (x) y", user=3 * tick, system=tick))
    (proc / "cmdline").write_bytes(b"python\0-m\0custody\0run\0router\0")
    (tmp_path / "self").mkdir()  # not a PID: skipped
    snapshot = cpu_snapshot(tmp_path)
    assert snapshot == {42: CpuTimes("python -m custody run router ", 4000.0, 3000.0)}


def test_groups_name_services_servers_and_the_generator() -> None:
    assert group_of("python -m custody run ledger", own_pid=1, pid=2) == "ledger"
    assert group_of("/x/nats-server -c nats.conf", own_pid=1, pid=2) == "nats-server"
    assert group_of("postgres: custody custody 127.0.0.1", own_pid=1, pid=2) == "postgres"
    assert group_of("", own_pid=1, pid=2) == "kernel threads"
    assert group_of("python -m custody.bench.profile", own_pid=2, pid=2) == "load generator"
    assert group_of("sshd", own_pid=1, pid=2) == "other"


def test_cpu_between_snapshots_counts_new_and_reused_pids_from_zero() -> None:
    before = {
        10: CpuTimes("custody run intake", 100.0, 80.0),
        11: CpuTimes("custody run router", 50.0, 40.0),
        12: CpuTimes("old process", 999.0, 999.0),
    }
    after = {
        10: CpuTimes("custody run intake", 130.0, 100.0),  # +30 total, +20 user
        11: CpuTimes("custody run router", 50.0, 40.0),  # idle: not listed
        12: CpuTimes("custody run intake", 5.0, 4.0),  # PID reused by a restarted intake
        13: CpuTimes("nats-server", 7.0, 2.0),  # started in between
    }
    assert cpu_per_group(before, after, own_pid=1) == {
        "intake": (35.0, 24.0),
        "nats-server": (7.0, 2.0),
    }
