"""Directory use cases: list contacts and groups, import a CSV file, add/edit/remove."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from console import settings
from console.directory import csvimport
from console.directory import service as domain
from console.directory.csvimport import CsvImportError, ImportReport
from console.directory.service import ContactRow, DirectoryError, GroupRow
from console.models import ALL_GROUP
from console.storage import Database

__all__ = ["ALL_GROUP", "ContactRef", "ContactRow", "CsvImportError", "Directory", "DirectoryError", "GroupRef",
           "GroupRow", "ImportReport", "group_names", "import_csv", "list_contacts", "list_groups", "load",
           "remove_contact", "remove_group", "save_contact", "save_group"]


@dataclass(frozen=True)
class Directory:
    """Contacts and groups read in one transaction, so their counts agree."""

    contacts: list[ContactRow]
    groups: list[GroupRow]


@dataclass(frozen=True)
class ContactRef:
    """A saved contact: its id and its email as normalised."""

    id: int
    email: str


@dataclass(frozen=True)
class GroupRef:
    id: int
    name: str


def load(db: Database) -> Directory:
    with db.read() as session:
        return Directory(domain.list_contacts(session), domain.list_groups(session))


def list_contacts(db: Database) -> list[ContactRow]:
    with db.read() as session:
        return domain.list_contacts(session)


def list_groups(db: Database) -> list[GroupRow]:
    with db.read() as session:
        return domain.list_groups(session)


def group_names(db: Database) -> list[str]:
    return [g.name for g in list_groups(db)]


def import_csv(db: Database, path: Path, actor: str) -> ImportReport:
    """All rows or none: a CsvImportError lists every problem and nothing is written."""
    with db.write() as session:
        return csvimport.import_file(session, path, actor)


def save_contact(db: Database, actor: str, *, name: str, email: str, phone: str = "",
                 groups: list[str] | None = None, contact_id: int | None = None) -> ContactRef:
    """Add (contact_id None) or edit a contact; phone numbers are read in the organisation's region."""
    with db.write() as session:
        region = settings.get(session, "org.phone_region")
        contact = domain.save_contact(session, actor, name=name, email=email, phone=phone, groups=groups,
                                      contact_id=contact_id, region=region)
        return ContactRef(contact.id, contact.email)


def remove_contact(db: Database, actor: str, contact_id: int) -> None:
    with db.write() as session:
        domain.remove_contact(session, actor, contact_id)


def save_group(db: Database, actor: str, name: str, group_id: int | None = None) -> GroupRef:
    """Add (group_id None) or rename a group."""
    with db.write() as session:
        group = domain.save_group(session, actor, name, group_id)
        return GroupRef(group.id, group.name)


def remove_group(db: Database, actor: str, group_id: int) -> None:
    """Members stay in the directory; the group's channels go with it."""
    with db.write() as session:
        domain.remove_group(session, actor, group_id)
