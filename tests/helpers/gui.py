"""Helpers for the desktop tests: a seeded directory, isolated QSettings, bulk contacts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import insert, select

from console import settings
from console.channelstore import save_channel
from console.directory.service import save_contact, save_group
from console.models import ALL_GROUP, Contact, Group, Membership, utcnow
from console.storage import Database

ACTOR = "tester"
V = TypeVar("V")
PUBLIC_URL = "http://ack.test:8080"


def seed(db: Database, count: int, *, sms: bool = False, smtp_port: int | None = None) -> None:
    """People person1..personN@example.org ("Person 1"…); odd ones in Leeds, even ones in London.

    Even-numbered people have a phone. Channels: "Corp mail" (email through plain SMTP on
    127.0.0.1:`smtp_port`, or a closed port) and, with `sms`, "Texts" (sms, {address} = phone).
    Links point at PUBLIC_URL.
    """
    box = db.secrets
    with db.write() as session:
        settings.set_value(session, "ack.public_url", PUBLIC_URL, ACTOR)
        for group in ("Leeds", "London"):
            save_group(session, ACTOR, group)
        for i in range(1, count + 1):
            save_contact(session, ACTOR, name=f"Person {i}", email=f"person{i}@example.org",
                         phone=f"+4477009001{i:02d}" if i % 2 == 0 else "",
                         groups=["London" if i % 2 == 0 else "Leeds"])
        save_channel(session, box, ACTOR, name="Corp mail", kind="email",
                     url=f"mailto://127.0.0.1:{smtp_port or 9}?from=alerts@example.org&to={{address}}&mode=insecure")
        if sms:
            save_channel(session, box, ACTOR, name="Texts", kind="sms", url="json://127.0.0.1:9/sms/{address}")


def isolate_qsettings(folder: Path) -> Path:
    """Point QSettings (IniFormat, user scope) at a folder of the test's own."""
    from PySide6.QtCore import QSettings

    folder.mkdir(parents=True, exist_ok=True)
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))
    return folder


def seed_contacts(db: Database, count: int, groups: tuple[str, ...] = ("Leeds", "London")) -> None:
    """Insert many contacts fast (bulk SQL, no audit): for size tests only."""
    now = utcnow()
    with db.write() as session:
        conn = session.connection()
        existing = dict(conn.execute(select(Group.name, Group.id)).all())
        for name in groups:
            if name not in existing:
                existing[name] = conn.execute(insert(Group).values(name=name, created_at=now)
                                              .returning(Group.id)).scalar_one()
        rows = [{"name": f"Person {i:06d}", "email": f"person{i:06d}@example.org", "phone": f"+4477009{i:05d}",
                 "created_at": now, "updated_at": now} for i in range(count)]
        ids: list[int] = []
        for start in range(0, count, 5000):
            ids.extend(conn.execute(insert(Contact).returning(Contact.id), rows[start:start + 5000]).scalars())
        links = [{"contact_id": cid, "group_id": existing[ALL_GROUP]} for cid in ids]
        links += [{"contact_id": cid, "group_id": existing[groups[i % len(groups)]]} for i, cid in enumerate(ids)]
        for start in range(0, len(links), 10000):
            conn.execute(insert(Membership), links[start:start + 10000])


@contextmanager
def shown_view(qtbot: Any, make: Callable[..., V], db: Database, size: tuple[int, int]) -> Iterator[V]:
    """A view (`make(db, ACTOR, tasks, bridge)`) shown at `size` once its first load arrived.

    Its background tasks are waited for at the end.
    """
    from console.gui.bridge import Bridge
    from console.gui.tasks import TaskRunner

    tasks = TaskRunner()
    widget: Any = make(db, ACTOR, tasks, Bridge())
    qtbot.addWidget(widget)
    widget.resize(*size)
    widget.show()
    with qtbot.waitSignal(widget.loaded, timeout=10_000):
        pass
    yield widget
    tasks.wait_idle(20_000)
