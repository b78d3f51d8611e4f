"""The dispatcher in a child process (what the desktop app runs): sends, reports, stops, is missed."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from console.broadcast.dispatchprocess import DispatcherProcess, DispatcherProcessError
from console.mailsink import MailSink
from console.storage import open_database
from tests.test_send import send, setup_directory, status

if TYPE_CHECKING:
    from tests.conftest import CliRunner


def test_sends_reports_the_broadcast_and_stops_cleanly(cli: CliRunner, sqlite_url: str, tmp_path: Path,
                                                      mail_sink: MailSink) -> None:
    setup_directory(cli, sqlite_url, tmp_path, 30, mail_sink.port)
    db = open_database(sqlite_url)
    recorded: list[int] = []
    finished = threading.Event()
    lost: list[str] = []
    proc = DispatcherProcess(db, on_recorded=recorded.extend, on_finished=lambda ids: finished.set(),
                             on_lost=lost.append).start()
    try:
        assert proc.alive and proc.pid and proc.pid != os.getpid()
        broadcast_id = send(cli, sqlite_url, "--group", "all")["broadcast_id"]
        proc.wake()
        assert finished.wait(60), "the broadcast never finished"
        assert len(mail_sink.wait_for(30, timeout=30)) == 30
        assert set(recorded) == {broadcast_id}
        st = status(cli, sqlite_url, broadcast_id)
        assert (st["sent"], st["failed"], st["state"]) == (30, 0, "sent")
    finally:
        proc.stop()
    assert not proc.alive and lost == []
    db.dispose()


def test_a_child_that_dies_is_reported(sqlite_url: str) -> None:
    db = open_database(sqlite_url)
    lost: list[str] = []
    said = threading.Event()

    def on_lost(text: str) -> None:
        lost.append(text)
        said.set()

    proc = DispatcherProcess(db, on_lost=on_lost).start()
    assert proc.pid is not None
    os.kill(proc.pid, signal.SIGKILL)
    assert said.wait(30)
    assert lost == ["the dispatcher process stopped unexpectedly (exit code -9)"]
    assert not proc.alive
    proc.stop()
    db.dispose()


def test_a_child_that_cannot_open_the_database_says_why(tmp_path: Path, sqlite_url: str) -> None:
    db = open_database(sqlite_url)
    db.secrets  # noqa: B018 - the key is checked here, in the parent
    db.url = f"sqlite:///{tmp_path / 'missing' / 'nowhere.db'}"  # the child gets a path it cannot open
    with pytest.raises(DispatcherProcessError, match="the dispatcher did not start: OperationalError: "):
        DispatcherProcess(db).start()
    db.dispose()


def test_the_child_runs_at_the_niceness_asked_for(sqlite_url: str) -> None:
    db = open_database(sqlite_url)
    proc = DispatcherProcess(db, nice=5).start()
    try:
        assert proc.pid is not None
        assert os.getpriority(os.PRIO_PROCESS, proc.pid) == min(19, os.getpriority(os.PRIO_PROCESS, 0) + 5)
    finally:
        proc.stop()
        db.dispose()
    with pytest.raises(ValueError, match="nice must be 0-19"):
        DispatcherProcess(db, nice=20)
