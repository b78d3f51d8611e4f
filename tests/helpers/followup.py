"""A small directory with managers, and a clock tests move, for the follow-through tests
(scheduled sends, automatic reminders, escalation)."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

from sqlalchemy import select, update

from console import settings
from console.models import Broadcast, Channel, Delivery, Recipient
from console.services import channels, directory
from console.storage import Database
from console.vocabulary import DeliveryState

ACTOR = "tester"
PUBLIC_URL = "http://ack.test:8080"
BOSS_A, BOSS_B = "boss.a@example.org", "boss.b@example.org"
MANAGERS = {1: BOSS_A, 2: BOSS_A, 3: BOSS_B}
"""person1 and person2 report to boss A, person3 to boss B, person4 to nobody."""


def directory_with_managers(db: Database, folder: Path, smtp_port: int | None = None) -> None:
    """person1..4 through a real CSV import (column `manager`); even ones have a phone.

    Channels: "Corp mail" (SMTP on 127.0.0.1:`smtp_port`, or a closed port) and "Texts" (sms).
    """
    lines = ["name,email,phone,groups,manager"]
    for i in range(1, 5):
        phone = f"+44770090010{i}" if i % 2 == 0 else ""
        lines.append(f"Person {i},person{i}@example.org,{phone},Staff,{MANAGERS.get(i, '')}")
    csv_file = folder / "staff.csv"
    csv_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    directory.import_csv(db, csv_file, ACTOR)
    channels.save_channel(db, ACTOR, name="Corp mail", kind="email",
                          url=f"mailto://127.0.0.1:{smtp_port or 9}?from=alerts@example.org&to={{address}}"
                              "&mode=insecure")
    channels.save_channel(db, ACTOR, name="Texts", kind="sms", url="json://127.0.0.1:9/sms/{address}")
    with db.write() as session:
        settings.set_value(session, "ack.public_url", PUBLIC_URL, ACTOR)


def started(db: Database, broadcast_id: int) -> dt.datetime:
    """When the broadcast went (or goes) out, as stored."""
    with db.read() as session:
        b = session.get(Broadcast, broadcast_id)
        assert b is not None
        value = b.scheduled_at or b.created_at
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def reminders(db: Database, broadcast_id: int) -> list[tuple[str, str]]:
    """(email, channel) of every reminder delivery, in the order queued."""
    with db.read() as session:
        return [(email, channel) for email, channel in session.execute(
            select(Recipient.email, Channel.name).select_from(Delivery)
            .join(Recipient, Recipient.id == Delivery.recipient_id)
            .join(Channel, Channel.id == Delivery.channel_id)
            .where(Delivery.broadcast_id == broadcast_id, Delivery.reminder.is_(True)).order_by(Delivery.id))]


def mark_sent(db: Database) -> None:
    """What a dispatcher would have done with everything pending (for the tests that move time only)."""
    with db.write() as session:
        session.execute(update(Delivery).where(Delivery.state == DeliveryState.PENDING)
                        .values(state=DeliveryState.SENT))


def answer(db: Database, broadcast_id: int, email: str, text: str = "Acknowledge") -> None:
    """Record an answer as the answer service does (its own tests cover how it gets there)."""
    with db.write() as session:
        session.execute(update(Recipient).where(Recipient.broadcast_id == broadcast_id, Recipient.email == email)
                        .values(answer=text, answered_at=dt.datetime.now(dt.UTC)))


class Clock:
    """A clock a test sets; counts how often it was read, so a test can wait for a dispatcher's
    loop to have gone round without sleeping for a guessed time."""

    def __init__(self, now: dt.datetime) -> None:
        self._now = now
        self._reads = 0
        self._cond = threading.Condition()

    def __call__(self) -> dt.datetime:
        with self._cond:
            self._reads += 1
            self._cond.notify_all()
            return self._now

    def set(self, now: dt.datetime) -> None:
        with self._cond:
            self._now = now

    def wait_reads(self, more: int, timeout: float = 20.0) -> None:
        """Block until the clock was read `more` more times."""
        with self._cond:
            target = self._reads + more
            if not self._cond.wait_for(lambda: self._reads >= target, timeout):
                raise TimeoutError(f"the clock was read {self._reads} times, not {target}")
