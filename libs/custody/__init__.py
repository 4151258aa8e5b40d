"""Custody: an escalation pipeline that treats an escalation as a transfer of custody."""

__version__ = "0.1.0"
