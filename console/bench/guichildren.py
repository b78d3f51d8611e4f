"""The child processes of the GUI benchmark: cold start to an exposed window, and a control heartbeat.

Both run in fresh processes started by console.bench.gui: a cold start
is only cold in a new interpreter, and the control shows what the machine
itself costs a Qt process that does nothing but beat.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from console.bench.guibeat import ACTOR, Heartbeat, child_env

# -- control: the same heartbeat in a bare Qt process, beside the run ---------------------

def start_control() -> subprocess.Popen[str]:
    """A Qt process that does nothing but beat: what the machine itself costs (other load, CPUs)."""
    cmd = [sys.executable, "-m", "console.bench", "gui", "--heartbeat-child"]
    return subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, env=child_env())


def stop_control(proc: subprocess.Popen[str]) -> tuple[float, float] | None:
    try:
        out, _ = proc.communicate("", timeout=30)
        top, p99 = (float(x) for x in out.split())
        return top, p99
    except (subprocess.TimeoutExpired, ValueError):
        proc.kill()
        return None


def heartbeat_child() -> int:
    """Beat until stdin closes, then print the max and p99 stall in ms."""
    from PySide6.QtCore import QCoreApplication, QSocketNotifier

    app = QCoreApplication(sys.argv)
    beat = Heartbeat()
    notifier = QSocketNotifier(sys.stdin.fileno(), QSocketNotifier.Type.Read)
    notifier.activated.connect(app.quit)
    beat.start()
    app.exec()
    stalls = sorted(s for _t, s in beat.gaps) or [0.0]
    print(f"{stalls[-1] * 1000:.1f} {stalls[max(0, int(len(stalls) * 0.99) - 1)] * 1000:.1f}", flush=True)
    return 0


# -- cold start ----------------------------------------------------------------------------

def startups(db_url: str, runs: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"bare": [], "app": []}
    for _ in range(runs):
        for kind in ("bare", "app"):
            times[kind].append(one_startup(kind, db_url))
    return times


_BARE = """
import os, sys
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication(sys.argv)
window = QMainWindow()
window.resize(1200, 800)
window.show()
def report():
    print("exposed", flush=True)
    os._exit(0)
class Exposed(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Expose and window.windowHandle().isExposed():
            QTimer.singleShot(0, report)
        return False
watcher = Exposed()
window.windowHandle().installEventFilter(watcher)
app.exec()
"""
"""The baseline: a bare QMainWindow, in a process that imports nothing of the console; like the app's
child it reports once its first exposure has been handled (painted)."""


def one_startup(kind: str, db_url: str) -> float:
    if kind == "bare":
        cmd = [sys.executable, "-c", _BARE]
    else:
        cmd = [sys.executable, "-m", "console.bench", "gui", "--startup-child", "app", "--db", db_url]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env())
    assert proc.stdout is not None
    line = proc.stdout.readline()
    elapsed = time.perf_counter() - t0
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if line.strip() != "exposed":
        raise RuntimeError(f"the {kind} start-up child failed: {line!r} {proc.stderr.read() if proc.stderr else ''}")
    return elapsed


def startup_child(db_url: str | None) -> int:
    """Start, report 'exposed' when the main window is on screen, and leave at once."""
    from PySide6.QtCore import QTimer

    from console.gui.app import application, build
    from console.storage import open_database

    app = application()
    window, _services = build(open_database(db_url), ACTOR)

    def report() -> None:
        print("exposed", flush=True)
        os._exit(0)  # measured; do not wait for the embedded services to stop

    window.first_shown.connect(report)  # after the first exposure was handled, so painted
    window.show()
    QTimer.singleShot(30_000, lambda: (print("never exposed", flush=True), os._exit(1)))
    return int(app.exec())
