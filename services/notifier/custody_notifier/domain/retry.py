"""Retry timing: exponential back-off between tries, and the provider's own Retry-After."""

from __future__ import annotations

from datetime import datetime
from email.utils import parsedate_to_datetime

MAX_BACKOFF_S = 30.0
MAX_RETRY_AFTER_S = 3600.0  # a provider asking for more than an hour is treated as an hour


def backoff_s(attempt: int, base_s: float, cap_s: float = MAX_BACKOFF_S) -> float:
    """base, 2·base, 4·base, ... (attempt counts from 1), capped."""
    return float(min(cap_s, base_s * 2 ** max(0, attempt - 1)))


def retry_after_s(value: str | None, now: datetime, default_s: float) -> float:
    """Retry-After as delta-seconds or an HTTP date; `default_s` when absent or unreadable."""
    if value is None or not value.strip():
        return default_s
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return default_s
        if moment.tzinfo is None:
            return default_s
        seconds = (moment - now).total_seconds()
    if seconds != seconds:  # NaN
        return default_s
    return min(MAX_RETRY_AFTER_S, max(0.0, seconds))
