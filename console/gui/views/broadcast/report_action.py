"""The Broadcasts page's "Report…": the selected incident or message written as a report a file dialog names.

The same use case as `crisis-console report` (console.services.reports), run in a worker: a
2,000-person incident takes seconds to lay out. It writes a file, never the database, so it
stays available in read-only mode.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QPushButton, QWidget

from console.gui.tasks import TaskRunner, describe
from console.services import reports
from console.services.reports import Report, ReportFormat, ReportScope, ReportTargetError
from console.storage import Database

FILTERS = {ReportFormat.PDF: "PDF report (*.pdf)", ReportFormat.CSV: "People table, CSV (*.csv)",
           ReportFormat.JSON: "People table, JSON (*.json)"}


def ask_report_file(parent: QWidget, title: str, suggested: Path) -> tuple[Path, ReportFormat] | None:
    """A save dialog offering PDF, CSV and JSON; the file and format chosen, or None."""
    chosen, selected = QFileDialog.getSaveFileName(parent, title, str(suggested), ";;".join(FILTERS.values()))
    if not chosen:
        return None
    fmt = next((f for f, text in FILTERS.items() if text == selected), ReportFormat.PDF)
    path = Path(chosen)
    if path.suffix.lower() != f".{fmt.value}":
        path = path.with_name(f"{path.name}.{fmt.value}")
    return path, fmt


class ReportAction(QObject):
    """Writes the report of what the page has selected (`target()`), asking where first.

    Signals:
        done(str): the report was written; the text says where.
        failed(str): it could not be written; the text is for a person.
        written(object): the Report that was written (tests wait on it).
    """

    done = Signal(str)
    failed = Signal(str)
    written = Signal(object)

    def __init__(self, db: Database, actor: str, tasks: TaskRunner, button: QPushButton,
                 target: Callable[[], tuple[ReportScope, int, str] | None], parent: QWidget) -> None:
        super().__init__(parent)
        self.db, self.actor, self.tasks, self.button, self.target = db, actor, tasks, button, target
        self.busy = False
        self.ask: Callable[[str, Path], tuple[Path, ReportFormat] | None] = (
            lambda title, suggested: ask_report_file(parent, title, suggested))
        """Asks for the file and format; tests replace it."""
        button.clicked.connect(self.start)

    def start(self) -> None:
        chosen = self.target()
        if chosen is None or self.busy:
            return
        scope, subject, title = chosen
        kind = self.tr("incident") if scope is ReportScope.INCIDENT else self.tr("message")
        stem = re.sub(r"[^\w.-]+", "-", title, flags=re.UNICODE).strip("-")[:60] or "report"
        answer = self.ask(self.tr("Report on {kind} {id}").format(kind=kind, id=subject),
                          Path.home() / f"{scope.value}-{subject}-{stem}.pdf")
        if answer is not None:
            self.write(scope, subject, *answer)

    def write(self, scope: ReportScope, subject: int, path: Path, fmt: ReportFormat) -> None:
        """Gather and write in a worker; done/failed say how it went."""
        self.busy = True
        self.button.setEnabled(False)
        db, actor = self.db, self.actor

        def finished(report: Report) -> None:
            self._idle()
            self.done.emit(self.tr("Report written to {path} ({people} people, {entries} audit entries)").format(
                path=str(path), people=len(report.people), entries=len(report.audit)))
            self.written.emit(report)

        def job() -> Report:
            try:
                return reports.write_report(db, scope, subject, path, fmt, actor)
            except OSError as exc:  # the folder chosen: words for a person, not a logged traceback
                raise ReportTargetError(f"{path}: {exc.strerror or exc}") from None

        def failed(exc: Exception) -> None:
            self._idle()
            self.failed.emit(self.tr("Report not written: {why}").format(why=describe(exc)))

        self.tasks.run(job, finished, failed)

    def _idle(self) -> None:
        self.busy = False
        self.button.setEnabled(self.target() is not None)
