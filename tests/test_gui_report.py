"""The Broadcasts page's "Report…": the selected incident or message written by a worker to the file the
dialog names (the dialog is replaced by the test), on a real SQLite database; the PDF read back."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from console.gui.bridge import Bridge
from console.gui.tasks import TaskRunner
from console.gui.views.broadcast.dashboard import BroadcastsView
from console.report.model import Report, ReportFormat, ReportScope
from console.storage import Database
from tests.conftest import unavailable
from tests.helpers.gui import ACTOR, seed
from tests.helpers.incidents import alert, answer

pytestmark = pytest.mark.gui


@pytest.fixture
def db(sqlite_url: str) -> Iterator[Database]:
    database = Database(sqlite_url)
    seed(database, 3)
    yield database
    database.dispose()


@pytest.fixture
def view(qtbot: QtBot, db: Database) -> Iterator[BroadcastsView]:
    tasks = TaskRunner()
    widget = BroadcastsView(db, ACTOR, tasks, Bridge())
    qtbot.addWidget(widget)
    widget.resize(1300, 800)
    widget.show()
    yield widget
    widget.timer.stop()
    tasks.wait_idle(10_000)


def test_report_of_the_selected_incident_is_written_by_a_worker(qtbot: QtBot, view: BroadcastsView, db: Database,
                                                                tmp_path: Path) -> None:
    sent = alert(db, title="Flood in the basement")
    answer(db, sent.broadcast_id, "person2@example.org", "I need help", note="Archive room")
    with qtbot.waitSignal(view.incident_panel.applied, timeout=10_000):
        view.select_incident(sent.incident_id)
    assert view.report_target() == (ReportScope.INCIDENT, sent.incident_id, "Flood in the basement")
    assert view.report_button.isEnabled()
    asked: list[tuple[str, Path]] = []
    out = tmp_path / "flood.pdf"

    def ask(title: str, suggested: Path) -> tuple[Path, ReportFormat]:
        asked.append((title, suggested))
        return out, ReportFormat.PDF

    view.report.ask = ask
    with qtbot.waitSignal(view.report.written, timeout=60_000) as written:
        view.report_button.click()
        assert not view.report_button.isEnabled()  # busy while the worker writes
    report: Report = written.args[0]
    assert (report.scope, report.subject_id, len(report.people)) == (ReportScope.INCIDENT, sent.incident_id, 3)
    assert asked[0][0] == f"Report on incident {sent.incident_id}"
    assert asked[0][1].name == f"incident-{sent.incident_id}-Flood-in-the-basement.pdf"
    assert view.report_button.isEnabled()
    if shutil.which("pdftotext") is None:
        unavailable("pdftotext (poppler-utils) is not installed")
    text = " ".join(subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True,
                                   check=True).stdout.split())
    assert "Flood in the basement" in text and "Person 2" in text and "Archive room" in text


def test_report_of_a_message_as_json_and_a_failure_said_in_words(qtbot: QtBot, view: BroadcastsView, db: Database,
                                                                 tmp_path: Path) -> None:
    sent = alert(db, title="Power cut")
    with qtbot.waitSignal(view.detail_applied, timeout=10_000):
        view.select_broadcast(sent.broadcast_id)
    assert view.report_target() == (ReportScope.BROADCAST, sent.broadcast_id, "Power cut")
    out = tmp_path / "people.json"
    view.report.ask = lambda title, suggested: (out, ReportFormat.JSON)
    with qtbot.waitSignal(view.report.written, timeout=60_000):
        view.report_button.click()
    data = json.loads(out.read_text(encoding="utf-8"))
    assert (data["scope"], data["id"], len(data["people"])) == ("broadcast", sent.broadcast_id, 3)

    view.report.ask = lambda title, suggested: (tmp_path / "no-such-folder" / "r.pdf", ReportFormat.PDF)
    with qtbot.waitSignal(view.report.failed, timeout=60_000) as failed:
        view.report_button.click()
    assert failed.args[0].startswith("Report not written: ") and "no-such-folder" in failed.args[0]
    assert view.error_label.text() == failed.args[0] and view.report_button.isEnabled()
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix != ".db" and "db" not in p.name) == ["people.json"]
