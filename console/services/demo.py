"""The demo's database: seeded once with people and templates, pointed at this run's mail sink.

`crisis-console --demo` (console.gui.demo) starts a loopback mail sink and
finds a free port; this module writes what follows from them, in one
transaction, so a demo database is either set up or untouched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from console import settings
from console.channelstore import save_channel
from console.directory.csvimport import parse_csv, write_rows
from console.models import Channel, Contact
from console.storage import Database
from console.templates import list_templates, save_template
from console.vocabulary import ChannelKind


@dataclass(frozen=True)
class DemoContent:
    """What a fresh demo database is filled with, and the names the demo uses."""

    people_csv: bytes
    people_label: str
    templates: Sequence[Mapping[str, Any]]
    channel: str
    org_name: str
    actor: str


def ack_port(db: Database) -> int:
    """The port the acknowledgement service was set to last time (0: none yet)."""
    with db.read() as session:
        return int(settings.get(session, "ack.port") or 0)


def set_up(db: Database, content: DemoContent, *, mail_url: str, ack_host: str, port: int) -> bool:
    """Seed people and templates into an empty demo database, point the demo channel at `mail_url`
    and the answer service at `ack_host`:`port`. True when the database was seeded now."""
    box = db.secrets
    public_url = f"http://{ack_host}:{port}"
    with db.write() as session:
        fresh = not session.scalar(select(func.count()).select_from(Contact))
        channel_id = session.scalar(select(Channel.id).where(Channel.name == content.channel))
        if fresh:
            rows, _ignored = parse_csv(content.people_csv, content.people_label)
            write_rows(session, rows, content.actor, label=content.people_label)
            if not list_templates(session):
                for template in content.templates:
                    save_template(session, content.actor, **template)
        save_channel(session, box, content.actor, name=content.channel, kind=ChannelKind.EMAIL.value,
                     channel_id=channel_id, url=mail_url)
        current = settings.get_all(session)
        wanted = {"ack.host": ack_host, "ack.port": str(port), "ack.public_url": public_url,
                  "ack.embedded": "true", "dispatch.embedded": "true"}
        if fresh:
            wanted["org.name"] = content.org_name
        for key, value in wanted.items():
            if str(current[key]).lower() != value.lower():
                settings.set_value(session, key, value, content.actor)
    return fresh
