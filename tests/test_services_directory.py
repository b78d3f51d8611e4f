"""console.services.directory: a contact saved from a face reads its phone in the organisation's region."""

from __future__ import annotations

from console.services import directory, settings
from console.storage import Database


def test_save_contact_uses_the_org_phone_region(sqlite_db: Database) -> None:
    settings.set_value(sqlite_db, "org.phone_region", "GB", "tester")
    saved = directory.save_contact(sqlite_db, "tester", name="Ada", email="Ada@Example.org", phone="07700 900123")
    assert saved.email == "ada@example.org"
    [row] = [c for c in directory.list_contacts(sqlite_db) if c.id == saved.id]
    assert (row.phone, row.groups) == ("+447700900123", [directory.ALL_GROUP])
