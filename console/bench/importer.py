"""Directory import benchmark: `crisis-console contacts import` of N rows, as a user runs it.

    python -m console.bench import --rows 1000 [--runs 3]

Times the whole command (process start, migrations check, parse, write, audit)
and, as the baseline from the same run, the same command on an empty file
(the fixed cost of starting the CLI and opening the database).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _csv(path: Path, rows: int) -> Path:
    lines = ["name,email,phone,groups"]
    lines += [f"Person {i},person.{i}@example.org,+44 7700 9{i % 100000:05d},{'Leeds;IT' if i % 3 else 'London'}"
              for i in range(rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _time(args: list[str]) -> float:
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "console", *args], capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if out.returncode != 0:
        raise SystemExit(f"command failed: {out.stderr.strip()}")
    return elapsed


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m console.bench import", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        staff, empty = _csv(base / "staff.csv", args.rows), _csv(base / "empty.csv", 0)
        imports, baselines = [], []
        for run in range(args.runs):
            baselines.append(_time(["--db", f"sqlite:///{base}/base{run}.db", "contacts", "import", str(empty)]))
            imports.append(_time(["--db", f"sqlite:///{base}/x{run}.db", "contacts", "import", str(staff)]))
    med, med_base = statistics.median(imports), statistics.median(baselines)
    print(f"contacts import of {args.rows} rows into a new SQLite file: median {med:.2f} s over {args.runs} runs "
          f"(min {min(imports):.2f}, max {max(imports):.2f})")
    print(f"baseline, same command on an empty file: median {med_base:.2f} s")
    extra = med - med_base
    print(f"the {args.rows} rows themselves: {extra * 1000:+.0f} ms over the baseline "
          f"({'within the noise of process start' if extra < 0.05 else f'{args.rows / extra:,.0f} rows/s'}); "
          f"goal < 3 s for the whole command: {'met' if med < 3 else 'NOT met'}")
    return 0
