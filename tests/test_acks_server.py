"""The service behind a real waitress on port 0: start/stop, a crowd of answers, `serve-acks`."""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import requests
from sqlalchemy import func, select

from console import audit
from console.acks.errors import AckServerError
from console.acks.recorder import AUDIT_ACTION
from console.acks.server import AckServer
from console.acks.tokens import hash_token
from console.bench.acks import Seeded, seed_broadcast
from console.models import AuditEntry, Recipient
from console.storage import Database, open_database

if TYPE_CHECKING:
    from tests.conftest import CliRunner

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def seeded(db_url: str) -> Iterator[tuple[Database, Seeded]]:
    db = open_database(db_url)
    yield db, seed_broadcast(db, 3)
    db.dispose()


def check_of(page: str) -> str:
    found = re.search(r'name="check" value="([^"]*)"', page)
    assert found
    return found.group(1)


def answers(db: Database, broadcast_id: int) -> dict[str, str | None]:
    with db.read() as session:
        return dict(session.execute(select(Recipient.email, Recipient.answer)
                                    .where(Recipient.broadcast_id == broadcast_id)).all())


def test_start_on_port_0_serves_and_stop_closes_the_port(seeded: tuple[Database, Seeded]) -> None:
    db, s = seeded
    server = AckServer(db, "127.0.0.1", 0)
    with pytest.raises(AckServerError, match="not running"):
        _ = server.url
    url = server.start()
    assert server.start() == url == server.url and server.running
    port = int(url.rsplit(":", 1)[1])
    assert url == f"http://127.0.0.1:{port}" and port > 0
    assert logging.getLogger("waitress.queue").level == logging.ERROR
    token = next(iter(s.tokens.values()))
    page = requests.get(f"{url}/a/{token}", timeout=10)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    head = requests.head(f"{url}/a/{token}", timeout=10)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["Content-Length"] == page.headers["Content-Length"]
    posted = requests.post(f"{url}/a/{token}", data={"check": check_of(page.text), "answer": "I need help"},
                           timeout=10)
    assert posted.status_code == 200 and "Answer recorded" in posted.text
    assert requests.get(f"{url}/healthz", timeout=10).json()["status"] == "ok"
    server.stop()
    server.stop()  # twice is harmless
    assert not server.running
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/healthz", timeout=5)
    assert list(answers(db, s.broadcast_id).values()).count("I need help") == 1


def test_a_port_in_use_is_reported_in_words(seeded: tuple[Database, Seeded]) -> None:
    db, _s = seeded
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(AckServerError, match=f"cannot listen on 127.0.0.1:{port}: .*in use"):
            AckServer(db, "127.0.0.1", port).start()


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="CPU affinity is Linux-only")
def test_the_service_threads_run_on_the_chosen_cpu_and_the_caller_keeps_its_own(
        seeded: tuple[Database, Seeded]) -> None:
    db, s = seeded
    cpus = sorted(os.sched_getaffinity(0))
    before = {t.ident: t for t in threading.enumerate()}
    server = AckServer(db, "127.0.0.1", 0, threads=3, cpu=cpus[-1])
    url = server.start()
    try:
        started = [t for t in threading.enumerate() if t.ident not in before]
        assert {t.name for t in started} >= {"ack-server", "ack-writer"} and len(started) >= 5  # + 3 request threads
        assert all(os.sched_getaffinity(t.native_id or 0) == {cpus[-1]} for t in started)
        assert server.cpu == cpus[-1]
        assert sorted(os.sched_getaffinity(0)) == cpus  # the caller got its own mask back
        token = next(iter(s.tokens.values()))
        assert requests.get(f"{url}/a/{token}", timeout=10).status_code == 200
    finally:
        server.stop()
    assert server.cpu is None

    free = AckServer(db, "127.0.0.1", 0, threads=2, cpu="all")
    free.start()
    try:
        writer = next(t for t in threading.enumerate() if t.name == "ack-writer")
        assert free.cpu is None and sorted(os.sched_getaffinity(writer.native_id or 0)) == cpus
    finally:
        free.stop()


