"""Benchmarks: `python -m console.bench NAME --help` (fanout, acks, import, gui)."""
