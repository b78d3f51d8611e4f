"""The desktop app quits cleanly on SIGTERM (a logout, `kill`) and SIGINT (Ctrl+C): status 0, no traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, CliRunner


def _catches(pid: int, signum: int) -> bool:
    """Whether process `pid` has a handler for `signum` (the SigCgt mask in /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) >> (signum - 1) & 1)
    return False


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_desktop_quits_cleanly_on_a_stop_signal(signum: signal.Signals, sqlite_url: str, cli: CliRunner) -> None:
    assert cli("settings", "set", "ack.port", "0", db=sqlite_url).returncode == 0  # any free port
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH")) if p))
    proc = subprocess.Popen([sys.executable, "-m", "console", "--db", sqlite_url, "gui"], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120  # a generous bound on start-up, not a measurement
        # Python catches SIGINT from the start; the app's SIGTERM handler comes with its own SIGINT one.
        while not _catches(proc.pid, signal.SIGTERM):
            assert proc.poll() is None, f"the app ended before it handled SIGTERM: {proc.communicate()}"
            assert time.monotonic() < deadline, "the app never installed a SIGTERM handler"
            time.sleep(0.05)
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Traceback" not in out + err
