"""End to end through a real dispatcher and real SMTP, with the dispatcher's clock moved by the test:
a scheduled send leaves at its time and not before, the silent get one automatic reminder with
their own link, and each manager gets one mail listing their people who have not answered."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from console.broadcast.dispatcher import DispatchConfig, Dispatcher
from console.mailsink import MailSink
from console.services import broadcasts
from console.services.broadcasts import BroadcastRequest
from console.storage import Database
from console.vocabulary import BroadcastState
from tests.helpers.followup import ACTOR, BOSS_A, BOSS_B, Clock, answer, directory_with_managers

LINK = re.compile(r"http://ack\.test:8080/a/([A-Za-z0-9_-]{32})")


@pytest.fixture
def db(sqlite_url: str, tmp_path: Path, mail_sink: MailSink) -> Iterator[Database]:
    database = Database(sqlite_url)
    directory_with_managers(database, tmp_path, mail_sink.port)
    yield database
    database.dispose()


def test_scheduled_send_reminder_and_escalation_by_mail(db: Database, mail_sink: MailSink) -> None:
    when = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=3)).replace(microsecond=0)
    req = BroadcastRequest(title="Fire alarm", body="Leave by the nearest exit.", groups=["Staff"],
                           channels=["Corp mail"], scheduled_at=when, remind_every_s=600, remind_max=1,
                           escalate_after_s=1800)
    bid = broadcasts.send(db, req, ACTOR).broadcast_id
    clock = Clock(when - dt.timedelta(minutes=1))
    dispatcher = Dispatcher(db, DispatchConfig(workers=2, processes=0, idle_poll=0.02, due_poll=0.0), clock=clock)
    dispatcher.start()
    try:
        clock.wait_reads(10)  # several rounds of the claimer's loop a minute before the time
        assert mail_sink.messages == []
        assert broadcasts.status(db, bid).state == BroadcastState.SCHEDULED

        clock.set(when)
        first = mail_sink.wait_for(4, timeout=30)
        links = {m.rcpt_tos[0]: LINK.findall(m.text)[0] for m in first}
        assert sorted(links) == [f"person{i}@example.org" for i in range(1, 5)]
        assert dispatcher.run_until_done(bid, timeout=30)
        answer(db, bid, "person1@example.org")
        answer(db, bid, "person3@example.org")

        mail_sink.clear()
        clock.set(when + dt.timedelta(seconds=600))
        reminded = mail_sink.wait_for(2, timeout=30)
        assert {m.rcpt_tos[0]: LINK.findall(m.text)[0] for m in reminded} == {
            e: links[e] for e in ("person2@example.org", "person4@example.org")}  # same personal links
        assert dispatcher.run_until_done(bid, timeout=30)

        mail_sink.clear()
        clock.set(when + dt.timedelta(seconds=1800))
        (escalated,) = mail_sink.wait_for(1, timeout=30)  # boss B's only person answered: boss A only
        assert escalated.rcpt_tos == (BOSS_A,)
        assert "person2@example.org" in escalated.text and "Person 2" in escalated.text
        assert "person1@example.org" not in escalated.text and "Fire alarm" in escalated.subject
        assert dispatcher.run_until_done(bid, timeout=30)
        clock.set(when + dt.timedelta(hours=5))
        clock.wait_reads(10)
        assert mail_sink.messages[1:] == [] and BOSS_B not in {r for m in mail_sink.messages for r in m.rcpt_tos}
    finally:
        dispatcher.stop()
