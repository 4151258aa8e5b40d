"""Process management for the embedded stack: NATS, Postgres and supervised services."""
