"""`python -m console.bench NAME [options]`: each benchmark prints its figures and its baseline."""

from __future__ import annotations

import importlib
import sys

BENCHES = {
    "fanout": "console.bench.fanout",
    "acks": "console.bench.acks",
    "import": "console.bench.importer",
    "gui": "console.bench.gui",
    "directory": "console.bench.directory",
    "report": "console.bench.report",
}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in BENCHES:
        print(f"usage: python -m console.bench {{{','.join(BENCHES)}}} [options]", file=sys.stderr)
        return 2
    module = importlib.import_module(BENCHES[argv[0]])
    return int(module.main(argv[1:]) or 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
