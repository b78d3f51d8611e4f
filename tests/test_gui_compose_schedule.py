"""Compose's follow-through settings: send later, remind the silent, fallback channel, escalate.
The view only hands the values to the send service; the stored broadcast is read back through it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QDateTime
from pytestqt.qtbot import QtBot

from console.gui.bridge import Bridge
from console.gui.tasks import TaskRunner
from console.gui.views.broadcast.compose import ComposeView
from console.services import broadcasts, schedules
from console.storage import Database
from tests.helpers.gui import ACTOR, seed

pytestmark = pytest.mark.gui


@pytest.fixture
def db(sqlite_url: str) -> Iterator[Database]:
    database = Database(sqlite_url)
    seed(database, 6, sms=True)
    yield database
    database.dispose()


@pytest.fixture
def compose(qtbot: QtBot, db: Database) -> Iterator[ComposeView]:
    tasks, bridge = TaskRunner(), Bridge()
    view = ComposeView(db, ACTOR, tasks, bridge)
    qtbot.addWidget(view)
    with qtbot.waitSignal(view.choices_loaded, timeout=10_000):
        pass
    yield view
    tasks.wait_idle(10_000)


def test_follow_through_settings_reach_the_stored_broadcast(qtbot: QtBot, compose: ComposeView) -> None:
    follow = compose.message.follow
    assert not follow.send_at.isEnabled() and not follow.remind_minutes.isEnabled()
    assert [follow.fallback_box.itemData(i) for i in range(follow.fallback_box.count())] == [
        None, "Corp mail", "Texts"]
    asked: list[str] = []

    def confirm(text: str) -> bool:
        asked.append(text)
        return True

    compose.confirm = confirm
    compose.title_edit.setText("Power cut")
    compose.body_edit.setPlainText("Work from home today.")
    compose.select(groups=["London"], channels=["Corp mail"])
    later = QDateTime.currentDateTime().addDays(1)
    later = later.addSecs(-later.time().second())  # the picker shows minutes
    follow.later_box.setChecked(True)
    follow.send_at.setDateTime(later)
    follow.remind_box.setChecked(True)
    assert follow.remind_minutes.isEnabled() and follow.fallback_box.isEnabled()
    follow.remind_minutes.setValue(20)
    follow.remind_max.setValue(4)
    follow.choose_fallback("Texts")
    follow.escalate_box.setChecked(True)
    follow.escalate_minutes.setValue(45)

    with qtbot.waitSignal(compose.bridge.broadcast_created, timeout=10_000) as created:
        compose.send_button.click()
    broadcast_id = created.args[0]
    when = dt.datetime.fromtimestamp(later.toSecsSinceEpoch(), dt.UTC)
    assert f"{when.astimezone():%Y-%m-%d %H:%M}" in asked[0]
    (stored,) = schedules.list_scheduled(compose.db)
    assert stored.broadcast_id == broadcast_id and stored.scheduled_at.replace(microsecond=0) == when
    assert (stored.remind_every_s, stored.remind_max, stored.fallback_channel, stored.escalate_after_s) == (
        1200, 4, "Texts", 2700)
    assert broadcasts.status(compose.db, broadcast_id).state == "scheduled"
    assert not follow.later_box.isChecked()  # the next broadcast goes now unless asked again


def test_a_send_now_without_reminders_is_unchanged(qtbot: QtBot, compose: ComposeView) -> None:
    assert compose.message.follow.fields() == {"scheduled_at": None, "remind_every_s": None, "remind_max": None,
                                               "fallback_channel": None, "escalate_after_s": None}
    compose.message.follow.later_box.setChecked(True)
    compose.message.follow.send_at.setDateTime(QDateTime.currentDateTime().addDays(-1))
    compose.title_edit.setText("Power cut")
    compose.body_edit.setPlainText("Work from home today.")
    compose.select(groups=["London"], channels=["Corp mail"])
    compose.confirm = lambda text: pytest.fail(f"unexpected confirmation: {text}")
    with qtbot.waitSignal(compose.send_failed, timeout=10_000) as failed:
        compose.send_button.click()
    assert "--at:" in failed.args[0] and "in the past" in failed.args[0]
    assert schedules.list_scheduled(compose.db) == []
