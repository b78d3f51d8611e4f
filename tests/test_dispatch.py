"""The dispatcher against real servers: retries, outages, SIGKILL and restart, two processes."""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import create_engine, text

from console.mailsink import MailSink
from tests.conftest import REPO_ROOT
from tests.helpers.synapse import SynapseServer
from tests.helpers.webhook import Webhook, running
from tests.test_send import LINK, send, setup_directory, status

if TYPE_CHECKING:
    from tests.conftest import CliRunner


@pytest.fixture
def flaky_hook() -> Iterator[Webhook]:
    """A JSON webhook that answers 503 to its first 3 requests."""
    with running(fail_first=3) as server:
        yield server


def _audit_actions(cli: CliRunner, db: str) -> list[dict]:
    return json.loads(cli("audit", "export", "--format", "json", db=db).stdout)["entries"]


def test_webhook_failures_are_retried(cli: CliRunner, sqlite_url: str, tmp_path: Path, mail_sink: MailSink,
                                      flaky_hook: Webhook) -> None:
    setup_directory(cli, sqlite_url, tmp_path, 2, mail_sink.port)
    port = flaky_hook.server_address[1]
    out = cli("channels", "add", "--name", "Ops hook", "--kind", "group", "--group", "Leeds", "--url",
              f"json://127.0.0.1:{port}/hook", db=sqlite_url)
    assert out.returncode == 0, out.stderr
    bid = send(cli, sqlite_url, "--group", "London", "--group", "Leeds", "--channel", "Ops hook", "--wait")[
        "broadcast_id"]
    st = status(cli, sqlite_url, bid)
    assert (st["sent"], st["failed"], st["pending"]) == (1, 0, 0)
    assert len(flaky_hook.bodies) == 1
    assert "http://ack.test:8080/g/" in flaky_hook.bodies[0]["message"]
    retries = [e for e in _audit_actions(cli, sqlite_url) if e["action"] == "delivery.retry"]
    assert len(retries) == 3 and all("503" in e["details"]["error"] for e in retries)


def test_gives_up_when_the_retry_window_ends_with_the_last_error(cli: CliRunner, sqlite_url: str, tmp_path: Path,
                                                                   mail_sink: MailSink) -> None:
    setup_directory(cli, sqlite_url, tmp_path, 1, mail_sink.port)
    # The window counts from the queueing: the dispatcher's start-up (seconds here) is part of it.
    for key, value in (("dispatch.retry_window", "10s"), ("dispatch.retry_max_delay_seconds", "0.5")):
        assert cli("settings", "set", key, value, db=sqlite_url).returncode == 0
    mail_sink.fail_next(1000, code=451)
    out = cli("send", "--title", "T", "--body", "B", "--group", "all", "--wait", "--json", db=sqlite_url)
    assert out.returncode == 1, out.stderr
    result = json.loads(out.stdout)
    assert (result["failed"], result["state"]) == (1, "failed")
    st = status(cli, sqlite_url, result["broadcast_id"])
    assert (st["sent"], st["failed"], st["state"]) == (0, 1, "failed")
    entries = _audit_actions(cli, sqlite_url)
    retries = [e for e in entries if e["action"] == "delivery.retry"]
    failed = [e for e in entries if e["action"] == "delivery.failed"]
    assert len(failed) == 1 and failed[0]["details"]["gave_up"] == "the retry window ended"
    assert failed[0]["details"]["attempt"] == len(retries) + 1 >= 3  # retried, not failed at the first error
    assert "failed" in failed[0]["details"]["error"]  # Apprise's words for the refused DATA
    assert mail_sink.rejected == len(retries) + 1
    assert [e for e in entries if e["action"] == "broadcast.completed"][-1]["details"]["state"] == "failed"


def test_an_attempt_cap_still_works_when_set(cli: CliRunner, sqlite_url: str, tmp_path: Path,
                                             mail_sink: MailSink) -> None:
    setup_directory(cli, sqlite_url, tmp_path, 1, mail_sink.port)
    assert cli("settings", "set", "dispatch.max_attempts", "2", db=sqlite_url).returncode == 0
    mail_sink.fail_next(10, code=451)
    bid = json.loads(cli("send", "--title", "T", "--body", "B", "--group", "all", "--wait", "--json",
                         db=sqlite_url).stdout)["broadcast_id"]
    st = status(cli, sqlite_url, bid)
    assert (st["sent"], st["failed"]) == (0, 1)
    failed = [e for e in _audit_actions(cli, sqlite_url) if e["action"] == "delivery.failed"]
    assert len(failed) == 1 and failed[0]["details"]["attempt"] == 2 and failed[0]["details"]["error"]
    assert failed[0]["details"]["gave_up"] == "the attempt limit was reached"


def test_smtp_down_then_back(cli: CliRunner, db_url: str, tmp_path: Path) -> None:
    sink = MailSink().start()
    port = sink.port
    sink.stop()  # the relay is down: nothing listens on that port now
    setup_directory(cli, db_url, tmp_path, 3, port)
    bid = send(cli, db_url, "--group", "all")["broadcast_id"]
    proc = _dispatcher(db_url)
    try:
        _wait(lambda: any(e["action"] == "delivery.retry" for e in _audit_actions(cli, db_url)), 30)
        with MailSink(port=port) as back:
            back.wait_for(3, timeout=60)
            _wait(lambda: status(cli, db_url, bid)["state"] == "sent", 30)
    finally:
        _stop(proc)
    assert status(cli, db_url, bid)["failed"] == 0


