"""Channels view: add with Apprise validation shown inline, edit, disable, and a real test send."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from console.channelstore import ChannelRow, list_channels
from console.gui.models.channels import ChannelsModel
from console.gui.views.channels import ChannelsView
from console.mailsink import MailSink
from console.models import AuditEntry, Channel
from console.storage import Database
from tests.helpers.gui import shown_view

pytestmark = [pytest.mark.gui, pytest.mark.usefixtures("isolated_qsettings")]


@pytest.fixture
def db(sqlite_db: Database) -> Database:
    return sqlite_db


@pytest.fixture
def view(qtbot: QtBot, db: Database) -> Iterator[ChannelsView]:
    with shown_view(qtbot, ChannelsView, db, (1200, 700)) as widget:
        yield widget


def stored(db: Database) -> list[ChannelRow]:
    with db.read() as session:
        return list_channels(session)


def add_channel(qtbot: QtBot, view: ChannelsView, name: str, url: str, kind: str = "email") -> None:
    qtbot.mouseClick(view.add_button, Qt.MouseButton.LeftButton)
    dialog = view.channel_dialog
    assert dialog is not None and dialog.isVisible()
    qtbot.keyClicks(dialog.name, name)
    dialog.set_kind(kind)
    qtbot.keyClicks(dialog.url, url)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)


def test_bad_url_is_shown_in_the_dialog_and_nothing_is_stored(qtbot: QtBot, view: ChannelsView, db: Database) -> None:
    add_channel(qtbot, view, "Broken", "nonsense-without-scheme")
    dialog = view.channel_dialog
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.error.isVisible(), timeout=10_000)
    assert dialog.error.text().startswith("Apprise URL: not an Apprise URL")
    assert dialog.isVisible() and dialog.save_button.isEnabled()
    assert stored(db) == []

    dialog.url.setText("mailto://127.0.0.1:2525?from=alerts@example.org")  # a personal channel needs {address}
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "{address}" in dialog.error.text(), timeout=10_000)
    assert stored(db) == []
    with db.read() as session:
        assert session.scalar(select(AuditEntry.seq)) is None


def test_add_edit_disable(qtbot: QtBot, view: ChannelsView, db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    secret_url = "mailtos://alerts:S3cretPass@smtp.example.org?from=alerts@example.org&to={address}"
    add_channel(qtbot, view, "Corp mail", secret_url)
    qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=10_000)
    row = view.model.row(0)
    assert (row.name, row.kind, row.address_field, row.enabled) == ("Corp mail", "email", "email", True)
    shown = [view.model.index(0, c).data() for c in range(view.model.columnCount())]
    assert "S3cretPass" not in " ".join(shown) and "{address}" in shown[ChannelsModel.URL]

    assert view.select_channel("Corp mail")
    qtbot.mouseClick(view.edit_button, Qt.MouseButton.LeftButton)
    dialog = view.channel_dialog
    assert dialog is not None and dialog.url.text() == ""  # the stored URL is never shown
    dialog.rate.setValue(5)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.model.rowCount() == 1 and view.model.row(0).rate_per_sec == 5.0, timeout=10_000)
    assert view.model.index(0, ChannelsModel.RATE).data() == "5/s"
    with db.read() as session:
        channel = session.scalar(select(Channel))
        assert channel is not None and db.secrets.open(channel.url_sealed) == secret_url  # URL kept

    monkeypatch.setattr(QMessageBox, "question", lambda *_args: QMessageBox.StandardButton.Yes)
    view.select_channel("Corp mail")
    qtbot.mouseClick(view.disable_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not view.model.row(0).enabled, timeout=10_000)
    assert view.model.index(0, ChannelsModel.STATE).data() == "Disabled"
    assert [c.enabled for c in stored(db)] == [False]


def test_group_channel_needs_its_group(qtbot: QtBot, view: ChannelsView, db: Database) -> None:
    qtbot.mouseClick(view.add_button, Qt.MouseButton.LeftButton)
    dialog = view.channel_dialog
    assert dialog is not None
    dialog.set_kind("group")
    assert dialog.group.isEnabled() and not dialog.address_field.isEnabled()
    assert [dialog.group.itemText(i) for i in range(dialog.group.count())] == ["all"]
    qtbot.keyClicks(dialog.name, "Ops room")
    qtbot.keyClicks(dialog.url, "json://127.0.0.1:9/ops")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=10_000)
    assert (view.model.row(0).kind, view.model.row(0).group) == ("group", "all")


def test_send_test_delivers_through_the_real_smtp_sink(qtbot: QtBot, view: ChannelsView, db: Database,
                                                       mail_sink: MailSink) -> None:
    add_channel(qtbot, view, "Corp mail",
                f"mailto://127.0.0.1:{mail_sink.port}?from=alerts@example.org&to={{address}}&mode=insecure")
    qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=10_000)
    view.select_channel("Corp mail")
    qtbot.mouseClick(view.test_button, Qt.MouseButton.LeftButton)
    dialog = view.test_dialog
    assert dialog is not None and dialog.isVisible()

    with qtbot.waitSignal(view.test_finished, timeout=20_000) as finished:
        qtbot.mouseClick(dialog.send_button, Qt.MouseButton.LeftButton)  # no address yet
    assert finished.args == [False] and "address" in dialog.outcome.text() and dialog.outcome.tone == "error"

    qtbot.keyClicks(dialog.address, "duty.officer@example.org")
    with qtbot.waitSignal(view.test_finished, timeout=30_000) as finished:
        qtbot.mouseClick(dialog.send_button, Qt.MouseButton.LeftButton)
    assert finished.args == [True], dialog.outcome.text()
    assert dialog.outcome.text().startswith("OK") and dialog.outcome.tone == "ok"
    mail_sink.wait_for(1, timeout=10)
    [mail] = mail_sink.messages
    assert mail.rcpt_tos == ("duty.officer@example.org",) and mail.subject == "Test from Crisis Console"
    assert "Corp mail" in mail.text
    with db.read() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "channels.test")).one()
    details = json.loads(entry.details)
    assert (entry.subject, details["ok"], details["address"]) == ("Corp mail", True, "duty.officer@example.org")


def test_send_test_shows_apprise_error(qtbot: QtBot, view: ChannelsView, db: Database) -> None:
    add_channel(qtbot, view, "Dead relay", "mailto://127.0.0.1:9?from=alerts@example.org&to={address}&mode=insecure")
    qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=10_000)
    view.select_channel("Dead relay")
    view.open_test()
    dialog = view.test_dialog
    assert dialog is not None
    dialog.address.setText("someone@example.org")
    with qtbot.waitSignal(view.test_finished, timeout=60_000) as finished:
        dialog.send_button.click()
    assert finished.args == [False]
    assert dialog.outcome.text().startswith("Failed:") and dialog.outcome.tone == "error"


def test_model_passes_the_model_tester(qtmodeltester: ModelTester) -> None:
    model = ChannelsModel()
    model.set_rows([
        ChannelRow(1, "Corp mail", "email", "mailto://…/{address}", None, "email", None, True),
        ChannelRow(2, "Ops room", "group", "json://127.0.0.1/ops", "IT on-call", None, 2.0, False),
    ])
    model.sort(ChannelsModel.KIND, Qt.SortOrder.DescendingOrder)
    qtmodeltester.check(model)
    assert model.index(0, ChannelsModel.KIND).data() == "Group post"
    assert model.index(0, ChannelsModel.NAME).data(Qt.ItemDataRole.ForegroundRole) is not None
