"""`python -m console.bench gui --recipients 10000`: the desktop's responsiveness and cold start.

The benchmark drives the real window, so it lives with the Qt code in
console.gui.benchmark (only console/gui/ may import Qt); this is its entry point.
"""

from __future__ import annotations

import importlib


def main(argv: list[str]) -> int:
    return int(importlib.import_module("console.gui.benchmark").main(argv))
