"""The directory page with many contacts: what a person waits for on the GUI thread.

    python -m console.bench directory [--contacts 100000] [--baseline 1000]

The real DirectoryView (offscreen) on a SQLite file with N contacts in two groups.
Loading runs in a worker; the GUI thread only swaps the prepared rows in. Timed on
the GUI thread: that swap-in (goal < 1 s), a filter that leaves 10 rows (< 1.5 s),
sorting by email (< 1.5 s) and scrolling through the table with a full repaint at
20 positions (< 100 ms a step). The same steps on `--baseline` contacts come first,
as the baseline. These were wall-clock asserts in tests/test_gui_directory.py, whose
test now checks only what the view shows.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Before PySide6 loads, as in the app (see console/gui/__init__.py).
import console.gui  # noqa: F401
from console.bench.gui import _isolate, _wait
from console.bench.guibeat import ACTOR

GOALS = {"swap-in": 1.0, "filter": 1.5, "sort": 1.5, "repaint a step": 0.1}


@dataclass(frozen=True)
class Timings:
    """Seconds on the GUI thread for each step (the load itself is the worker's)."""

    load: float
    swap_in: float
    filter: float
    sort: float
    repaint_step: float

    def steps(self) -> dict[str, float]:
        return {"swap-in": self.swap_in, "filter": self.filter, "sort": self.sort,
                "repaint a step": self.repaint_step}


def _seed(db_url: str, n: int) -> None:
    from console.directory.csvimport import Row, write_rows
    from console.storage import open_database

    db = open_database(db_url)
    groups = ("Leeds", "London")
    rows = [Row(i + 2, f"Person {i:06d}", f"person{i:06d}@example.org", None, [groups[i % 2]], {})
            for i in range(n)]
    with db.write() as session:
        write_rows(session, rows, ACTOR, label="bench")
    db.dispose()


def _measure(app: Any, db_url: str, n: int) -> Timings:
    from PySide6.QtCore import Qt

    from console.gui.bridge import Bridge
    from console.gui.models.directory import ContactsModel
    from console.gui.tasks import TaskRunner
    from console.gui.views.directory import DirectoryView
    from console.storage import open_database

    db = open_database(db_url)
    tasks = TaskRunner()
    view = DirectoryView(db, ACTOR, tasks, Bridge())
    try:
        view.resize(1200, 800)
        view.show()
        swaps: list[float] = []
        original = view.contacts.set_rows

        def timed_set_rows(*args: Any, **kwargs: Any) -> None:
            start = time.perf_counter()
            original(*args, **kwargs)
            swaps.append(time.perf_counter() - start)

        view.contacts.set_rows = timed_set_rows  # type: ignore[method-assign]
        loaded: list[int] = []
        view.loaded.connect(loaded.append)
        _wait(app, lambda: bool(loaded), 120, "the first load")
        loaded.clear()
        start = time.perf_counter()
        view.refresh()
        _wait(app, lambda: bool(loaded), 120, "the load")
        load = time.perf_counter() - start
        if loaded[-1] != n or view.contacts_proxy.rowCount() != n:
            raise SystemExit(f"the view shows {view.contacts_proxy.rowCount()} contacts, not {n}")

        start = time.perf_counter()
        view.contacts_proxy.set_text("person09999 example")  # person099990@ … person099999@ (of 100,000)
        filtered = time.perf_counter() - start
        view.contacts_proxy.set_text("")

        start = time.perf_counter()
        view.contacts_table.sortByColumn(ContactsModel.EMAIL, Qt.SortOrder.DescendingOrder)
        sort = time.perf_counter() - start

        scroll = view.contacts_table.verticalScrollBar()
        start = time.perf_counter()
        for step in range(20):
            scroll.setValue(scroll.maximum() * step // 20)
            view.contacts_table.viewport().repaint()
        repaint = (time.perf_counter() - start) / 20
        return Timings(load, swaps[-1], filtered, sort, repaint)
    finally:
        view.close()
        tasks.wait_idle(20_000)
        db.dispose()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m console.bench directory", description=__doc__.split("\n")[0])
    parser.add_argument("--contacts", type=int, default=100_000, metavar="N")
    parser.add_argument("--baseline", type=int, default=1000, metavar="N", help="contacts of the baseline run")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="crisis-bench-directory-") as tmp:
        _isolate(Path(tmp))
        from console.gui.app import application

        app = application()
        results = {}
        for n in (args.baseline, args.contacts):
            url = f"sqlite:///{Path(tmp) / f'directory-{n}.db'}"
            _seed(url, n)
            results[n] = _measure(app, url, n)
    base, big = results[args.baseline], results[args.contacts]
    print(f"directory page, {args.contacts:,} contacts (baseline: {args.baseline:,}), GUI thread:")
    print(f"  loading in the worker: {big.load:.2f} s (baseline {base.load:.2f} s)")
    missed = []
    for step, seconds in big.steps().items():
        goal = GOALS[step]
        met = seconds < goal
        if not met:
            missed.append(step)
        print(f"  {step}: {seconds * 1000:.0f} ms (baseline {base.steps()[step] * 1000:.0f} ms); "
              f"goal < {goal * 1000:.0f} ms: {'met' if met else 'NOT met'}")
    return 1 if missed else 0
