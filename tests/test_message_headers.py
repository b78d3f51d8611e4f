"""Broadcast mails look like what they are: severity in the subject and body, urgency and
auto-submitted headers, the organisation as the sender. Real mails through the real send path."""

from __future__ import annotations

from email.utils import parseaddr
from pathlib import Path
from typing import TYPE_CHECKING

from apprise.plugins.email import NotifyEmail

from channels import Deliverer, Outgoing, notify_type_for, render
from channels.urls import instantiate
from console.mailsink import MailSink
from tests.helpers.broadcastmail import FIRE_BODY, FIRE_TITLE, FROM, ORG, PUBLIC_URL, parse, send, set_up

if TYPE_CHECKING:
    from tests.conftest import CliRunner


def test_a_critical_alert_says_so_in_subject_headers_sender_and_body(
        cli: CliRunner, db_url: str, tmp_path: Path, mail_sink: MailSink) -> None:
    set_up(cli, db_url, tmp_path, mail_sink.port)
    (sent,) = send(cli, db_url, mail_sink, "--severity", "critical", "--safety-check")

    assert sent.mail.subject == f"[CRITICAL] {FIRE_TITLE}"
    assert sent.header("Importance") == ["high"]
    assert sent.header("X-Priority") == ["1 (Highest)"]
    assert sent.header("Auto-Submitted") == ["auto-generated"]
    assert sent.header("X-Auto-Response-Suppress") == ["OOF, AutoReply"]
    (raw_from,) = sent.header("From")
    assert parseaddr(raw_from) == (ORG, FROM)
    assert sent.mail.mail_from == FROM  # the envelope keeps the configured address

    text = sent.part("plain")
    assert text.lstrip().startswith("CRITICAL: Leave building B now"), text
    assert "<strong>CRITICAL:</strong> Leave building B now" in sent.part("html")
    assert f"{PUBLIC_URL}/a/" in text and "Answer (I'm safe / I need help):" in text


def test_exercise_warning_and_info_labels(cli: CliRunner, sqlite_url: str, tmp_path: Path,
                                          mail_sink: MailSink) -> None:
    set_up(cli, sqlite_url, tmp_path, mail_sink.port)

    (drill,) = send(cli, sqlite_url, mail_sink, "--severity", "warning", "--exercise")
    assert drill.mail.subject == f"[EXERCISE] [WARNING] {FIRE_TITLE}"  # the drill label comes first
    assert drill.part("plain").lstrip().startswith("[EXERCISE] WARNING: Leave building B now")
    assert drill.header("Importance") == [] and drill.header("X-Priority") == []  # urgent is critical only
    assert drill.header("Auto-Submitted") == ["auto-generated"]

    (info,) = send(cli, sqlite_url, mail_sink, "--severity", "info", title="Canteen closed on Friday",
                   body="The canteen is closed on Friday for repairs.")
    assert info.mail.subject == "Canteen closed on Friday"  # info carries no label
    assert info.part("plain").lstrip().startswith("The canteen is closed")
    assert info.header("Importance") == [] and info.header("X-Priority") == []
    assert info.header("Auto-Submitted") == ["auto-generated"]
    assert parseaddr(info.header("From")[0]) == (ORG, FROM)


def test_reminders_are_auto_submitted_too(cli: CliRunner, sqlite_url: str, tmp_path: Path,
                                          mail_sink: MailSink) -> None:
    set_up(cli, sqlite_url, tmp_path, mail_sink.port, people=2)
    (first, _second) = send(cli, sqlite_url, mail_sink, "--severity", "critical", people=2)
    mail_sink.clear()
    out = cli("remind", str(first.broadcast_id), "--wait", db=sqlite_url)
    assert out.returncode == 0, out.stderr
    reminders = mail_sink.wait_for(2, timeout=30)
    assert len(reminders) == 2
    for mail in reminders:
        message = parse(mail)
        assert mail.subject == f"[CRITICAL] Reminder: {FIRE_TITLE}"
        assert message.get_all("Auto-Submitted") == ["auto-generated"]
        assert message.get_all("Importance") == ["high"]
        assert mail.text.lstrip().startswith("CRITICAL: Reminder: we have not had your answer yet.")


def test_the_channel_url_keeps_its_own_sender_name_and_headers(mail_sink: MailSink) -> None:
    """A channel that names its sender or sets a header in its URL is not overridden; nothing is doubled,
    and the target shown for the delivery is the same privacy form as before (header values masked)."""
    url = (f"mailto://127.0.0.1:{mail_sink.port}?from={FROM}&name=Site%20Security&to=ann@example.org"
           "&mode=insecure&+X-Priority=3&+X-Team=ops")
    rendered = render("email", title=FIRE_TITLE, body=FIRE_BODY, severity="critical", exercise=False,
                      link=f"{PUBLIC_URL}/a/x", org_name=ORG)
    with Deliverer() as deliverer:
        result = deliverer.send(Outgoing(url=url, kind="email", rendered=rendered,
                                         notify_type=notify_type_for("critical"), address="ann@example.org"))
    assert result.ok, result.error
    (mail,) = mail_sink.wait_for(1, timeout=20)
    message = parse(mail)
    assert parseaddr(str(message["From"])) == ("Site Security", FROM)
    assert message.get_all("X-Priority") == ["3"] and message.get_all("X-Team") == ["ops"]
    assert message.get_all("Importance") == ["high"] and message.get_all("Auto-Submitted") == ["auto-generated"]
    assert "ops" not in result.target and "Acme" not in result.target and "auto-generated" not in result.target


def test_rendering_gives_headers_to_email_only() -> None:
    for kind in ("sms", "chat", "group"):
        other = render(kind, title=FIRE_TITLE, body=FIRE_BODY, severity="critical", exercise=False,
                       link=f"{PUBLIC_URL}/a/x", org_name=ORG)
        assert other.headers == () and other.sender_name == "" and "[CRITICAL]" not in other.title
    plugin = instantiate(f"mailto://127.0.0.1:25?from={FROM}&to=ann@example.org")
    assert isinstance(plugin, NotifyEmail) and not plugin.from_addr[0]  # Apprise's own: no display name
