"""What CI and people run, never on the hot path: check, tests, diff, fmt, scaffold, demo."""