def test_a_cpu_the_process_may_not_use_is_refused_in_words(seeded: tuple[Database, Seeded]) -> None:
    db, _s = seeded
    with pytest.raises(AckServerError, match=r"CPU 4096: CPU 4096 is not available to this process \(available: "):
        AckServer(db, "127.0.0.1", 0, cpu=4096).start()


def test_a_crowd_of_simultaneous_answers_is_counted_exactly(db_url: str) -> None:
    """Hundreds of people press their button at the same moment: no errors, exact counts, one chain."""
    db = open_database(db_url)
    crowd = 300
    s = seed_broadcast(db, crowd)
    options = ("I'm safe", "I need help")
    with AckServer(db) as server:
        checks = {t: server.app.form_check.value(hash_token(t)) for t in s.tokens.values()}  # type: ignore[union-attr]
        start = threading.Barrier(crowd)
        statuses: list[int] = []
        errors: list[BaseException] = []

        def press(i: int, token: str) -> None:
            try:
                with requests.Session() as http:
                    start.wait(30)
                    reply = http.post(f"{server.url}/a/{token}", data={"check": checks[token],
                                                                       "answer": options[i % 2]}, timeout=60)
                    statuses.append(reply.status_code)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=press, args=(i, t)) for i, t in enumerate(s.tokens.values())]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    assert errors == [] and statuses == [200] * crowd
    counted = answers(db, s.broadcast_id)
    assert list(counted.values()).count("I'm safe") == crowd // 2
    assert list(counted.values()).count("I need help") == crowd // 2
    with db.read() as session:
        assert session.scalar(select(func.count()).where(AuditEntry.action == AUDIT_ACTION)) == crowd
        assert audit.verify(session).ok
    db.dispose()


def test_two_instances_on_one_database_keep_exact_counts_and_one_chain(db_url: str) -> None:
    """`serve-acks` on several machines against one database: each has its own writer."""
    db = open_database(db_url)
    s = seed_broadcast(db, 120)
    with AckServer(db) as first, AckServer(db) as second:
        urls = (first.url, second.url)
        check = first.app.form_check  # type: ignore[union-attr]
        start = threading.Barrier(len(s.tokens))
        statuses: list[int] = []

        def press(i: int, token: str) -> None:
            start.wait(30)
            reply = requests.post(f"{urls[i % 2]}/a/{token}", timeout=60,
                                  data={"check": check.value(hash_token(token)), "answer": "I'm safe"})
            statuses.append(reply.status_code)

        threads = [threading.Thread(target=press, args=(i, t)) for i, t in enumerate(s.tokens.values())]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    assert statuses == [200] * len(s.tokens)
    assert list(answers(db, s.broadcast_id).values()) == ["I'm safe"] * len(s.tokens)
    with db.read() as session:
        assert session.scalar(select(func.count()).where(AuditEntry.action == AUDIT_ACTION)) == len(s.tokens)
        result = audit.verify(session)
    assert result.ok, result.message()
    db.dispose()


def test_every_200_is_durable_even_when_the_server_stops_mid_crowd(db_url: str) -> None:
    db = open_database(db_url)
    s = seed_broadcast(db, 150)
    server = AckServer(db)
    url = server.start()  # read once: the threads may run after the stop, when server.url raises
    checks = {t: server.app.form_check.value(hash_token(t)) for t in s.tokens.values()}  # type: ignore[union-attr]
    ok: list[str] = []
    go = threading.Barrier(len(s.tokens) + 1)

    def press(email: str, token: str) -> None:
        go.wait(30)
        try:
            reply = requests.post(f"{url}/a/{token}", data={"check": checks[token], "answer": "I'm safe"},
                                  timeout=30)
        except requests.RequestException:
            return
        if reply.status_code == 200:
            ok.append(email)

    threads = [threading.Thread(target=press, args=item) for item in s.tokens.items()]
    for t in threads:
        t.start()
    go.wait(30)
    server.stop()
    for t in threads:
        t.join(60)
    recorded = {e for e, a in answers(db, s.broadcast_id).items() if a}
    assert set(ok) <= recorded
    db.dispose()


