"""The desktop app quits cleanly on SIGTERM (a logout, `kill`) and SIGINT (Ctrl+C): status 0, no traceback."""

from __future__ import annotations

import signal

import pytest

from tests.conftest import CliRunner
from tests.helpers.appprocess import run_until_signalled


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_desktop_quits_cleanly_on_a_stop_signal(signum: signal.Signals, sqlite_url: str, cli: CliRunner) -> None:
    assert cli("settings", "set", "ack.port", "0", db=sqlite_url).returncode == 0  # any free port
    status, out, err = run_until_signalled(["--db", sqlite_url, "gui"], signum)
    assert status == 0, err
    assert "Traceback" not in out + err
