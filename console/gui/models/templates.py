"""Pre-approved templates as a table."""

from __future__ import annotations

from typing import Any

from console.gui import resources
from console.gui.models.table import RowTableModel
from console.services.templates import TemplateRow
from console.vocabulary import Severity

SEVERITY_ORDER: dict[str, int] = {severity: rank for rank, severity in enumerate(Severity)}  # defined mildest first


class TemplatesModel(RowTableModel):
    """Templates (console.services.templates.TemplateRow) with a severity dot."""

    NAME, SEVERITY, TITLE, OPTIONS = range(4)

    def headers(self) -> list[str]:
        return [self.tr("Name"), self.tr("Severity"), self.tr("Title"), self.tr("Answers")]

    def severity_text(self, severity: str) -> str:
        labels: dict[str, str] = {Severity.INFO: self.tr("Info"), Severity.WARNING: self.tr("Warning"),
                Severity.CRITICAL: self.tr("Critical")}
        return labels.get(severity, severity)

    def display(self, row: TemplateRow, column: int) -> str:
        if column == self.NAME:
            return row.name
        if column == self.SEVERITY:
            return self.severity_text(row.severity)
        if column == self.TITLE:
            return row.title
        return " / ".join(row.options)

    def decoration(self, row: TemplateRow, column: int) -> Any:
        return resources.icon(f"severity-{row.severity}") if column == self.SEVERITY else None

    def sort_key(self, row: TemplateRow, column: int) -> Any:
        if column == self.SEVERITY:
            return SEVERITY_ORDER.get(row.severity, 9)
        return super().sort_key(row, column)

    @classmethod
    def search_text(cls, row: TemplateRow) -> str:
        return f"{row.name} {row.title} {row.body} {row.severity} {' '.join(row.options)}".casefold()
