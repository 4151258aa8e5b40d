"""The one error the read side turns into 503: a dependency (Postgres, NATS) is unreachable."""


class Unavailable(Exception):
    """Postgres or NATS did not answer; the caller should retry shortly."""
