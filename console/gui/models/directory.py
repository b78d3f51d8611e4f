"""Contacts and groups as tables."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt

from console.gui.models.table import RowTableModel
from console.services.directory import ALL_GROUP, ContactRow, GroupRow


class ContactsModel(RowTableModel):
    """Contacts (console.directory.service.ContactRow); 'all' is left out of the groups column."""

    NAME, EMAIL, PHONE, GROUPS = range(4)

    def headers(self) -> list[str]:
        return [self.tr("Name"), self.tr("Email"), self.tr("Phone"), self.tr("Groups")]

    def display(self, row: ContactRow, column: int) -> str:
        if column == self.NAME:
            return row.name
        if column == self.EMAIL:
            return row.email
        if column == self.PHONE:
            return row.phone or ""
        return ", ".join(g for g in row.groups if g != ALL_GROUP)

    @classmethod
    def search_text(cls, row: ContactRow) -> str:
        return f"{row.name} {row.email} {row.phone or ''} {' '.join(row.groups)}".casefold()

    @classmethod
    def key_function(cls, column: int) -> Callable[[ContactRow], Any] | None:
        keys: dict[int, Callable[[ContactRow], Any]] = {
            cls.NAME: lambda r: r.name.casefold(),
            cls.EMAIL: lambda r: r.email,
            cls.PHONE: lambda r: r.phone or "",
            cls.GROUPS: lambda r: ",".join(g for g in r.groups if g != ALL_GROUP).casefold(),
        }
        return keys.get(column)


class GroupsModel(RowTableModel):
    """Groups (console.directory.service.GroupRow) with member counts and their group channels."""

    NAME, MEMBERS, CHANNELS = range(3)

    def headers(self) -> list[str]:
        return [self.tr("Group"), self.tr("Members"), self.tr("Group channels")]

    def display(self, row: GroupRow, column: int) -> str:
        if column == self.NAME:
            return self.tr("all (everyone)") if row.name == ALL_GROUP else row.name
        if column == self.MEMBERS:
            return f"{row.members:,}"
        return ", ".join(row.channels)

    def sort_key(self, row: GroupRow, column: int) -> Any:
        if column == self.MEMBERS:
            return row.members
        if column == self.NAME:
            return (row.name != ALL_GROUP, row.name.casefold())
        return super().sort_key(row, column)

    def alignment(self, column: int) -> Qt.AlignmentFlag | None:
        return Qt.AlignmentFlag.AlignRight if column == self.MEMBERS else None

    @classmethod
    def search_text(cls, row: GroupRow) -> str:
        return f"{row.name} {' '.join(row.channels)}".casefold()
