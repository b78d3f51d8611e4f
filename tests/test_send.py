"""Sending a broadcast through the CLI: real SMTP, personal links, status, remind, cancel."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from console.mailsink import MailSink

if TYPE_CHECKING:
    from tests.conftest import CliRunner

LINK = re.compile(r"http://ack\.test:8080/a/([A-Za-z0-9_-]{32})")


def staff_csv(path: Path, n: int, *, phones: bool = True) -> Path:
    lines = ["name,email,phone,groups"]
    for i in range(n):
        phone = f"+4477009{i:05d}" if phones and i % 2 == 0 else ""
        lines.append(f"Person {i},person{i}@example.org,{phone},{'Leeds' if i % 2 else 'London'}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def setup_directory(cli: CliRunner, db: str, tmp_path: Path, n: int, smtp_port: int) -> None:
    assert cli("contacts", "import", str(staff_csv(tmp_path / "staff.csv", n)), db=db).returncode == 0
    out = cli("channels", "add", "--name", "Corp mail", "--kind", "email", "--url",
              f"mailto://127.0.0.1:{smtp_port}?from=alerts@example.org&to={{address}}&mode=insecure", db=db)
    assert out.returncode == 0, out.stderr
    for key, value in (("ack.public_url", "http://ack.test:8080"), ("org.name", "Acme Ltd"),
                       ("dispatch.retry_base_seconds", "0.2"), ("dispatch.retry_max_delay_seconds", "2")):
        assert cli("settings", "set", key, value, db=db).returncode == 0


def send(cli: CliRunner, db: str, *args: str) -> dict:
    out = cli("send", "--title", "Fire alarm in building A", "--body", "Leave by the **nearest** exit.",
              "--json", *args, db=db)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def status(cli: CliRunner, db: str, broadcast_id: int) -> dict:
    out = cli("status", str(broadcast_id), "--json", db=db)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_two_hundred_mails_each_with_its_own_link(cli: CliRunner, db_url: str, tmp_path: Path,
                                                  mail_sink: MailSink) -> None:
    setup_directory(cli, db_url, tmp_path, 200, mail_sink.port)
    result = send(cli, db_url, "--group", "all", "--wait", "--safety-check", "--severity", "critical")
    assert result["recipients"] == 200 and result["deliveries"] == 200 and result["unreachable"] == []
    mails = mail_sink.wait_for(200, timeout=30)
    assert len(mails) == 200
    links = {}
    for mail in mails:
        (to,) = mail.rcpt_tos
        found = LINK.findall(mail.text)
        assert len(set(found)) == 1, mail.text
        links[to] = found[0]
        assert mail.subject.startswith("[CRITICAL] Fire alarm in building A")
        assert "I'm safe" in mail.text
    assert len(links) == 200 and len(set(links.values())) == 200
    st = status(cli, db_url, result["broadcast_id"])
    assert st["sent"] == 200 and st["failed"] == 0 and st["pending"] == 0 and st["state"] == "sent"
    assert st["recipients"] == 200 and st["acknowledged"] == 0
    assert st["answers"] == {"I'm safe": 0, "I need help": 0}


def test_exercise_prefix_on_every_mail(cli: CliRunner, sqlite_url: str, tmp_path: Path, mail_sink: MailSink) -> None:
    setup_directory(cli, sqlite_url, tmp_path, 4, mail_sink.port)
    result = send(cli, sqlite_url, "--group", "all", "--channel", "Corp mail", "--exercise", "--wait")
    mails = mail_sink.wait_for(4, timeout=20)
    assert all(m.subject.startswith("[EXERCISE]") for m in mails)
    assert all("[EXERCISE]" in m.text.splitlines()[0] for m in mails)
    assert status(cli, sqlite_url, result["broadcast_id"])["exercise"] is True


def test_unreachable_contacts_are_listed(cli: CliRunner, sqlite_url: str, tmp_path: Path, mail_sink: MailSink) -> None:
    setup_directory(cli, sqlite_url, tmp_path, 4, mail_sink.port)
    assert cli("channels", "add", "--name", "Texts", "--kind", "sms", "--url",
               "json://127.0.0.1:9/sms/{address}", db=sqlite_url).returncode == 0
    result = send(cli, sqlite_url, "--group", "all", "--channel", "Texts")
    assert result["recipients"] == 2
    assert sorted(u["contact"] for u in result["unreachable"]) == ["person1@example.org", "person3@example.org"]
    assert all(u["why"] == "has no phone number" for u in result["unreachable"])
    assert status(cli, sqlite_url, result["broadcast_id"])["unreachable"] == 2


@pytest.mark.parametrize(("args", "needle"), [
    (["--group", "nope"], "--group: no group named 'nope'"),
    (["--group", "all", "--severity", "dire"], "--severity"),
    (["--group", "all", "--option", ""], "--option"),
    ([], "--group: choose at least one group"),
])
def test_bad_send_input(cli: CliRunner, sqlite_url: str, tmp_path: Path, mail_sink: MailSink, args: list[str],
                        needle: str) -> None:
    setup_directory(cli, sqlite_url, tmp_path, 2, mail_sink.port)
    out = cli("send", "--title", "T", "--body", "B", *args, db=sqlite_url)
    assert out.returncode == 2
    assert needle in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert cli("status", "1", db=sqlite_url).returncode == 2  # nothing was written


def test_remind_resends_same_links_to_the_silent(cli: CliRunner, db_url: str, tmp_path: Path,
                                                 mail_sink: MailSink) -> None:
    from sqlalchemy import create_engine, text

    setup_directory(cli, db_url, tmp_path, 3, mail_sink.port)
    bid = send(cli, db_url, "--group", "all", "--wait")["broadcast_id"]
    first = {m.rcpt_tos[0]: LINK.findall(m.text)[0] for m in mail_sink.wait_for(3, timeout=20)}
    engine = create_engine(db_url)
    with engine.begin() as conn:  # person0 answered (the ack service does this for real elsewhere)
        conn.execute(text("UPDATE recipients SET answer = 'Acknowledge' WHERE email = 'person0@example.org'"))
    engine.dispose()
    mail_sink.clear()
    out = cli("remind", str(bid), "--wait", db=db_url)
    assert out.returncode == 0, out.stderr
    assert "reminding 2 recipients" in out.stdout
    again = mail_sink.wait_for(2, timeout=20)
    assert sorted(m.rcpt_tos[0] for m in again) == ["person1@example.org", "person2@example.org"]
    for m in again:
        assert LINK.findall(m.text)[0] == first[m.rcpt_tos[0]]
        assert "Reminder" in m.subject
    st = status(cli, db_url, bid)
    assert st["sent"] == 5 and st["recipients"] == 3 and st["acknowledged"] == 1


def test_cancel_stops_pending(cli: CliRunner, sqlite_url: str, tmp_path: Path, mail_sink: MailSink) -> None:
    setup_directory(cli, sqlite_url, tmp_path, 5, mail_sink.port)
    bid = send(cli, sqlite_url, "--group", "all")["broadcast_id"]  # queued, no dispatcher running
    out = cli("cancel", str(bid), db=sqlite_url)
    assert out.returncode == 0 and "5 pending deliveries stopped" in out.stdout
    st = status(cli, sqlite_url, bid)
    assert (st["state"], st["pending"], st["cancelled"], st["sent"]) == ("cancelled", 0, 5, 0)
    assert cli("remind", str(bid), db=sqlite_url).returncode == 2


def test_update_and_all_clear_thread_into_the_incident(cli: CliRunner, sqlite_url: str, tmp_path: Path,
                                                       mail_sink: MailSink) -> None:
    setup_directory(cli, sqlite_url, tmp_path, 2, mail_sink.port)
    first = send(cli, sqlite_url, "--group", "all", "--wait")
    update = send(cli, sqlite_url, "--group", "all", "--kind", "update", "--incident", str(first["incident_id"]))
    clear = send(cli, sqlite_url, "--group", "all", "--kind", "all_clear", "--incident", str(first["incident_id"]),
                 "--force", "--reason", "nobody answers in this test", "--wait")
    assert update["incident_id"] == clear["incident_id"] == first["incident_id"]
    assert status(cli, sqlite_url, clear["broadcast_id"])["kind"] == "all_clear"
