"""Intake I/O adapters."""
