"""The desktop app in a real process, stopped by a signal once it can handle one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from tests.conftest import REPO_ROOT


def catches(pid: int, signum: int) -> bool:
    """Whether process `pid` has a handler for `signum` (the SigCgt mask in /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) >> (signum - 1) & 1)
    return False


def run_until_signalled(args: Sequence[str], signum: int, env: Mapping[str, str] | None = None
                        ) -> tuple[int, str, str]:
    """Start `python -m console ARGS`, wait until it handles SIGTERM (the app installs its handler
    once the window is built; Python catches SIGINT from the start), send `signum`; (status, out, err)."""
    full_env = dict(os.environ if env is None else env)
    full_env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), full_env.get("PYTHONPATH")) if p)
    proc = subprocess.Popen([sys.executable, "-m", "console", *args], env=full_env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120  # a generous bound on start-up, not a measurement
        while not catches(proc.pid, signal.SIGTERM):
            assert proc.poll() is None, f"the app ended before it handled SIGTERM: {proc.communicate()}"
            assert time.monotonic() < deadline, "the app never installed a SIGTERM handler"
            time.sleep(0.05)
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, out, err
