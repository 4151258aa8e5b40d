"""The ledger: the only Postgres writer (append-only, hash-chained facts) and the read side."""
