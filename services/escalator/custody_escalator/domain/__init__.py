"""Pure custody rules: `(state, event, now) -> (new state, decisions)`. No I/O."""
