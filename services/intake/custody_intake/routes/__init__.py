"""Intake's HTTP routes, one module per door; `api.py` assembles them."""
