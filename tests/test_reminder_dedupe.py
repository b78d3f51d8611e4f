"""`remind` twice before a dispatcher ran: the second queues nothing, and `remind --wait` then sends
each silent person one reminder, not two (the bug: four people got the reminder twice)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import create_engine, text

from console.mailsink import MailSink
from tests.test_send import LINK, send, setup_directory, status

if TYPE_CHECKING:
    from tests.conftest import CliRunner


def test_a_second_remind_skips_those_whose_reminder_still_waits(cli: CliRunner, db_url: str, tmp_path: Path,
                                                               mail_sink: MailSink) -> None:
    setup_directory(cli, db_url, tmp_path, 5, mail_sink.port)
    bid = send(cli, db_url, "--group", "all", "--wait")["broadcast_id"]
    first = {m.rcpt_tos[0]: LINK.findall(m.text)[0] for m in mail_sink.wait_for(5, timeout=30)}
    engine = create_engine(db_url)
    with engine.begin() as conn:  # person0 answered (the answer service's own tests cover how)
        conn.execute(text("UPDATE recipients SET answer = 'Acknowledge' WHERE email = 'person0@example.org'"))
    engine.dispose()
    mail_sink.clear()

    queued = cli("remind", str(bid), db=db_url)  # no dispatcher runs: the reminders wait
    assert queued.returncode == 0, queued.stderr
    assert "reminding 4 recipients (4 deliveries queued)" in queued.stdout and "skipped" not in queued.stdout

    again = cli("remind", str(bid), "--wait", db=db_url)
    assert again.returncode == 0, again.stderr
    assert "reminding 0 recipients (0 deliveries queued); 4 skipped: their reminder is still waiting" in again.stdout
    mails = mail_sink.wait_for(4, timeout=30)
    assert sorted(m.rcpt_tos[0] for m in mails) == [f"person{i}@example.org" for i in range(1, 5)]
    assert all(LINK.findall(m.text)[0] == first[m.rcpt_tos[0]] for m in mails)
    st = status(cli, db_url, bid)
    assert (st["sent"], st["pending"]) == (5 + 4, 0)  # one reminder each, sent

    audit = json.loads(cli("audit", "export", "--format", "json", db=db_url).stdout)["entries"]
    reminds = [e["details"] for e in audit if e["action"] == "broadcast.remind"]
    assert [(d["recipients"], d["deliveries"], d["skipped_pending"]) for d in reminds] == [(4, 4, 0), (0, 0, 4)]

    third = cli("remind", str(bid), db=db_url)  # sent now: a new reminder may go
    assert "reminding 4 recipients (4 deliveries queued)" in third.stdout
