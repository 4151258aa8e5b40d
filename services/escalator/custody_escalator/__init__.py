"""Escalator: owns the custody state machine, its timers and command authorization."""
