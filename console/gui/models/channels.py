"""Configured channels as a table (URLs in Apprise's privacy form only)."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QGuiApplication, QPalette

from console.gui.models.table import RowTableModel
from console.services.channels import ChannelRow
from console.vocabulary import ChannelKind


class ChannelsModel(RowTableModel):
    """Channels (console.services.channels.ChannelRow); disabled ones are greyed."""

    NAME, KIND, ADDRESS, URL, GROUP, RATE, STATE = range(7)

    def headers(self) -> list[str]:
        return [self.tr("Name"), self.tr("Kind"), self.tr("Address from"), self.tr("URL (masked)"),
                self.tr("Group"), self.tr("Rate"), self.tr("State")]

    def kind_text(self, kind: str) -> str:
        labels: dict[str, str] = {ChannelKind.EMAIL: self.tr("Email"), ChannelKind.SMS: self.tr("SMS"),
                ChannelKind.CHAT: self.tr("Chat"), ChannelKind.GROUP: self.tr("Group post")}
        return labels.get(kind, kind)

    def display(self, row: ChannelRow, column: int) -> str:
        if column == self.NAME:
            return row.name
        if column == self.KIND:
            return self.kind_text(row.kind)
        if column == self.ADDRESS:
            return row.address_field or ""
        if column == self.URL:
            return row.url
        if column == self.GROUP:
            return row.group or ""
        if column == self.RATE:
            return self.tr("%1/s").replace("%1", f"{row.rate_per_sec:g}") if row.rate_per_sec else ""
        return self.tr("Enabled") if row.enabled else self.tr("Disabled")

    def tooltip(self, row: ChannelRow, column: int) -> str | None:
        return row.url if column == self.URL else None

    def foreground(self, row: ChannelRow, column: int) -> Any:
        if row.enabled:
            return None
        return QGuiApplication.palette().color(QPalette.ColorRole.PlaceholderText)

    @classmethod
    def search_text(cls, row: ChannelRow) -> str:
        return f"{row.name} {row.kind} {row.url} {row.group or ''}".casefold()