def test_client_address_comes_from_a_trusted_proxy_only(seeded: tuple[Database, Seeded]) -> None:
    db, s = seeded
    tokens = list(s.tokens.values())
    for proxy, token, expected in ((None, tokens[0], "127.0.0.1"), ("127.0.0.1", tokens[1], "203.0.113.9")):
        with AckServer(db, trusted_proxy=proxy) as server:
            page = requests.get(f"{server.url}/a/{token}", timeout=10)
            requests.post(f"{server.url}/a/{token}", data={"check": check_of(page.text), "answer": "I'm safe"},
                          headers={"X-Forwarded-For": "203.0.113.9"}, timeout=10).raise_for_status()
        with db.read() as session:
            last = session.scalar(select(AuditEntry.details).where(AuditEntry.action == AUDIT_ACTION)
                                  .order_by(AuditEntry.seq.desc()).limit(1))
        assert json.loads(last or "{}")["client"] == expected


# --- serve-acks -------------------------------------------------------------------------------

def test_serve_acks_runs_until_sigterm(sqlite_url: str) -> None:
    db = open_database(sqlite_url)
    s = seed_broadcast(db, 1)
    token = next(iter(s.tokens.values()))
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "console", "serve-acks", "--db", sqlite_url, "--port", "0",
                             "--threads", "4"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        found = re.match(r"acknowledgement service on (http://127\.0\.0\.1:\d+) \(links point to ", first)
        assert found, first + (proc.stderr.read() if proc.stderr else "")
        url = found.group(1)
        assert requests.get(f"{url}/healthz", timeout=10).json()["status"] == "ok"
        assert requests.get(f"{url}/a/{secrets.token_urlsafe(24)}", timeout=10).status_code == 404
        page = requests.get(f"{url}/a/{token}", timeout=10)
        assert page.status_code == 200 and "I&#x27;m safe" in page.text
        requests.post(f"{url}/a/{token}", data={"check": check_of(page.text), "answer": "I'm safe"},
                      timeout=10).raise_for_status()
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "acknowledgement service stopped" in out
    assert "answer recorded: broadcast" in err and token not in err + out
    with db.read() as session:
        assert session.scalar(select(func.count()).where(AuditEntry.action == "acks.serve")) == 1
    db.dispose()


@pytest.fixture
def existing_db(sqlite_url: str) -> str:
    """serve-acks serves an existing database only (it says "no database at ..." otherwise)."""
    open_database(sqlite_url).dispose()
    return sqlite_url


def test_serve_acks_bad_port_is_a_usage_error(cli: CliRunner, sqlite_url: str) -> None:
    out = cli("serve-acks", "--port", "99999", db=sqlite_url)
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "port 99999 is not in 0-65535" in out.stderr


@pytest.mark.parametrize(("value", "said"), [
    ("banana", "argument --cpu: 'banana': expected auto, all or a CPU number such as 0"),
    ("4096", "--cpu 4096: CPU 4096 is not available to this process (available: "),
])
def test_serve_acks_bad_cpu_is_a_usage_error(cli: CliRunner, existing_db: str, value: str,
                                             said: str) -> None:
    out = cli("serve-acks", "--port", "0", "--cpu", value, db=existing_db)
    assert out.returncode == 2, out.stderr
    assert out.stderr.strip().count("\n") == 0 and said in out.stderr


def test_serve_acks_port_in_use_fails_in_words(cli: CliRunner, existing_db: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = cli("serve-acks", "--port", str(port), db=existing_db)
    assert out.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in out.stderr and "Traceback" not in out.stderr
