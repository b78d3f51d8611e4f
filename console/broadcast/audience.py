"""Audience resolution: groups and contacts → unique people and their reachable routes."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.broadcast.errors import BroadcastError
from console.models import ALL_GROUP, Channel, Contact, Group, Membership

_FIELD_WORD = {"email": "email address", "phone": "phone number", "chat": "chat handle"}


@dataclass(frozen=True)
class Route:
    channel_id: int
    address: str
    field: str  # the contact field the address came from


@dataclass
class Audience:
    """Who a broadcast reaches, and how.

    `people` maps contact id to (name, email, routes); `unreachable` lists who
    has no address on any chosen personal channel and is in no group that gets
    a group post (reported, never dropped silently); `group_posts` lists (group
    id, channel id) for group channels. A member of a group that gets a post is
    a recipient even without a personal route: the post's group link is how
    they answer, so their answer must have a place to go.
    """

    people: dict[int, tuple[str, str, list[Route]]] = field(default_factory=dict)
    unreachable: list[dict[str, str]] = field(default_factory=list)
    group_posts: list[tuple[int, int]] = field(default_factory=list)
    group_names: list[str] = field(default_factory=list)

    @property
    def deliveries(self) -> int:
        return sum(len(r) for _, _, r in self.people.values()) + len(self.group_posts)


def resolve(
    session: Session, groups: list[str], contact_ids: list[int] | None = None, channel_names: list[str] | None = None
) -> Audience:
    """Resolve names to ids and people to routes; unknown names are user errors."""
    group_rows = _groups(session, groups)
    channels = _channels(session, channel_names, {g.id for g in group_rows})
    personal = [c for c in channels if c.kind != "group"]
    audience = Audience(group_names=[g.name for g in group_rows])
    ids = set(contact_ids or [])
    if group_rows:
        ids.update(session.scalars(
            select(Membership.contact_id).where(Membership.group_id.in_([g.id for g in group_rows]))
        ))
    if contact_ids:
        found = set(session.scalars(select(Contact.id).where(Contact.id.in_(contact_ids))))
        missing = sorted(set(contact_ids) - found)
        if missing:
            raise BroadcastError(f"--contact: no contact with id {', '.join(map(str, missing))}")
    group_ids = {g.id for g in group_rows}
    audience.group_posts = [(c.group_id, c.id) for c in channels if c.kind == "group" and c.group_id in group_ids]
    posted = {gid for gid, _ in audience.group_posts}
    via_post = set(session.scalars(
        select(Membership.contact_id).where(Membership.group_id.in_(posted)))) if posted else set()
    columns = (Contact.id, Contact.name, Contact.email, Contact.phone, Contact.chat)
    for chunk in _chunks(sorted(ids)):
        for cid, name, email, phone, chat in session.execute(
                select(*columns).where(Contact.id.in_(chunk)).order_by(Contact.id)):
            fields = {"email": email, "phone": phone, "chat": chat}
            routes = []
            for ch in personal:
                field = ch.address_field or "email"
                if address := fields[field]:
                    routes.append(Route(ch.id, address, field))
            if routes or cid in via_post:
                audience.people[cid] = (name, email, routes)
            else:
                audience.unreachable.append({"contact": email, "why": _why(personal)})
    if not audience.people and not audience.group_posts:
        raise BroadcastError("the audience is empty: no reachable contact and no group channel in the chosen groups")
    return audience


def _groups(session: Session, names: list[str]) -> list[Group]:
    rows = list(session.scalars(select(Group).where(Group.name.in_(names)))) if names else []
    missing = sorted(set(names) - {g.name for g in rows})
    if missing:
        known = ", ".join(session.scalars(select(Group.name).order_by(Group.name != ALL_GROUP, Group.name)))
        raise BroadcastError(f"--group: no group named {', '.join(map(repr, missing))} (groups: {known})")
    return rows


def _channels(session: Session, names: list[str] | None, group_ids: set[int]) -> list[Channel]:
    query = select(Channel).where(Channel.enabled.is_(True)).order_by(Channel.id)
    if names:
        rows = list(session.scalars(query.where(Channel.name.in_(names))))
        missing = sorted(set(names) - {c.name for c in rows})
        if missing:
            raise BroadcastError(f"--channel: no enabled channel named {', '.join(map(repr, missing))}")
        return rows
    rows = list(session.scalars(query))
    if not rows:
        raise BroadcastError("no channel is configured: add one with `crisis-console channels add`")
    return rows


def _why(personal: list[Channel]) -> str:
    if not personal:
        return "no personal channel chosen"
    fields = sorted({c.address_field or "email" for c in personal})
    return "has no " + " or ".join(_FIELD_WORD[f] for f in fields)


def _chunks(items: list[int], size: int = 500) -> list[list[int]]:
    return [items[i:i + size] for i in range(0, len(items), size)]
