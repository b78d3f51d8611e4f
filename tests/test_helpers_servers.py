"""The test servers themselves work: PostgreSQL, the SMTP sinks, Synapse and chromium."""

from __future__ import annotations

import os
import smtplib
import time
import uuid
from email.message import EmailMessage
from pathlib import Path

import apprise
import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from console.bench.mailsink import MailSinkProcess
from console.mailsink import MailSink, ReceivedMail, html_to_text
from tests.helpers.synapse import SynapseServer


def _select_one(url: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text("select 1")).scalar_one())
    finally:
        engine.dispose()


def test_test_environment_is_isolated() -> None:
    assert os.environ["QT_QPA_PLATFORM"]
    Fernet(os.environ["CRISIS_CONSOLE_KEY"])  # a valid key
    home = Path.home().resolve()
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME"):
        assert Path(os.environ[var]).is_dir()
        assert home not in Path(os.environ[var]).resolve().parents


def test_postgres_accepts_sqlalchemy(pg_url: str) -> None:
    assert pg_url.startswith("postgresql+psycopg://postgres@127.0.0.1:")
    assert _select_one(pg_url) == 1


def test_db_url_on_each_backend(db_url: str) -> None:
    assert _select_one(db_url) == 1


def test_mail_sink_receives_smtplib(mail_sink: MailSink) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "alerts@example.org", "a@example.org", "Évacuation"
    msg.set_content("Leave by the east stairs.\nDo not use the lifts.\n")
    with smtplib.SMTP(mail_sink.host, mail_sink.port, timeout=10) as smtp:
        smtp.send_message(msg)
    [mail] = mail_sink.wait_for(1)
    assert (mail.mail_from, mail.rcpt_tos) == ("alerts@example.org", ("a@example.org",))
    assert mail.subject == "Évacuation"
    assert mail.text == "Leave by the east stairs.\nDo not use the lifts.\n"
    assert mail.html is None
    assert b"Subject:" in mail.raw and mail.received_at <= time.time()


def test_mail_sink_receives_apprise(mail_sink: MailSink) -> None:
    url = (f"mailto://{mail_sink.host}:{mail_sink.port}"
           "?from=alerts@example.org&to=a@example.org&mode=insecure")
    notifier = apprise.Apprise.instantiate(url)
    assert notifier is not None
    assert notifier.notify(title="Fire drill", body="Leave by the east stairs.")
    [mail] = mail_sink.wait_for(1)
    assert mail.subject == "Fire drill"
    assert "Leave by the east stairs." in mail.text
    assert mail.rcpt_tos == ("a@example.org",)


def test_mail_sink_html_only_mail_gives_text(mail_sink: MailSink) -> None:
    msg = EmailMessage()
    msg["Subject"] = "html"
    msg.set_content("<html><head><style>p{}</style></head><body><p>Hi <b>there</b></p>"
                    "<p>Second&amp;last</p></body></html>", subtype="html")
    with smtplib.SMTP(mail_sink.host, mail_sink.port, timeout=10) as smtp:
        smtp.send_message(msg, from_addr="a@example.org", to_addrs=["b@example.org"])
    [mail] = mail_sink.wait_for(1)
    assert mail.text == "Hi there\nSecond&last"
    assert mail.html is not None and "<b>there</b>" in mail.html
    assert html_to_text("<ul><li>a</li><li>b</li></ul>") == "a\nb"


def test_mail_sink_fail_next_then_success(mail_sink: MailSink) -> None:
    mail_sink.fail_next(1)
    with smtplib.SMTP(mail_sink.host, mail_sink.port, timeout=10) as smtp:
        with pytest.raises(smtplib.SMTPDataError) as failed:
            smtp.sendmail("a@example.org", ["b@example.org"], b"Subject: one\r\n\r\nx\r\n")
        assert failed.value.smtp_code == 451
        smtp.sendmail("a@example.org", ["b@example.org"], b"Subject: two\r\n\r\nx\r\n")
    assert [m.subject for m in mail_sink.wait_for(1)] == ["two"]
    assert mail_sink.rejected == 1


def test_mail_sink_wait_for_timeout_says_how_many(mail_sink: MailSink) -> None:
    with pytest.raises(TimeoutError, match="expected 1 message.* 0 arrived"):
        mail_sink.wait_for(1, timeout=0.05)


def test_mail_sink_callback_and_clear() -> None:
    seen: list[ReceivedMail] = []
    with MailSink(on_message=seen.append) as sink, \
            smtplib.SMTP(sink.host, sink.port, timeout=10) as smtp:
        smtp.sendmail("a@example.org", ["b@example.org", "c@example.org"],
                      b"Subject: cb\r\n\r\nx\r\n")
        sink.wait_for(1)
        assert [(m.subject, m.rcpt_tos) for m in seen] == [
            ("cb", ("b@example.org", "c@example.org"))]
        sink.clear()
        assert sink.messages == [] and sink.count == 0


def test_mail_sink_process_counts() -> None:
    started = time.time()
    with MailSinkProcess() as sink:
        with smtplib.SMTP(sink.host, sink.port, timeout=10) as smtp:
            for i in range(500):
                smtp.sendmail("a@example.org", ["b@example.org"], f"Subject: {i}\r\n\r\nx\r\n")
        assert sink.wait_for_count(500, timeout=30) == 500
        assert started <= sink.first_at <= sink.last_at <= time.time()
        sink.reset()
        assert (sink.count, sink.first_at, sink.last_at) == (0, 0.0, 0.0)
        # Content split over many TCP segments, dot-stuffing and an empty body.
        big = "Subject: big\r\n\r\n" + ("line\r\n.\r\n..x\r\n" * 100_000)
        with smtplib.SMTP(sink.host, sink.port, timeout=10) as smtp:
            smtp.sendmail("a@example.org", ["b@example.org"], big)
            smtp.sendmail("a@example.org", ["b@example.org"], b"")
            smtp.sendmail("a@example.org", ["b@example.org"], b"Subject: after\r\n\r\nx")
        assert sink.wait_for_count(3, timeout=10) == 3
        time.sleep(0.05)
        assert sink.count == 3


@pytest.mark.slow
def test_synapse_round_trip_with_apprise(synapse: SynapseServer) -> None:
    suffix = uuid.uuid4().hex[:8]
    bot, reader, room = f"bot{suffix}", f"reader{suffix}", f"alerts{suffix}"
    synapse.register_user(bot, "bot-pass")
    synapse.register_user(reader, "reader-pass")
    client = synapse.client()
    token = client.login(reader, "reader-pass")
    # Apprise would create a missing room as private; the ops room exists beforehand.
    client.create_room(token, room)
    notifier = apprise.Apprise.instantiate(
        f"matrix://{bot}:bot-pass@{synapse.host}:{synapse.port}/#{room}")
    assert notifier is not None
    assert notifier.notify(title="Fire drill", body="Leave by the east stairs.")
    [body] = client.room_messages(token, f"#{room}:localhost")
    assert "Fire drill" in body and "Leave by the east stairs." in body


def test_chromium_opens_data_url(page: object) -> None:
    from playwright.sync_api import Page

    assert isinstance(page, Page)
    page.goto("data:text/html,<title>Ack</title><h1>I am safe</h1>")
    assert page.title() == "Ack"
    assert page.text_content("h1") == "I am safe"
