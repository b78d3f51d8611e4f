"""Retries fit a crisis: a relay outage shorter than the retry window loses nothing; a broadcast
whose deliveries failed says `failed`; `send --wait` exits 1 and says why, per channel;
`status --failures` names the people."""

from __future__ import annotations

import collections
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PySide6.QtWidgets import QApplication
from sqlalchemy import func, select, update

from console.broadcast.retry import GiveUp, RetryPolicy, format_duration, parse_duration
from console.mailsink import MailSink
from console.storage import Database
from tests.conftest import REPO_ROOT
from tests.helpers import free_port
from tests.test_send import setup_directory, staff_csv, status

if TYPE_CHECKING:
    from tests.conftest import CliRunner

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def test_backoff_doubles_is_capped_jittered_and_ends_with_the_window() -> None:
    policy = RetryPolicy(window=600, base=2, max_delay=60, jitter=0.2)
    assert [policy.delay(n, lambda: 0.0) for n in (1, 2, 3, 4, 5, 6, 7, 30)] == [2, 4, 8, 16, 32, 60, 60, 60]
    assert policy.delay(3, lambda: 1.0) == pytest.approx(8 * 0.8)  # jitter only shortens: the cap holds
    assert policy.next_attempt(1, T0, T0, lambda: 0.0) == T0 + dt.timedelta(seconds=2)
    late = T0 + dt.timedelta(seconds=590)
    assert policy.next_attempt(20, T0, late, lambda: 0.0) == T0 + dt.timedelta(seconds=600)  # a last try at the end
    assert policy.next_attempt(21, T0, T0 + dt.timedelta(seconds=600)) is GiveUp.WINDOW
    assert RetryPolicy(max_attempts=3).next_attempt(3, T0, T0) is GiveUp.ATTEMPTS
    assert RetryPolicy(max_attempts=0).next_attempt(500, T0, T0) != GiveUp.ATTEMPTS


@pytest.mark.parametrize(("text", "seconds"), [("1800", 1800), ("30m", 1800), ("2h", 7200), ("1h30m", 5400),
                                               ("90s", 90), ("0.5", 0.5)])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds
    assert parse_duration(format_duration(parse_duration(text))) == seconds


def test_retry_settings_are_typed(cli: CliRunner, sqlite_url: str) -> None:
    assert cli("settings", "set", "org.name", "Acme", db=sqlite_url).returncode == 0  # creates the database
    defaults = json.loads(cli("settings", "list", "--json", db=sqlite_url).stdout)
    assert defaults["dispatch.retry_window"] >= 1800 and defaults["dispatch.retry_max_delay_seconds"] == 60
    assert defaults["dispatch.max_attempts"] == 0
    out = cli("settings", "set", "dispatch.retry_window", "2h", db=sqlite_url)
    assert out.returncode == 0 and "dispatch.retry_window = 2h" in out.stdout
    assert json.loads(cli("settings", "list", "--json", db=sqlite_url).stdout)["dispatch.retry_window"] == 7200
    for bad in ("soon", "0", "5x", "1.2.3m"):
        out = cli("settings", "set", "dispatch.retry_window", bad, db=sqlite_url)
        assert out.returncode == 2 and "dispatch.retry_window" in out.stderr
        assert len(out.stderr.strip().splitlines()) == 1


def _audit(cli: CliRunner, db: str) -> list[dict]:
    return json.loads(cli("audit", "export", "--format", "json", db=db).stdout)["entries"]


@pytest.mark.slow
def test_a_90_second_relay_outage_loses_nothing(cli: CliRunner, sqlite_url: str, tmp_path: Path) -> None:
    n = 100
    port = free_port()  # nothing listens there until the relay "comes back"
    setup_directory(cli, sqlite_url, tmp_path, n, port)
    assert cli("settings", "set", "dispatch.retry_max_delay_seconds", "5", db=sqlite_url).returncode == 0
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "console", "--db", sqlite_url, "send", "--title", "Fire",
                             "--body", "Leave now.", "--group", "all", "--wait", "--json"],
                            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        time.sleep(max(0.0, started + 90 - time.monotonic()))  # the outage: 90 s with nothing listening
        assert proc.poll() is None, "send --wait ended during the outage"
        with MailSink(port=port) as relay:
            relay.wait_for(n, timeout=120)
            out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    result = json.loads(out)
    assert (result["state"], result["sent"], result["failed"]) == ("sent", n, 0)
    received = collections.Counter(m.rcpt_tos[0] for m in relay.messages)
    assert set(received) == {f"person{i}@example.org" for i in range(n)}
    st = status(cli, sqlite_url, result["broadcast_id"])
    assert (st["state"], st["sent"], st["failed"], st["pending"]) == ("sent", n, 0, 0)
    entries = _audit(cli, sqlite_url)
    retries = [e for e in entries if e["action"] == "delivery.retry"]
    assert len(retries) >= 5 * n  # it really was down: every delivery was tried again and again
    assert not [e for e in entries if e["action"] == "delivery.failed"]


