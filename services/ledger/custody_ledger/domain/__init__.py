"""Pure ledger rules: the hash chain, facts, projections, visibility and read documents."""
