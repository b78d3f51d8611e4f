"""The whole of one audit entry, for reading and copying: nothing cut off, hashes in full.

The table shows a line per entry; an auditor checking an entry needs all of it:
the time as stored (UTC) and local, the canonical form it was hashed in, the
previous hash it chains to, its own hash, and the details indented as stored.
"""

from __future__ import annotations

import html

from PySide6.QtGui import QFontDatabase, QPalette, QTextOption
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QSplitter, QTextBrowser, QVBoxLayout, QWidget

from console.gui.models.audit import canon_name, local_time, pretty_details
from console.services.audit import AuditRow


class AuditDetail(QWidget):
    """The selected entry: its fields on the left, its details (indented JSON) on the right."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.row: AuditRow | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        self.title = QLabel()
        self.title.setObjectName("sectionTitle")
        layout.addWidget(self.title)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.fields = QTextBrowser()
        self.fields.setObjectName("auditEntry")
        self.fields.setOpenLinks(False)
        # Hashes are one 64-letter word: wrap them anywhere rather than cut them off.
        self.fields.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.details = QPlainTextEdit()
        self.details.setObjectName("auditDetails")
        self.details.setReadOnly(True)
        self.details.setFont(mono)
        self.details.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.details.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        split = QSplitter()
        split.addWidget(self.fields)
        split.addWidget(self.details)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        split.setChildrenCollapsible(False)
        layout.addWidget(split, 1)
        self.show_row(None)

    def show_row(self, row: AuditRow | None) -> None:
        """Show `row` whole, or a hint when nothing is selected."""
        self.row = row
        if row is None:
            self.title.setText(self.tr("Entry"))
            self.fields.setHtml(f"<p>{html.escape(self.tr('Select an entry to read it whole.'))}</p>")
            self.details.setPlainText("")
            return
        self.title.setText(self.tr("Entry %1").replace("%1", str(row.seq)))
        text, parsed = pretty_details(row.details)
        if not parsed:
            text = self.tr("(not JSON: the details as stored)") + "\n" + text
        self.details.setPlainText(text)
        self.fields.setHtml(self._fields_html(row))

    def _fields_html(self, row: AuditRow) -> str:
        muted = self.palette().color(QPalette.ColorRole.PlaceholderText).name()
        mono = html.escape(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont).family())
        rows = [
            (self.tr("Time"), f"{local_time(row.time)} ({self.tr('local')}) · {row.time}", False),
            (self.tr("Actor"), row.actor, False),
            (self.tr("Action"), row.action, False),
            (self.tr("Subject"), row.subject, False),
            (self.tr("Canonical form"), canon_name(row.canon), False),
            (self.tr("Previous hash"), row.prev_hash, True),
            (self.tr("Hash"), row.hash, True),
        ]
        cells = "".join(
            f'<tr><td style="color:{muted}; padding:1px 12px 4px 0">{html.escape(label)}</td>'
            f'<td style="padding:1px 0 4px 0{"; font-family:" + mono if fixed else ""}">{html.escape(value)}</td></tr>'
            for label, value, fixed in rows)
        return f'<table cellspacing="0" width="100%">{cells}</table>'

    def plain_text(self) -> str:
        """Everything shown, as text (what a test or a copy sees)."""
        return self.fields.toPlainText() + "\n" + self.details.toPlainText()
