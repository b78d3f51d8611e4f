"""Who and how, for composing a broadcast: the choices offered and a dry-run count of the audience.

The compose page calls these in workers (debounced while the officer clicks);
the count resolves the audience exactly as sending would, so what it says is
what a send reaches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from console import settings
from console.broadcast.audience import resolve
from console.broadcast.errors import BroadcastError
from console.channelstore import list_channels
from console.directory.service import list_contacts, list_groups
from console.storage import Database
from console.templates import TemplateRow, list_templates
from console.vocabulary import ChannelKind


@dataclass(frozen=True)
class Choice:
    """One line of a checkable list: what it stands for, its label, a detail, its search text."""

    key: Any
    label: str
    detail: str
    search: str
    kind: ChannelKind | None = None
    """A channel's kind (None for groups and people)."""


@dataclass(frozen=True)
class ComposeChoices:
    groups: list[Choice]
    contacts: list[Choice]
    channels: list[Choice]
    templates: list[TemplateRow]
    public_url: str
    org_name: str


@dataclass(frozen=True)
class AudienceCount:
    """Who the chosen groups, people and channels reach (a dry run of the audience)."""

    key: tuple[object, ...]
    recipients: int = 0
    unreachable: list[dict[str, str]] = field(default_factory=list)
    group_posts: int = 0
    deliveries: int = 0
    problem: str | None = None


def load_choices(db: Database) -> ComposeChoices:
    """Groups, contacts, enabled channels, templates and the settings previews need."""
    with db.read() as session:
        groups = [Choice(g.name, g.name, str(g.members), g.name.casefold()) for g in list_groups(session)]
        contacts = [Choice(c.id, c.name, c.email, f"{c.name} {c.email} {' '.join(c.groups)}".casefold())
                    for c in list_contacts(session)]
        channels = [Choice(c.name, c.name, c.kind + (f" · {c.group}" if c.group else ""), c.name.casefold(),
                           ChannelKind(c.kind))
                    for c in list_channels(session) if c.enabled]
        templates = list_templates(session)
        values = settings.get_all(session)
    return ComposeChoices(groups, contacts, channels, templates, values["ack.public_url"], values["org.name"])


def count_audience(db: Database, groups: list[str], contact_ids: list[int], channels: list[str]) -> AudienceCount:
    """Resolve the audience exactly as sending would, and count it."""
    key = (tuple(groups), tuple(contact_ids), tuple(channels))
    try:
        with db.read() as session:
            audience = resolve(session, groups, contact_ids, channels)
    except BroadcastError as exc:
        return AudienceCount(key, problem=str(exc))
    return AudienceCount(key, len(audience.people), list(audience.unreachable), len(audience.group_posts),
                         audience.deliveries)
