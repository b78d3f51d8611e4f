"""Clean stops: SIGINT/SIGTERM to the dispatcher, its sender children or the whole process group.

A terminal's Ctrl-C sends SIGINT to every process of the foreground job, so the
dispatcher runs in a process group of its own here and the signal goes to the
group (`os.killpg`), as a terminal would send it. A slow SMTP sink keeps sends in
flight when the signal lands. After a stop: no traceback, no failed attempt,
every delivery `pending` (its interrupted attempt not counted) or `sent`, and a
restarted dispatcher sends the rest.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import create_engine, text

from console.broadcast.dispatchprocess import DispatcherProcess
from console.storage import open_database
from tests.conftest import REPO_ROOT
from tests.helpers.slowsink import SlowSink, wait_until
from tests.test_send import send, setup_directory, status

if TYPE_CHECKING:
    from tests.conftest import CliRunner

N = 40


@pytest.fixture
def slow_sink() -> Iterator[SlowSink]:
    with SlowSink(delay=1.0) as sink:
        yield sink


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO_ROOT)}


def _start(db: str, *args: str) -> subprocess.Popen[str]:
    """`crisis-console ARGS` in a process group (session) of its own, as a terminal's job."""
    return subprocess.Popen([sys.executable, "-m", "console", "--db", db, *args], env=_env(), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            start_new_session=True)


def _deliveries(db: str) -> list[tuple[str, str, int]]:
    """(address, state, attempts) of every delivery."""
    engine = create_engine(db)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT address, state, attempts FROM deliveries ORDER BY id")).all()
    finally:
        engine.dispose()
    return [(r[0], r[1], int(r[2])) for r in rows]


def _audit(db: str) -> list[tuple[str, str]]:
    engine = create_engine(db)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT action, details FROM audit_log ORDER BY seq")).all()
    finally:
        engine.dispose()
    return [(r[0], r[1]) for r in rows]


