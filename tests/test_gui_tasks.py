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

    for _ in range(3):  # the pool reuses its threads: each stays lowered once, not lowered again
        runner.run(job, lambda r: seen.append((*r, _nice_of_this_thread())))
    qtbot.waitUntil(lambda: len(seen) == 3, timeout=10_000)

    assert {job_nice for job_nice, _on_main, _gui in seen} == {min(19, gui_nice + JOB_NICE)}
    assert not any(on_main for _job, on_main, _gui in seen)
    assert {gui for _job, _on_main, gui in seen} == {gui_nice}  # the GUI thread itself is untouched
    assert os.getpriority(os.PRIO_PROCESS, 0) == gui_nice
