"""The only module that reads the wall clock. Everything else takes `now` as a parameter."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def now() -> datetime:
    """Timezone-aware UTC now."""
    return datetime.now(UTC)


def monotonic() -> float:
    return time.monotonic()