def test_a_broadcast_nobody_received_says_failed(cli: CliRunner, db_url: str, tmp_path: Path) -> None:
    n = 3
    port = free_port()  # nothing listens: every attempt is refused
    assert cli("contacts", "import", str(staff_csv(tmp_path / "staff.csv", n)), db=db_url).returncode == 0
    secret = "s3cret-relay-pw"
    out = cli("channels", "add", "--name", "Corp mail", "--kind", "email", "--url",
              f"mailto://alerts:{secret}@127.0.0.1:{port}?from=alerts@example.org&to={{address}}&mode=insecure",
              db=db_url)
    assert out.returncode == 0, out.stderr
    # The window counts from the queueing: the dispatcher's start-up (seconds here) is part of it.
    for key, value in (("dispatch.retry_window", "10s"), ("dispatch.retry_base_seconds", "0.2"),
                       ("dispatch.retry_max_delay_seconds", "0.5")):
        assert cli("settings", "set", key, value, db=db_url).returncode == 0
    out = cli("send", "--title", "Fire", "--body", "Leave now.", "--group", "all", "--wait", db=db_url)
    assert out.returncode == 1, out.stderr
    assert "(failed, info)" in out.stdout
    assert "3 deliveries of broadcast 1 failed" in out.stderr
    line = next(x for x in out.stderr.splitlines() if x.startswith("  Corp mail"))
    assert "3 failed; last error: " in line and "127.0.0.1" in line
    assert secret not in out.stderr + out.stdout and "****" in line  # the relay's password is masked

    st = status(cli, db_url, 1)
    assert (st["state"], st["sent"], st["failed"], st["pending"]) == ("failed", 0, n, 0)
    listed = cli("status", "1", "--failures", "--json", db=db_url)
    assert listed.returncode == 0, listed.stderr
    failures = json.loads(listed.stdout)
    assert sorted(f["email"] for f in failures) == [f"person{i}@example.org" for i in range(n)]
    for f in failures:
        assert set(f) == {"delivery_id", "name", "email", "group", "channel", "address", "attempts", "last_error",
                          "reminder", "failed_at"}
        assert f["name"].startswith("Person ") and f["channel"] == "Corp mail" and f["group"] is None
        assert f["attempts"] >= 2 and f["last_error"] and secret not in f["last_error"]
    text = cli("status", "1", "--failures", db=db_url).stdout
    assert "3 failed deliveries" in text and "Person 0 <person0@example.org>   Corp mail" in text
    completed = [e for e in _audit(cli, db_url) if e["action"] == "broadcast.completed"]
    assert completed[-1]["details"]["state"] == "failed"

    reminded = cli("remind", "1", "--wait", db=db_url)  # the reminders fail too: only they are reported
    assert reminded.returncode == 1, reminded.stderr
    assert "3 deliveries of broadcast 1 failed" in reminded.stderr and "  Corp mail" in reminded.stderr
    assert secret not in reminded.stderr + reminded.stdout
    failures = json.loads(cli("status", "1", "--failures", "--json", db=db_url).stdout)
    assert sorted(f["reminder"] for f in failures) == [False] * n + [True] * n
    assert status(cli, db_url, 1)["state"] == "failed"


def test_an_error_retrying_cannot_fix_fails_at_once(cli: CliRunner, sqlite_url: str, tmp_path: Path,
                                                    mail_sink: MailSink) -> None:
    csv = tmp_path / "people.csv"
    csv.write_text("name,email,phone,groups\nPat O'Neil,o'neil@example.org,,\nAnn Lee,ann@example.org,,\n",
                   encoding="utf-8")
    assert cli("contacts", "import", str(csv), db=sqlite_url).returncode == 0
    assert cli("channels", "add", "--name", "Corp mail", "--kind", "email", "--url",
               f"mailto://127.0.0.1:{mail_sink.port}?from=alerts@example.org&to={{address}}&mode=insecure",
               db=sqlite_url).returncode == 0
    started = time.monotonic()
    out = cli("send", "--title", "Fire", "--body", "Leave now.", "--group", "all", "--wait", db=sqlite_url)
    assert time.monotonic() - started < 100  # the 30-minute default window did not hold it
    assert out.returncode == 1
    assert "1 deliveries of broadcast 1 failed" in out.stderr and "Apprise reads the address" in out.stderr
    assert [m.rcpt_tos[0] for m in mail_sink.wait_for(1, timeout=10)] == ["ann@example.org"]
    (failure,) = json.loads(cli("status", "1", "--failures", "--json", db=sqlite_url).stdout)
    assert (failure["name"], failure["attempts"]) == ("Pat O'Neil", 1)
    failed = [e for e in _audit(cli, sqlite_url) if e["action"] == "delivery.failed"]
    assert [e["details"]["gave_up"] for e in failed] == ["an error that retrying cannot fix"]
    assert status(cli, sqlite_url, 1)["state"] == "failed"


@pytest.mark.gui
def test_the_broadcast_tree_shows_a_failed_broadcast(qapp: QApplication, sqlite_db: Database) -> None:
    from console.broadcast.outbox import finish_broadcasts
    from console.broadcast.send import BroadcastRequest, create_broadcast
    from console.broadcast.status import broadcast_status
    from console.gui.models.broadcast_tree import BroadcastTreeModel
    from console.models import Broadcast, Delivery
    from console.services.live import load_tree
    from tests.helpers.gui import ACTOR, seed

    seed(sqlite_db, 3)
    box = sqlite_db.secrets
    with sqlite_db.write() as session:
        bid = create_broadcast(session, box, BroadcastRequest(title="Flood", body="Go up.", groups=["all"]),
                               ACTOR).broadcast_id
        first = session.scalar(select(func.min(Delivery.id)))
        session.execute(update(Delivery).values(state="sent", attempts=1))
        session.execute(update(Delivery).where(Delivery.id == first).values(state="failed", last_error="refused"))
    model = BroadcastTreeModel()
    model.update(load_tree(sqlite_db))  # before the dispatcher closes it: what is true already
    state = model.index(0, BroadcastTreeModel.STATE, model.index(0, 0))
    assert state.data() == "failed"
    with sqlite_db.write() as session:
        assert finish_broadcasts(session.connection(), {bid}) == [bid]
        assert session.get_one(Broadcast, bid).state == "failed"
        assert broadcast_status(session, bid).state == "failed"
    model.update(load_tree(sqlite_db))
    assert model.index(0, BroadcastTreeModel.STATE, model.index(0, 0)).data() == "failed"
