"""TaskRunner: jobs run off the GUI thread, below its CPU priority, and hand results back to it."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from pytestqt.qtbot import QtBot

from console.gui.tasks import JOB_NICE, TaskRunner


def _nice_of_this_thread() -> int:
    """The calling thread's niceness as the kernel reports it (field 19 of /proc/thread-self/stat)."""
    stat = Path("/proc/thread-self/stat").read_text()
    return int(stat[stat.rindex(")") + 2:].split()[16])


def test_jobs_run_below_the_gui_threads_priority_and_report_back_on_it(qtbot: QtBot) -> None:
    runner = TaskRunner()
    gui_nice = _nice_of_this_thread()
    seen: list[tuple[int, bool, int]] = []

    def job() -> tuple[int, bool]:
        return _nice_of_this_thread(), threading.current_thread() is threading.main_thread()

    # More jobs than pool threads, twice: a pool thread may be started by another job's thread
    # (inheriting its niceness) and threads are reused; every job still runs at the same level.
    for _ in range(2):
        for _ in range(12):
            runner.run(job, lambda r: seen.append((*r, _nice_of_this_thread())))
        qtbot.waitUntil(lambda: len(seen) % 12 == 0 and bool(seen), timeout=10_000)
        assert runner.wait_idle()
    qtbot.waitUntil(lambda: len(seen) == 24, timeout=10_000)

    assert runner.job_nice == min(19, gui_nice + JOB_NICE)
    assert {job_nice for job_nice, _on_main, _gui in seen} == {runner.job_nice}
    assert not any(on_main for _job, on_main, _gui in seen)
    assert {gui for _job, _on_main, gui in seen} == {gui_nice}  # the GUI thread itself is untouched
    assert os.getpriority(os.PRIO_PROCESS, 0) == gui_nice
