"""Pure routing rules: no I/O, `now` passed in."""
