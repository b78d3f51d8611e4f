"""What the GUI benchmark and its child processes share: the heartbeat, the actor, the child environment.

Its own module so console.bench.gui and console.bench.guichildren both import it and
not each other (the benchmark starts the children; the children need the heartbeat).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

HEARTBEAT_MS = 5
ACTOR = "bench"


class Heartbeat:
    """A precise timer on the GUI thread; every late beat is a stall of the event loop."""

    def __init__(self) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.gaps: list[tuple[float, float]] = []  # (time, stall seconds)
        self._timer = QTimer()
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(HEARTBEAT_MS)
        self._timer.timeout.connect(self._beat)
        self._last = 0.0

    def start(self) -> None:
        self._last = time.perf_counter()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def _beat(self) -> None:
        now = time.perf_counter()
        self.gaps.append((now, max(0.0, now - self._last - HEARTBEAT_MS / 1000)))
        self._last = now


def child_env() -> dict[str, str]:
    """The environment for the benchmark's child processes: this checkout first on the path."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env