def _dispatcher(db: str, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.Popen([sys.executable, "-m", "console", "--db", db, "dispatch", *extra], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)


def _stop(proc: subprocess.Popen[str]) -> tuple[str, str]:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    return out, err


def _wait(predicate: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)


def _sent_count(db: str) -> int:
    engine = create_engine(db)
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM deliveries WHERE state = 'sent'")).scalar_one()
    engine.dispose()
    return int(count)


def test_sigkill_mid_broadcast_then_restart_loses_nobody(cli: CliRunner, sqlite_url: str, tmp_path: Path,
                                                         mail_sink: MailSink) -> None:
    n = 120
    setup_directory(cli, sqlite_url, tmp_path, n, mail_sink.port)
    engine = create_engine(sqlite_url)
    with engine.begin() as conn:  # slow the channel so the kill lands mid-broadcast
        conn.execute(text("UPDATE channels SET rate_per_sec = 40"))
    engine.dispose()
    bid = send(cli, sqlite_url, "--group", "all")["broadcast_id"]
    first = _dispatcher(sqlite_url)
    _wait(lambda: _sent_count(sqlite_url) >= 20, 60)
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=30)
    left = status(cli, sqlite_url, bid)
    assert 20 <= left["sent"] < n and left["pending"] > 0, left
    second = _dispatcher(sqlite_url)
    try:
        _wait(lambda: status(cli, sqlite_url, bid)["state"] == "sent", 120)
    finally:
        out, err = _stop(second)
    assert "requeued" in err or "stopped" in out
    st = status(cli, sqlite_url, bid)
    assert (st["sent"], st["failed"], st["pending"]) == (n, 0, 0)
    received = collections.Counter(m.rcpt_tos[0] for m in mail_sink.messages)
    assert set(received) == {f"person{i}@example.org" for i in range(n)}  # nobody lost
    assert sum(received.values()) - n <= 10  # at-least-once: only in-flight sends may repeat
    verify = cli("audit", "verify", db=sqlite_url)
    assert verify.returncode == 0, verify.stderr


def test_two_dispatchers_on_postgresql_never_send_twice(cli: CliRunner, pg_url: str, tmp_path: Path,
                                                        mail_sink: MailSink) -> None:
    n = 300
    setup_directory(cli, pg_url, tmp_path, n, mail_sink.port)
    bid = send(cli, pg_url, "--group", "all")["broadcast_id"]
    procs = [_dispatcher(pg_url, "--workers", "3"), _dispatcher(pg_url, "--workers", "3")]
    try:
        mail_sink.wait_for(n, timeout=120)
        _wait(lambda: status(cli, pg_url, bid)["state"] == "sent", 60)
    finally:
        outputs = [_stop(p) for p in procs]
    received = collections.Counter(m.rcpt_tos[0] for m in mail_sink.messages)
    assert len(received) == n and max(received.values()) == 1, "a delivery was sent twice"
    entries = _audit_actions(cli, pg_url)
    sent_by = collections.Counter(e["details"]["by"] for e in entries if e["action"] == "delivery.sent")
    assert sum(sent_by.values()) == n
    assert len(sent_by) == 2, f"both dispatchers should have claimed work: {sent_by} {outputs}"
    links = {LINK.findall(m.text)[0] for m in mail_sink.messages}
    assert len(links) == n
    assert cli("audit", "verify", db=pg_url).returncode == 0


@pytest.mark.slow
def test_group_post_reaches_a_real_matrix_room(cli: CliRunner, sqlite_url: str, tmp_path: Path, mail_sink: MailSink,
                                               synapse: SynapseServer) -> None:
    setup_directory(cli, sqlite_url, tmp_path, 2, mail_sink.port)
    suffix = str(int(time.time() * 1000))[-8:]
    bot, reader = f"bot{suffix}", f"reader{suffix}"
    synapse.register_user(bot, "bot-password-1")
    synapse.register_user(reader, "reader-password-1")
    room = f"crisis{suffix}"
    client = synapse.client()
    # Apprise would create a missing room as private; a public one lets the reader join
    client.create_room(client.login(bot, "bot-password-1"), room, public=True)
    out = cli("channels", "add", "--name", "Ops room", "--kind", "group", "--group", "Leeds", "--url",
              f"matrix://{bot}:bot-password-1@127.0.0.1:{synapse.port}/#{room}", db=sqlite_url)
    assert out.returncode == 0, out.stderr
    listed = cli("channels", "list", "--json", db=sqlite_url).stdout
    assert "bot-password-1" not in listed
    bid = send(cli, sqlite_url, "--group", "Leeds", "--channel", "Ops room", "--wait", "--exercise")["broadcast_id"]
    assert status(cli, sqlite_url, bid)["sent"] == 1
    token = client.login(reader, "reader-password-1")
    client.join(token, f"#{room}:localhost")
    bodies = client.room_messages(token, f"#{room}:localhost")
    assert any("[EXERCISE]" in b and "http://ack.test:8080/g/" in b for b in bodies), bodies
