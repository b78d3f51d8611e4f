"""console.services.settings: several settings change together or not at all."""

from __future__ import annotations

import pytest

from console.services import audit, settings
from console.services.audit import AuditFilter
from console.storage import Database


def test_one_bad_value_stores_none_of_the_changes(sqlite_db: Database) -> None:
    before = settings.get_all(sqlite_db)
    entries = len(audit.search_page(sqlite_db, AuditFilter()).rows)
    with pytest.raises(settings.SettingError, match="dispatch.workers"):
        settings.set_many(sqlite_db, {"org.name": "Acme", "dispatch.workers": "many"}, "tester")
    assert settings.get_all(sqlite_db) == before
    assert len(audit.search_page(sqlite_db, AuditFilter()).rows) == entries


def test_changes_are_stored_parsed_and_audited(sqlite_db: Database) -> None:
    stored = settings.set_many(sqlite_db, {"org.name": "Acme", "dispatch.workers": "3"}, "tester")
    assert stored == {"org.name": "Acme", "dispatch.workers": 3}
    assert (settings.get(sqlite_db, "org.name"), settings.get(sqlite_db, "dispatch.workers")) == ("Acme", 3)
    page = audit.search_page(sqlite_db, AuditFilter(actor="tester"))
    assert {row.subject for row in page.rows} >= {"org.name", "dispatch.workers"}
