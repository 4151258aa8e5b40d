"""Intake: the only door in. Validates, authenticates, deduplicates, publishes or rejects."""
