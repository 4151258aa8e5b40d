"""The ledger's I/O: Postgres (writer and reads), NATS messages into facts, KV lookups."""
