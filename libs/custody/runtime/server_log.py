"""Log files of servers we start, and the tail we quote when one fails to start."""

from pathlib import Path
from typing import IO


def open_log(path: Path, banner: str) -> IO[bytes]:
    """Open `path` for appending and write a banner, so each start is easy to find."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("ab")
    handle.write(f"\n----- {banner} -----\n".encode())
    handle.flush()
    return handle


def tail(path: Path, lines: int = 30) -> str:
    """Return the last `lines` lines of a log file, or a note when there is none."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])
