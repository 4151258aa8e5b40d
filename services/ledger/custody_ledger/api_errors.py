"""What every ledger route shares: who is calling, and the one error shape it answers with."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Caller:
    name: str
    kind: str
    is_admin: bool


class ApiError(Exception):
    """Answered as `status {"error_code", "field", "message"}`."""

    def __init__(self, status: int, error_code: str, field: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error_code, self.field, self.message = status, error_code, field, message
