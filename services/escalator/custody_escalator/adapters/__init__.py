"""Escalator I/O: the KV state store with compare-and-set, and the outbox publisher."""
