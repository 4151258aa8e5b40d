"""The benchmark's RSS reading: VmRSS from /proc, in MiB; None when it cannot be read."""

from __future__ import annotations

import os
from pathlib import Path

from custody.bench.memory import PeakRss, rss_mb


def test_rss_is_read_from_vmrss_in_mib(tmp_path: Path) -> None:
    (tmp_path / "42").mkdir()
    (tmp_path / "42" / "status").write_text(
        "Name:\tpython\nVmPeak:\t 999 kB\nVmRSS:\t  153600 kB\n"
    )
    assert rss_mb(42, tmp_path) == 150.0


def test_a_gone_process_reads_as_none(tmp_path: Path) -> None:
    assert rss_mb(7, tmp_path) is None


def test_this_process_has_a_plausible_rss() -> None:
    value = rss_mb(os.getpid())
    assert value is not None
    assert 5 < value < 4096


def test_peaks_keep_the_highest_sample_per_service() -> None:
    peaks = PeakRss(lambda: {"me": os.getpid(), "gone": 2**22 + 1})
    peaks.sample()
    first = peaks.peaks["me"]
    ballast = bytearray(64 * 2**20)  # touch 64 MiB so RSS really grows
    ballast[::4096] = b"x" * len(ballast[::4096])
    peaks.sample()
    assert peaks.peaks["me"] >= first + 60
    assert "gone" not in peaks.peaks
    del ballast
