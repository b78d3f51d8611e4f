"""Compose view: the request it builds, live counts, previews, sending through a worker."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from sqlalchemy import func, select

from console.broadcast.send import BroadcastRequest
from console.gui.bridge import Bridge
from console.gui.tasks import TaskRunner
from console.gui.views.broadcast.compose import ComposeView
from console.models import Broadcast, Contact, Delivery, Recipient
from console.services.audience import AudienceCount
from console.storage import Database
from console.templates import save_template
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
    view.confirm = lambda text: pytest.fail(f"unexpected confirmation: {text}")
    qtbot.addWidget(view)
    with qtbot.waitSignal(view.choices_loaded, timeout=10_000):
        pass
    yield view
    tasks.wait_idle(10_000)


def contact_id(db: Database, email: str) -> int:
    with db.read() as session:
        return session.scalars(select(Contact.id).where(Contact.email == email)).one()


def counted(qtbot: QtBot, view: ComposeView, *, groups: list[str] | None = None,
            channels: list[str] | None = None) -> AudienceCount:
    with qtbot.waitSignal(view.counted, timeout=10_000,
                          check_params_cb=lambda c: c.problem is not None or bool(c.key)) as blocker:
        view.select(groups=groups, channels=channels)
    assert blocker.args is not None and isinstance(blocker.args[0], AudienceCount)
    return blocker.args[0]


def test_live_count_of_recipients_and_unreachable(qtbot: QtBot, compose: ComposeView) -> None:
    assert set(compose.channels.checked()) == {"Corp mail", "Texts"}  # every channel by default
    count = counted(qtbot, compose, groups=["all"])
    assert (count.recipients, count.deliveries, count.unreachable) == (6, 9, [])
    assert "6 people" in compose.count_label.text()

    count = counted(qtbot, compose, channels=["Texts"])  # only even-numbered people have a phone
    assert count.recipients == 3 and len(count.unreachable) == 3
    assert "3 cannot be reached" in compose.unreachable_label.text()
    assert "person1@example.org" in compose.unreachable_label.toolTip()

    count = counted(qtbot, compose, groups=["Leeds"])  # nobody in Leeds has a phone
    assert count.problem and "empty" in count.problem
    assert compose.count_label.text() == count.problem


def test_request_follows_the_form(qtbot: QtBot, compose: ComposeView, db: Database) -> None:
    someone = contact_id(db, "person1@example.org")
    compose.title_edit.setText("Fire alarm in building A")
    compose.body_edit.setPlainText("Leave by the **nearest** exit.")
    compose.severity_box.setCurrentIndex(compose.severity_box.findData("critical"))
    compose.preset_box.setCurrentIndex(compose.preset_box.findData("safety_check"))
    compose.preset_box.activated.emit(compose.preset_box.currentIndex())
    compose.exercise_box.setChecked(True)
    compose.select(groups=["London"], contacts=[someone], channels=["Corp mail"])
    assert compose.request() == BroadcastRequest(
        title="Fire alarm in building A", body="Leave by the **nearest** exit.", groups=["London"],
        contact_ids=[someone], channels=["Corp mail"], severity="critical", options=["I'm safe", "I need help"],
        help_options=["I need help"], exercise=True)
    assert compose.exercise_banner.isVisibleTo(compose)

    compose.options_edit.setText("Acknowledge")
    compose.options_edit.textEdited.emit("Acknowledge")
    assert compose.preset_box.currentData() == "acknowledge"
    assert compose.request().options == ["Acknowledge"]


def test_template_fills_the_form(qtbot: QtBot, compose: ComposeView, db: Database) -> None:
    with db.write() as session:
        template = save_template(session, ACTOR, name="Evacuate", title="Evacuate the building",
                                 body="Go to the assembly point.", severity="warning",
                                 options=["I'm safe", "I need help"])
    with qtbot.waitSignal(compose.choices_loaded, timeout=10_000):
        compose.bridge.data_changed.emit("templates")
    index = compose.template_box.findData(template.id)
    assert compose.template_box.itemText(index) == "Evacuate"
    compose.template_box.setCurrentIndex(index)
    compose.template_box.activated.emit(index)
    assert compose.title_edit.text() == "Evacuate the building"
    assert compose.body_edit.toPlainText() == "Go to the assembly point."
    assert compose.severity_box.currentData() == "warning"
    assert compose.preset_box.currentData() == "safety_check"


def test_preview_shows_an_sms_within_160_characters_with_the_link(compose: ComposeView) -> None:
    compose.title_edit.setText("Gas leak reported near the north entrance of the Leeds office, please leave now")
    compose.body_edit.setPlainText("Leave the building by the south exit. Do not use the lifts. " * 6)
    compose.exercise_box.setChecked(True)
    compose.use_safety_check()
    compose.update_preview()
    sms = compose.preview.sms.text.toPlainText()
    assert len(sms) <= 160
    assert "http://ack.test:8080/a/" in sms and sms.startswith("[EXERCISE]")
    assert "of 160 characters" in compose.preview.sms.note.text()
    email = compose.preview.rendered["email"]
    assert email is not None and email.title.startswith("[EXERCISE] Gas leak")
    assert "http://ack.test:8080/a/" in compose.preview.email.text.toPlainText()
    assert "I need help" in compose.preview.chat.text.toPlainText()


def test_send_runs_in_a_worker_and_announces_the_broadcast(qtbot: QtBot, compose: ComposeView, db: Database) -> None:
    asked: list[str] = []

    def confirm(text: str) -> bool:
        asked.append(text)
        return True

    compose.confirm = confirm
    compose.title_edit.setText("Power cut")
    compose.body_edit.setPlainText("Work from home today.")
    compose.select(groups=["London"], channels=["Corp mail", "Texts"])
    with qtbot.waitSignal(compose.bridge.broadcast_created, timeout=10_000) as created:
        compose.send_button.click()
    broadcast_id = created.args[0]
    assert "3 people" in asked[0] and "6 messages" in asked[0]
    with db.read() as session:
        b = session.get(Broadcast, broadcast_id)
        assert b is not None and (b.title, b.sender, b.kind) == ("Power cut", ACTOR, "alert")
        assert session.scalar(select(func.count()).where(Recipient.broadcast_id == broadcast_id)) == 3
        assert session.scalar(select(func.count()).where(Delivery.broadcast_id == broadcast_id)) == 6
    assert compose.title_edit.text() == "" and compose.send_button.isEnabled()
    assert compose.banner.tone == "ok"


def test_ctrl_return_sends_and_no_means_nothing_is_written(qtbot: QtBot, compose: ComposeView, db: Database) -> None:
    asked: list[str] = []

    def confirm(text: str) -> bool:
        asked.append(text)
        return False

    compose.confirm = confirm
    compose.show()
    with qtbot.waitActive(compose):
        compose.activateWindow()
    compose.title_edit.setFocus()
    compose.title_edit.setText("Drill")
    compose.body_edit.setPlainText("Practice only.")
    compose.exercise_box.setChecked(True)
    compose.select(groups=["all"])
    qtbot.keyClick(compose.title_edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: bool(asked) and compose.send_button.isEnabled(), timeout=10_000)
    assert asked[0].startswith("EXERCISE")
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Broadcast)) == 0


def test_bad_input_is_reported_not_sent(qtbot: QtBot, compose: ComposeView) -> None:
    compose.body_edit.setPlainText("No title")
    compose.select(groups=["all"])
    with qtbot.waitSignal(compose.send_failed, timeout=5_000) as failed:
        compose.send()
    assert "title" in failed.args[0]
    compose.title_edit.setText("Title")
    compose.select(channels=[])
    with qtbot.waitSignal(compose.send_failed, timeout=5_000) as failed:
        compose.send()
    assert "channel" in failed.args[0]
    assert compose.banner.tone == "error"


def test_custom_answers_get_the_needs_help_flag_the_officer_chooses(qtbot: QtBot, compose: ComposeView) -> None:
    compose.options_edit.setText("Upstairs; Trapped; Away")
    compose.options_edit.textEdited.emit(compose.options_edit.text())
    box = compose.message.help_box
    assert [box.itemData(i) for i in range(box.count())] == [None, "Upstairs", "Trapped", "Away"]
    assert compose.message.help_options() == []
    box.setCurrentIndex(box.findData("Trapped"))
    box.activated.emit(box.currentIndex())
    assert compose.preset_box.currentData() == "custom"
    compose.options_edit.setText("Upstairs; Trapped")  # the choice survives editing the other options
    compose.options_edit.textEdited.emit(compose.options_edit.text())
    assert compose.message.help_options() == ["Trapped"]
    assert compose.request().help_options == ["Trapped"]
