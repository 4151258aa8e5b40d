"""Numbered SQL migrations, applied in order by `custody_ledger.migrate`."""
