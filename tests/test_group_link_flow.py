"""A broadcast posted only to a group channel, end to end: the CLI sends it, a real webhook receives
the post with its group link, members answer there (self-reports) and have their personal link
mailed (real SMTP) to confirm. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import requests

from console.acks.server import AckServer
from console.broadcast.dispatcher import DispatchConfig, Dispatcher
from console.mailsink import MailSink
from console.storage import Database, open_database
from tests.helpers.webhook import Webhook, running
from tests.test_send import send, setup_directory, status

if TYPE_CHECKING:
    from tests.conftest import CliRunner

GROUP_LINK = re.compile(r"(http://127\.0\.0\.1:\d+)/g/([A-Za-z0-9_-]{32})")
PERSONAL_LINK = re.compile(r"(http://127\.0\.0\.1:\d+)/a/([A-Za-z0-9_-]{32})")


@pytest.fixture
def served(cli: CliRunner, db_url: str, tmp_path: Path, mail_sink: MailSink) -> Iterator[tuple[Database, str]]:
    """Six staff (Leeds: person1, 3, 5), a mail channel, and the answer service with links pointing at it."""
    setup_directory(cli, db_url, tmp_path, 6, mail_sink.port)
    db = open_database(db_url)
    server = AckServer(db, "127.0.0.1", 0, cpu="all")
    url = server.start()
    assert cli("settings", "set", "ack.public_url", url, db=db_url).returncode == 0
    yield db, url
    server.stop()
    db.dispose()


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    with running() as server:
        yield server


def dispatch_all(db: Database) -> None:
    dispatcher = Dispatcher(db, DispatchConfig(processes=0, workers=2)).start()
    try:
        assert dispatcher.run_until_done(timeout=60)
    finally:
        dispatcher.stop()


def check_of(page: str) -> str:
    found = re.search(r'name="check" value="([^"]*)"', page)
    assert found
    return found.group(1)


def test_a_group_only_broadcast_has_its_members_as_recipients_who_can_answer(
        cli: CliRunner, db_url: str, served: tuple[Database, str], mail_sink: MailSink, webhook: Webhook) -> None:
    db, url = served
    hook = f"json://127.0.0.1:{webhook.port}/ops"
    out = cli("channels", "add", "--name", "Ops room", "--kind", "group", "--group", "Leeds", "--url", hook, db=db_url)
    assert out.returncode == 0, out.stderr

    result = send(cli, db_url, "--group", "Leeds", "--channel", "Ops room", "--safety-check", "--wait")
    assert (result["recipients"], result["deliveries"], result["unreachable"]) == (3, 1, [])
    [post] = webhook.bodies
    base, token = GROUP_LINK.search(post["message"]).groups()  # type: ignore[union-attr]
    assert base == url
    page = requests.get(f"{url}/g/{token}", timeout=10)
    assert page.status_code == 200 and "Email me my personal link" in page.text  # a mail channel exists
    check = check_of(page.text)

    reply = requests.post(f"{url}/g/{token}", data={"check": check, "email": "person3@example.org",
                                                    "answer": "I need help"}, timeout=10)
    assert reply.status_code == 200 and "self-report" in reply.text
    st = status(cli, db_url, result["broadcast_id"])
    assert (st["recipients"], st["acknowledged"], st["needs_help"], st["self_reported"]) == (3, 1, 1, 1)
    assert st["answers"] == {"I'm safe": 0, "I need help": 1} and st["state"] == "sent"

    # person3 asks for their personal link; a stranger asks too; person3 asks again at once
    for email in ("person3@example.org", "stranger@example.org", "person3@example.org"):
        sent = requests.post(f"{url}/g/{token}", data={"check": check, "email": email, "action": "send_link"},
                             timeout=10)
        assert sent.status_code == 200 and "Check your email" in sent.text
    assert not mail_sink.messages  # queued in the outbox, not sent by the answer service itself
    dispatch_all(db)
    [mail] = mail_sink.wait_for(1)
    assert mail.rcpt_tos == ("person3@example.org",)
    link_base, personal = PERSONAL_LINK.search(mail.text).groups()  # type: ignore[union-attr]
    assert link_base == url

    page = requests.get(f"{url}/a/{personal}", timeout=10)
    assert "was reported for you through a group link" in page.text
    answered = requests.post(f"{url}/a/{personal}", data={"check": check_of(page.text), "answer": "I'm safe"},
                             timeout=10)
    assert answered.status_code == 200 and "Answer recorded" in answered.text
    st = status(cli, db_url, result["broadcast_id"])
    assert (st["acknowledged"], st["needs_help"], st["self_reported"]) == (1, 0, 0)  # confirmed, in person

    entries = json.loads(cli("audit", "export", "--format", "json", db=db_url).stdout)["entries"]
    actions = [e["action"] for e in entries if e["action"].startswith("ack.")]
    assert actions == ["ack.self_report", "ack.link_requested", "ack.answer"]
    assert cli("audit", "verify", db=db_url).returncode == 0