def _children(pid: int) -> list[int]:
    """The live spawned children (sender processes) of `pid`; not multiprocessing's resource tracker."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z" and b"spawn_main" in cmdline:
            found.append(int(entry))
    return found


def assert_stopped_cleanly(db: str, accepted: set[str]) -> tuple[int, int]:
    """Every delivery pending (attempt not counted) or sent (once); no failed or retried attempt.

    Returns (sent, pending).
    """
    rows = _deliveries(db)
    states = {state for _a, state, _n in rows}
    assert states <= {"pending", "sent"}, rows
    for address, state, attempts in rows:
        assert attempts == (1 if state == "sent" else 0), (address, state, attempts)
        if state == "sent":
            assert address in accepted
    actions = [action for action, _d in _audit(db)]
    assert "delivery.failed" not in actions and "delivery.retry" not in actions
    assert not [d for _a, d in _audit(db) if "internal error" in d]
    sent = sum(1 for _a, s, _n in rows if s == "sent")
    return sent, len(rows) - sent


def restart_sends_the_rest(cli: CliRunner, db: str, sink: SlowSink, broadcast_id: int) -> None:
    sink.delay = 0.0
    proc = _start(db, "dispatch")
    try:
        wait_until(lambda: status(cli, db, broadcast_id)["state"] == "sent", 120, "the rest sent after a restart")
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "Traceback" not in err, err
    got = sink.accepted
    assert set(got) == {f"person{i}@example.org" for i in range(N)}  # nobody lost
    assert sum(got.values()) - N <= 8  # at-least-once: only a send cut between 250 and its record repeats


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "delay", "database"), [
    pytest.param(signal.SIGINT, 1.0, "sqlite_url", id="sigint-in-flight-finish"),
    pytest.param(signal.SIGTERM, 1.0, "sqlite_url", id="sigterm"),
    pytest.param(signal.SIGINT, 10.0, "sqlite_url", id="sigint-grace-runs-out"),
    pytest.param(signal.SIGINT, 1.0, "pg_url", id="sigint-postgresql", marks=pytest.mark.postgres),
])
def test_dispatch_stops_cleanly_on_a_signal_to_its_process_group(
        cli: CliRunner, request: pytest.FixtureRequest, tmp_path: Path, slow_sink: SlowSink, sig: signal.Signals,
        delay: float, database: str) -> None:
    db = str(request.getfixturevalue(database))
    setup_directory(cli, db, tmp_path, N, slow_sink.port)
    bid = send(cli, db, "--group", "all")["broadcast_id"]
    slow_sink.delay = delay
    proc = _start(db, "dispatch")
    try:
        wait_until(lambda: slow_sink.in_data >= 2, 60, "sends in flight")
        if delay < 5:
            wait_until(lambda: sum(slow_sink.accepted.values()) >= 4, 60, "a few sent")
        os.killpg(proc.pid, sig)
        out, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert "dispatcher stopped" in out
    sent, pending = assert_stopped_cleanly(db, set(slow_sink.accepted))
    assert pending > 0  # the signal landed mid-broadcast
    reasons = [d for a, d in _audit(db) if a == "delivery.requeued"]
    assert reasons, "the deliveries not sent should be put back, with an audit entry"
    if delay > 5:  # in flight longer than the stop's grace: abandoned, and the relay never acknowledged them
        assert sent == 0 and sum(slow_sink.accepted.values()) == 0
        assert "abandoning the sends still in flight" in err
    restart_sends_the_rest(cli, db, slow_sink, bid)


@pytest.mark.slow
def test_send_wait_ctrl_c_exits_130_and_leaves_the_rest_queued(
        cli: CliRunner, sqlite_url: str, tmp_path: Path, slow_sink: SlowSink) -> None:
    setup_directory(cli, sqlite_url, tmp_path, N, slow_sink.port)
    proc = _start(sqlite_url, "send", "--title", "Fire", "--body", "Leave now.", "--group", "all", "--wait")
    try:
        wait_until(lambda: sum(slow_sink.accepted.values()) >= 4 and slow_sink.in_data >= 2, 90, "a few sent")
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert "interrupted:" in err and "stay queued" in err
    _sent, pending = assert_stopped_cleanly(sqlite_url, set(slow_sink.accepted))
    assert pending > 0
    assert status(cli, sqlite_url, 1)["state"] == "sending"
    restart_sends_the_rest(cli, sqlite_url, slow_sink, 1)


@pytest.mark.slow
def test_a_sender_child_stopped_alone_is_replaced_and_its_send_not_counted(
        cli: CliRunner, sqlite_url: str, tmp_path: Path, slow_sink: SlowSink) -> None:
    setup_directory(cli, sqlite_url, tmp_path, N, slow_sink.port)
    bid = send(cli, sqlite_url, "--group", "all")["broadcast_id"]
    proc = _start(sqlite_url, "dispatch")
    try:
        wait_until(lambda: slow_sink.in_data >= 4, 60, "sends in flight")
        first, second = sorted(_children(proc.pid))
        os.kill(first, signal.SIGINT)  # Ctrl-C is the dispatcher's to handle: the child ignores it
        os.kill(first, signal.SIGTERM)
        wait_until(lambda: first not in _children(proc.pid) and len(_children(proc.pid)) == 2, 60, "a new child")
        wait_until(lambda: any(a == "delivery.requeued" for a, _d in _audit(sqlite_url)), 60, "the first requeued")
        wait_until(lambda: slow_sink.in_data >= 4, 60, "sends in flight again")
        os.kill(second, signal.SIGKILL)
        wait_until(lambda: status(cli, sqlite_url, bid)["state"] == "sent", 120, "the broadcast sent")
        assert second not in _children(proc.pid) and len(_children(proc.pid)) == 2
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "Traceback" not in err, err
    rows = _deliveries(sqlite_url)
    assert {(s, n) for _a, s, n in rows} == {("sent", 1)}  # the interrupted attempts were not counted
    requeued = [d for a, d in _audit(sqlite_url) if a == "delivery.requeued"]
    assert len(requeued) >= 2 and all("the sender process was stopped during the send" in d for d in requeued)
    assert not [a for a, _d in _audit(sqlite_url) if a in ("delivery.retry", "delivery.failed")]
    assert set(slow_sink.accepted) == {f"person{i}@example.org" for i in range(N)}


@pytest.mark.slow
def test_the_desktop_dispatcher_child_stops_cleanly_on_sigterm(
        cli: CliRunner, sqlite_url: str, tmp_path: Path, slow_sink: SlowSink,
        capfd: pytest.CaptureFixture[str]) -> None:
    setup_directory(cli, sqlite_url, tmp_path, N, slow_sink.port)
    db = open_database(sqlite_url)
    lost: list[str] = []
    said = threading.Event()

    def on_lost(text: str) -> None:
        lost.append(text)
        said.set()

    proc = DispatcherProcess(db, on_lost=on_lost).start()
    try:
        bid = send(cli, sqlite_url, "--group", "all")["broadcast_id"]
        proc.wake()
        wait_until(lambda: slow_sink.in_data >= 2, 60, "sends in flight")
        assert proc.pid is not None
        os.kill(proc.pid, signal.SIGINT)  # the desktop app's Ctrl-C: the child leaves it to the app
        os.kill(proc.pid, signal.SIGTERM)
        assert said.wait(60)
    finally:
        proc.stop()
        db.dispose()
    assert lost == ["the dispatcher process stopped unexpectedly (exit code 0)"]
    assert "Traceback" not in capfd.readouterr().err
    _sent, pending = assert_stopped_cleanly(sqlite_url, set(slow_sink.accepted))
    assert pending > 0
    restart_sends_the_rest(cli, sqlite_url, slow_sink, bid)


_HOST = """
import signal, sys, threading
from console.broadcast.dispatchprocess import DispatcherProcess
from console.storage import open_database
db = open_database(sys.argv[1])
quit = threading.Event()
signal.signal(signal.SIGINT, lambda *_: quit.set())  # as the desktop app does (app.quit)
proc = DispatcherProcess(db).start()
print("ready", flush=True)
while not quit.wait(0.2):
    pass
proc.stop()
db.dispose()
print("quit", flush=True)
"""


@pytest.mark.slow
def test_ctrl_c_on_the_desktop_stops_its_dispatcher_child_cleanly(
        cli: CliRunner, sqlite_url: str, tmp_path: Path, slow_sink: SlowSink) -> None:
    setup_directory(cli, sqlite_url, tmp_path, N, slow_sink.port)
    host = subprocess.Popen([sys.executable, "-c", _HOST, sqlite_url], env=_env(), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        assert host.stdout is not None and host.stdout.readline().strip() == "ready"
        bid = send(cli, sqlite_url, "--group", "all")["broadcast_id"]  # the child's idle poll finds it
        wait_until(lambda: slow_sink.in_data >= 2 and sum(slow_sink.accepted.values()) >= 2, 60, "sends in flight")
        os.killpg(host.pid, signal.SIGINT)
        out, err = host.communicate(timeout=90)
    finally:
        if host.poll() is None:
            os.killpg(host.pid, signal.SIGKILL)
            host.communicate()
    assert host.returncode == 0 and "quit" in out, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    _sent, pending = assert_stopped_cleanly(sqlite_url, set(slow_sink.accepted))
    assert pending > 0
    restart_sends_the_rest(cli, sqlite_url, slow_sink, bid)
