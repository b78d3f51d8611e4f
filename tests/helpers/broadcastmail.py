"""A broadcast sent for real (the command line, its dispatcher, Apprise, SMTP) into a MailSink.

The mail tests read what a person's mail program would get: the raw message, headers and all.
"""

from __future__ import annotations

import email
import email.policy
import json
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING

from console.mailsink import MailSink, ReceivedMail

if TYPE_CHECKING:
    from tests.conftest import CliRunner

ORG = "Acme Rail"
FROM = "alerts@acme-rail.example"
PUBLIC_URL = "https://alerts.acme-rail.example"
FIRE_TITLE = "Fire in building B"
FIRE_BODY = ("Leave building B now by the nearest stairs; do not use the lifts.\n\n"
             "Smoke was reported on floor 3 at 14:05 and the fire brigade is on its way. "
             "Assemble at point C in the north car park and wait for the fire wardens, who will "
             "take a roll call. Do not go back into the building until we send the all-clear.")


@dataclass(frozen=True)
class Sent:
    """One received mail: the sink's decoding and the message as parsed headers and parts."""

    mail: ReceivedMail
    message: EmailMessage
    broadcast_id: int

    def header(self, name: str) -> list[str]:
        """Every value of header ``name``, decoded (a header must appear once: tests check)."""
        return [str(value) for value in self.message.get_all(name, [])]

    def part(self, subtype: str) -> str:
        """The decoded text of the ``text/<subtype>`` part."""
        found = self.message.get_body(preferencelist=(subtype,))
        assert found is not None and found.get_content_type() == f"text/{subtype}", self.message
        return str(found.get_content())


def set_up(cli: CliRunner, db: str, tmp_path: Path, smtp_port: int, *, people: int = 1,
           url_extra: str = "") -> None:
    """Contacts, one email channel to the sink, the organisation and a public answer URL."""
    lines = ["name,email,phone,groups"] + [f"Person {i},person{i}@example.org,,Staff" for i in range(people)]
    (tmp_path / "people.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert cli("contacts", "import", str(tmp_path / "people.csv"), db=db).returncode == 0
    url = f"mailto://127.0.0.1:{smtp_port}?from={FROM}&to={{address}}&mode=insecure{url_extra}"
    out = cli("channels", "add", "--name", "Mail", "--kind", "email", "--url", url, db=db)
    assert out.returncode == 0, out.stderr
    for key, value in (("org.name", ORG), ("ack.public_url", PUBLIC_URL)):
        out = cli("settings", "set", key, value, db=db)
        assert out.returncode == 0, out.stderr


def parse(mail: ReceivedMail) -> EmailMessage:
    message = email.message_from_bytes(mail.raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def send(cli: CliRunner, db: str, sink: MailSink, *args: str, title: str = FIRE_TITLE,
         body: str = FIRE_BODY, people: int = 1) -> list[Sent]:
    """``send … --wait`` and the mails it delivered, one per person."""
    sink.clear()
    out = cli("send", "--group", "all", "--title", title, "--body", body, "--wait", "--json", *args, db=db)
    assert out.returncode == 0, out.stderr
    broadcast_id = int(json.loads(out.stdout)["broadcast_id"])
    return [Sent(mail, parse(mail), broadcast_id) for mail in sink.wait_for(people, timeout=30)]
