"""Contacts and groups: listing and editing, each change audited in its transaction."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from console import audit
from console.directory.validate import normalise_email, normalise_name, normalise_phone, refuse_controls
from console.errors import UserError
from console.models import ALL_GROUP, Channel, Contact, Group, Membership


class DirectoryError(UserError):
    """A directory change that cannot be made (unknown group, duplicate email, …)."""


@dataclass(frozen=True)
class ContactRow:
    id: int
    name: str
    email: str
    phone: str | None
    groups: list[str]
    manager: str | None = None
    """The manager's email: escalations list this person to them."""

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "email": self.email, "phone": self.phone, "groups": self.groups,
                "manager": self.manager}


@dataclass(frozen=True)
class GroupRow:
    id: int
    name: str
    members: int
    channels: list[str]

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "members": self.members, "channels": self.channels}


def list_contacts(session: Session) -> list[ContactRow]:
    groups_of: dict[int, list[str]] = defaultdict(list)
    pairs = session.execute(
        select(Membership.contact_id, Group.name).join(Group, Group.id == Membership.group_id).order_by(Group.name)
    )
    for contact_id, group in pairs:
        groups_of[contact_id].append(group)
    rows = session.execute(select(Contact.id, Contact.name, Contact.email, Contact.phone, Contact.manager)
                           .order_by(Contact.id))
    return [ContactRow(i, n, e, p, groups_of.get(i, []), m) for i, n, e, p, m in rows]


def list_groups(session: Session) -> list[GroupRow]:
    counts = dict(session.execute(select(Membership.group_id, func.count()).group_by(Membership.group_id)).all())
    channels: dict[int, list[str]] = defaultdict(list)
    for group_id, name in session.execute(
        select(Channel.group_id, Channel.name).where(Channel.group_id.is_not(None)).order_by(Channel.name)
    ):
        if group_id is not None:  # (the query's condition; the column allows NULL)
            channels[group_id].append(name)
    groups = session.execute(select(Group.id, Group.name).order_by(Group.name != ALL_GROUP, Group.name))
    return [GroupRow(i, n, counts.get(i, 0), channels.get(i, [])) for i, n in groups]


def group_by_name(session: Session, name: str) -> Group:
    group = session.scalar(select(Group).where(Group.name == name))
    if group is None:
        raise DirectoryError(f"no group named {name!r}")
    return group


def save_contact(
    session: Session, actor: str, *, name: str, email: str, phone: str = "", groups: list[str] | None = None,
    contact_id: int | None = None, region: str | None = None,
) -> Contact:
    """Create (contact_id None) or edit a contact; always a member of 'all'."""
    clean_email = normalise_email(email)
    clean = {"name": normalise_name(name), "email": clean_email, "phone": normalise_phone(phone, region)}
    clash = session.scalar(select(Contact.id).where(Contact.email == clean_email))
    if clash is not None and clash != contact_id:
        raise DirectoryError(f"email {clean_email} already belongs to another contact")
    if contact_id is None:
        contact = Contact(**clean)
        session.add(contact)
        action = "contacts.add"
    else:
        found = session.get(Contact, contact_id)
        if found is None:
            raise DirectoryError(f"no contact with id {contact_id}")
        contact = found
        for key, value in clean.items():
            setattr(contact, key, value)
        action = "contacts.edit"
    session.flush()
    if groups is not None or contact_id is None:
        _set_groups(session, contact.id, [ALL_GROUP, *(groups or [])])
    audit.append(session, actor, action, clean_email, {"id": contact.id, **clean, "groups": groups})
    return contact


def _set_groups(session: Session, contact_id: int, names: list[str]) -> None:
    ids = []
    for name in dict.fromkeys(names):
        ids.append(group_by_name(session, name).id)
    session.execute(delete(Membership).where(Membership.contact_id == contact_id))
    session.execute(insert(Membership), [{"contact_id": contact_id, "group_id": g} for g in ids])


def remove_contact(session: Session, actor: str, contact_id: int) -> None:
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise DirectoryError(f"no contact with id {contact_id}")
    session.execute(delete(Membership).where(Membership.contact_id == contact_id))
    session.delete(contact)
    audit.append(session, actor, "contacts.remove", contact.email, {"id": contact_id, "name": contact.name})


def save_group(session: Session, actor: str, name: str, group_id: int | None = None) -> Group:
    clean = " ".join(refuse_controls("group name", name, folded=True).split())
    if not clean:
        raise DirectoryError("group name is missing")
    clash = session.scalar(select(Group.id).where(Group.name == clean))
    if clash is not None and clash != group_id:
        raise DirectoryError(f"a group named {clean!r} already exists")
    if group_id is None:
        group = Group(name=clean)
        session.add(group)
        action, details = "groups.add", {}
    else:
        found = session.get(Group, group_id)
        if found is None:
            raise DirectoryError(f"no group with id {group_id}")
        if found.name == ALL_GROUP:
            raise DirectoryError("the built-in group 'all' cannot be renamed")
        group, details = found, {"old_name": found.name}
        group.name = clean
        action = "groups.rename"
    session.flush()
    audit.append(session, actor, action, clean, {"id": group.id, **details})
    return group


def remove_group(session: Session, actor: str, group_id: int) -> None:
    group = session.get(Group, group_id)
    if group is None:
        raise DirectoryError(f"no group with id {group_id}")
    if group.name == ALL_GROUP:
        raise DirectoryError("the built-in group 'all' cannot be removed")
    session.execute(delete(Membership).where(Membership.group_id == group_id))
    session.delete(group)
    audit.append(session, actor, "groups.remove", group.name, {"id": group_id})
