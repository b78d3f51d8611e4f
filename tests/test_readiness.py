"""No silent misconfiguration: links to this machine sent to people elsewhere, no answer service.

The answer service is the real one (waitress on port 0); "nothing listens" is a loopback
port that was just closed. The command line runs in a subprocess, as a user would run it.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from console import settings
from console.acks.server import AckServer
from console.channelstore import save_channel
from console.directory.service import save_contact, save_group
from console.services import broadcasts, readiness
from console.services.readiness import ServiceState, WarningCode
from console.storage import Database, open_database
from tests.helpers.webhook import running

if TYPE_CHECKING:
    from tests.conftest import CliRunner

ACTOR = "tester"


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def db(sqlite_url: str) -> Iterator[Database]:
    database = open_database(sqlite_url, create=True)
    yield database
    database.dispose()


def set_url(db: Database, url: str) -> None:
    with db.write() as session:
        settings.set_value(session, "ack.public_url", url, ACTOR)


def directory(db: Database, emails: list[str], *, sms: bool = False) -> None:
    box = db.secrets
    with db.write() as session:
        save_group(session, ACTOR, "Ops")
        for i, email in enumerate(emails):
            save_contact(session, ACTOR, name=f"Person {i}", email=email, phone=f"+44770090{i:04d}", groups=["Ops"])
        save_channel(session, box, ACTOR, name="Corp mail", kind="email",
                     url="mailto://127.0.0.1:9?from=alerts@example.org&to={address}&mode=insecure")
        if sms:
            save_channel(session, box, ACTOR, name="Texts", kind="sms", url="json://127.0.0.1:9/sms/{address}")


# --- what counts as this machine -------------------------------------------------------------

@pytest.mark.parametrize(("url", "loopback"), [
    ("http://127.0.0.1:8765", True), ("http://127.8.9.10", True), ("http://localhost:8080", True),
    ("http://LOCALHOST.", True), ("http://ack.localhost", True), ("http://[::1]:8765", True),
    ("http://0.0.0.0:8765", True), ("https://alerts.example.org", False), ("http://10.1.2.3:8765", False),
    ("http://[2001:db8::1]", False), ("http://localhost.example.org", False),
])
def test_loopback_urls(url: str, loopback: bool) -> None:
    assert readiness.is_loopback_url(url) is loopback


@pytest.mark.parametrize(("address", "field", "local"), [
    ("ops@localhost", "email", True), ("ops@mail.localhost", "email", True), ("ops@[127.0.0.1]", "email", True),
    ("ops@[IPv6:::1]", "email", True), ("person@example.org", "email", False), ("localhost", "email", False),
    ("person@localhost.example.org", "email", False), ("+447700900123", "phone", False),
    ("@alice:localhost", "chat", True), ("@alice:localhost:8008", "chat", True),
    ("@alice:matrix.example.org", "chat", False), ("123456789", "chat", False),
])
def test_local_addresses(address: str, field: str, local: bool) -> None:
    assert readiness.is_local_address(address, field) is local


# --- the link check -------------------------------------------------------------------------

def test_loopback_links_to_people_elsewhere_warn(db: Database) -> None:
    directory(db, ["ops@desk.localhost", "a@example.org", "b@example.org"], sms=True)
    check = readiness.check_links_for_audience(db, ["Ops"], [], ["Corp mail"])
    assert (check.public_url, check.loopback, check.people, check.remote) == ("http://127.0.0.1:8765", True, 3, 2)
    warning = check.warning()
    assert warning is not None and warning.code is WarningCode.LOOPBACK_LINKS
    assert "http://127.0.0.1:8765" in warning.message and "2 of 3 people" in warning.message

    local_id = _contact_id(db, "ops@desk.localhost")
    assert readiness.check_links_for_audience(db, [], [local_id], ["Corp mail"]).warning() is None
    # the same person by text message: a phone is never this machine
    texts = readiness.check_links_for_audience(db, [], [local_id], ["Texts"])
    assert (texts.people, texts.remote) == (1, 1) and texts.warning() is not None

    sent = broadcasts.send(db, broadcasts.BroadcastRequest(title="T", body="B", groups=["Ops"],
                                                           channels=["Corp mail"]), ACTOR)
    written = readiness.check_links_for_broadcast(db, sent.broadcast_id)
    assert (written.people, written.remote) == (3, 2) and written.warning() is not None

    set_url(db, "https://alerts.example.org")
    for check in (readiness.check_links_for_audience(db, ["Ops"], [], None),
                  readiness.check_links_for_broadcast(db, sent.broadcast_id)):
        assert not check.loopback and check.warning() is None


def test_an_audience_that_does_not_resolve_gives_no_link_warning(db: Database) -> None:
    directory(db, ["a@example.org"])
    assert readiness.check_links_for_audience(db, ["nope"], [], None).warning() is None


def _contact_id(db: Database, email: str) -> int:
    from console.directory.service import list_contacts

    with db.read() as session:
        return next(c.id for c in list_contacts(session) if c.email == email)


# --- the answer service ---------------------------------------------------------------------

def test_a_running_answer_service_is_ok_and_a_stopped_one_unreachable(db: Database) -> None:
    server = AckServer(db, "127.0.0.1", 0)
    url = server.start()
    try:
        set_url(db, url)
        found = readiness.answer_service_reachable(db, timeout=5)
        assert found == readiness.AnswerService(f"{url}/healthz", ServiceState.OK, "")
        assert readiness.service_warning(found) is None
        assert server.app is not None
        server.app.recorder.stop()  # answers can no longer be committed: /healthz says 503
        sick = readiness.answer_service_reachable(db, timeout=5)
        assert sick.state is ServiceState.UNHEALTHY and "HTTP 503" in sick.reason and "writer stopped" in sick.reason
        warning = readiness.service_warning(sick)
        assert warning is not None and warning.code is WarningCode.ANSWER_SERVICE_UNHEALTHY
    finally:
        server.stop()
    gone = readiness.answer_service_reachable(db, timeout=5)
    assert gone.state is ServiceState.UNREACHABLE and "connection refused" in gone.reason
    warning = readiness.service_warning(gone)
    assert warning is not None and warning.code is WarningCode.ANSWER_SERVICE_UNREACHABLE
    assert url in warning.message and "serve-acks" in warning.message


def test_something_else_on_the_port_is_not_an_answer_service() -> None:
    with running() as other:  # answers POSTs only: a GET gets 501 and no health report
        found = readiness.probe_answer_service(f"http://127.0.0.1:{other.port}/", timeout=5)
    assert found.url == f"http://127.0.0.1:{other.port}/healthz"
    assert found.state is ServiceState.UNHEALTHY and "not a Crisis Console answer service" in found.reason


# --- the command line ----------------------------------------------------------------------

def cli_directory(cli: CliRunner, db: str, tmp_path: Path, emails: list[str]) -> None:
    csv = tmp_path / "staff.csv"
    csv.write_text("name,email,phone,groups\n" + "".join(f"P{i},{e},,Ops\n" for i, e in enumerate(emails)),
                   encoding="utf-8")
    assert cli("contacts", "import", csv, db=db).returncode == 0
    out = cli("channels", "add", "--name", "Corp mail", "--kind", "email", "--url",
              "mailto://127.0.0.1:9?from=alerts@example.org&to={address}&mode=insecure", db=db)
    assert out.returncode == 0, out.stderr


def warnings_of(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("warning: ")]


def test_send_to_real_addresses_with_the_default_url_warns(cli: CliRunner, db_url: str, tmp_path: Path) -> None:
    cli_directory(cli, db_url, tmp_path, ["a@example.org", "b@example.org"])
    nothing = f"http://127.0.0.1:{closed_port()}"
    assert cli("settings", "set", "ack.public_url", nothing, db=db_url).returncode == 0
    out = cli("send", "--title", "Fire", "--body", "Leave now.", "--group", "Ops", "--json", db=db_url)
    assert out.returncode == 0, out.stderr  # a warning, not a refusal: the broadcast is queued
    data = json.loads(out.stdout)
    assert data["recipients"] == 2 and data["deliveries"] == 2
    codes = [w["code"] for w in data["warnings"]]
    assert codes == ["loopback_links", "answer_service_unreachable"]
    lines = warnings_of(out.stderr)
    assert len(lines) == 2 and all(len(line.splitlines()) == 1 for line in lines)
    assert f"links point at {nothing}" in lines[0] and "2 of 2 people" in lines[0]
    assert f"no answer service is reachable at {nothing}/healthz" in lines[1] and "connection refused" in lines[1]

    human = cli("send", "--title", "Fire", "--body", "Leave now.", "--group", "Ops", db=db_url)
    assert human.returncode == 0 and warnings_of(human.stderr) == lines  # the same words without --json
    assert "warning" not in human.stdout

    reminded = cli("remind", str(data["broadcast_id"]), db=db_url)
    assert reminded.returncode == 0, reminded.stderr
    assert warnings_of(reminded.stderr) == lines

    status = cli("status", str(data["broadcast_id"]), "--json", db=db_url)
    assert status.returncode == 0, status.stderr
    service = json.loads(status.stdout)["answer_service"]
    assert service["url"] == f"{nothing}/healthz" and service["state"] == "unreachable"
    assert "connection refused" in service["reason"]
    said = cli("status", str(data["broadcast_id"]), db=db_url)
    assert f"answer service: unreachable at {nothing}/healthz" in said.stdout
    assert "no answers can come in" in said.stdout


def test_a_running_service_and_local_people_give_no_warning(cli: CliRunner, sqlite_url: str, tmp_path: Path) -> None:
    cli_directory(cli, sqlite_url, tmp_path, ["ops@desk.localhost", "desk@ops.localhost"])
    db = open_database(sqlite_url)
    try:
        with AckServer(db, "127.0.0.1", 0) as server:
            assert cli("settings", "set", "ack.public_url", server.url, db=sqlite_url).returncode == 0
            out = cli("send", "--title", "Drill", "--body", "B", "--group", "Ops", "--json", db=sqlite_url)
            assert out.returncode == 0, out.stderr
            data = json.loads(out.stdout)
            assert data["warnings"] == [] and warnings_of(out.stderr) == []
            status = cli("status", str(data["broadcast_id"]), "--json", db=sqlite_url)
            assert json.loads(status.stdout)["answer_service"]["state"] == "ok"
            assert "answer service" not in cli("status", str(data["broadcast_id"]), db=sqlite_url).stdout
            # people elsewhere, a link to this machine: the link warning alone (the service is fine)
            cli_directory_more(cli, sqlite_url, tmp_path)
            out = cli("send", "--title", "Fire", "--body", "B", "--group", "all", "--json", db=sqlite_url)
            assert [w["code"] for w in json.loads(out.stdout)["warnings"]] == ["loopback_links"]
            assert len(warnings_of(out.stderr)) == 1 and "1 of 3 people" in out.stderr
    finally:
        db.dispose()


def cli_directory_more(cli: CliRunner, db: str, tmp_path: Path) -> None:
    csv = tmp_path / "more.csv"
    csv.write_text("name,email,phone,groups\nRemote,remote@example.org,,Field\n", encoding="utf-8")
    assert cli("contacts", "import", csv, db=db).returncode == 0
