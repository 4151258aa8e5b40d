"""`custody bench`: the full pipeline against a raw JetStream baseline on the same server."""
