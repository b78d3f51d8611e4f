"""The incident picture on the Broadcasts page: every person of an incident, help requests worked to
closure, and the guarded all-clear.

Broadcasts are sent through the real services, answers recorded through the answer service's own
writer (tests/helpers/incidents.py) on a real SQLite database; the view reads them on its own.
Dialogs and the tel:/mailto: opener are replaced by the test (nothing is launched).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QUrl, QUrlQuery
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot
from sqlalchemy import func, select

from console.gui.bridge import Bridge
from console.gui.models.incident_people import IncidentPeopleFilter, IncidentPeopleModel
from console.gui.tasks import TaskRunner
from console.gui.views.broadcast.dashboard import BroadcastsView
from console.gui.views.broadcast.incident_panel import IncidentPanel
from console.models import AuditEntry, Broadcast, Incident
from console.services import incidents
from console.services.incident_live import people_over_time, read_incident
from console.services.incidents import PersonRow
from console.storage import Database
from console.vocabulary import BroadcastKind, DeliveryState, HelpState, PersonStatus
from tests.helpers.gui import ACTOR, seed
from tests.helpers.incidents import alert, answer, deliver, follow_up

pytestmark = pytest.mark.gui

HELPER = "person2@example.org"
"""Has a phone (+447700900102): answers "I need help" on the alert, with a note."""


@pytest.fixture
def db(sqlite_url: str) -> Iterator[Database]:
    database = Database(sqlite_url)
    seed(database, 4)  # person1..4@example.org; even ones have a phone
    yield database
    database.dispose()


@pytest.fixture
def view(qtbot: QtBot, db: Database) -> Iterator[BroadcastsView]:
    tasks, bridge = TaskRunner(), Bridge()
    widget = BroadcastsView(db, ACTOR, tasks, bridge)
    widget.confirm = lambda title, text: pytest.fail(f"unexpected question: {text}")
    widget.confirm_close = lambda title, text: pytest.fail(f"unexpected question: {text}")
    widget.incident_panel.ask_note = lambda person: pytest.fail(f"unexpected question about {person.email}")
    widget.incident_panel.open_url = lambda url: pytest.fail(f"unexpected link {url.toString()}")
    qtbot.addWidget(widget)
    widget.resize(1300, 800)
    widget.show()
    yield widget
    widget.timer.stop()
    tasks.wait_idle(10_000)


def helper_alert(db: Database) -> tuple[int, int]:
    """(incident, alert): a safety check to everyone; person2 needs help, stuck in a lift."""
    sent = alert(db, channels=["Corp mail"])
    answer(db, sent.broadcast_id, HELPER, "I need help", note="Stuck in lift 3, second floor")
    return sent.incident_id, sent.broadcast_id


def show_incident(qtbot: QtBot, view: BroadcastsView, incident_id: int) -> IncidentPanel:
    panel = view.incident_panel
    with qtbot.waitSignal(panel.applied, timeout=10_000, check_params_cb=lambda i: i == incident_id):
        view.select_incident(incident_id)
    assert view.pages.currentWidget() is panel
    return panel


def emails_shown(panel: IncidentPanel) -> list[str]:
    return [panel.proxy.person_at(r).email for r in range(panel.proxy.rowCount())]


def use_filter(panel: IncidentPanel, mode: str) -> None:
    panel.filter_box.setCurrentIndex(IncidentPeopleFilter.MODES.index(mode))


def test_help_on_the_alert_stays_in_the_picture_after_an_update(qtbot: QtBot, view: BroadcastsView,
                                                                 db: Database) -> None:
    incident_id, alert_id = helper_alert(db)
    panel = show_incident(qtbot, view, incident_id)
    assert view.broadcast_id == alert_id  # the buttons act on the incident's latest message
    assert emails_shown(panel)[0] == HELPER  # needs help first
    assert "4 people: 1 need help (open), 0 handled, 0 safe, 3 no answer, 0 unreachable" in panel.counts_label.text()
    row = panel.people.row(0)
    assert panel.people.display(row, IncidentPeopleModel.STATUS) == "needs help"
    assert panel.people.display(row, IncidentPeopleModel.NOTE) == "Stuck in lift 3, second floor"
    assert panel.people.display(row, IncidentPeopleModel.PHONE) == "+447700900102"
    assert panel.people.display(row, IncidentPeopleModel.MESSAGE) == "Fire in building B"
    assert panel.people.display(row, IncidentPeopleModel.SOURCE) == "own link"
    assert panel.people.display(row, IncidentPeopleModel.DELIVERY) == "Corp mail: pending"
    assert "I need help" in panel.chart.series_names() and panel.chart.points("I need help")[-1][1] == 1
    use_filter(panel, "needs_help")
    assert emails_shown(panel) == [HELPER]

    view.ask_follow_up = lambda kind, base: ("Update: stay at the car park", "Do not go back in.")
    qtbot.waitUntil(lambda: view.update_button.isEnabled() and not view.operations.busy, timeout=10_000)
    with qtbot.waitSignal(view.bridge.broadcast_created, timeout=10_000) as created:
        view.update_button.click()
    update_id = created.args[0]
    # the view shows the incident again (not the update alone): the kept filter still finds the person
    qtbot.waitUntil(lambda: view.broadcast_id == update_id and panel.picture is not None
                    and panel.picture.incident.messages == 2, timeout=10_000)
    assert view.pages.currentWidget() is panel and panel.proxy.mode == "needs_help"
    assert emails_shown(panel) == [HELPER]
    assert "1 of 4 people shown" in panel.shown_label.text()

    answer(db, update_id, HELPER, "I'm safe")  # safe on the update: the open request stays until handled
    answer(db, update_id, "person1@example.org", "I'm safe")
    qtbot.waitUntil(lambda: panel.picture is not None and panel.picture.incident.counts.safe == 1, timeout=10_000)
    assert emails_shown(panel) == [HELPER]
    helper = panel.proxy.person_at(0)
    assert (helper.status, helper.answer, helper.broadcast_id) == (PersonStatus.NEEDS_HELP, "I'm safe", update_id)
    assert panel.people.display(helper, IncidentPeopleModel.MESSAGE) == "Update: stay at the car park"

    first = view.tree_model.index_of_broadcast(alert_id)  # a message of the incident: its own detail
    with qtbot.waitSignal(view.detail_applied, timeout=10_000, check_params_cb=lambda b: b == alert_id):
        view.tree.setCurrentIndex(first)
    assert view.pages.currentWidget() is view.detail and panel.incident_id is None


def test_marked_handled_leaves_the_open_filter_and_can_be_reopened(qtbot: QtBot, view: BroadcastsView,
                                                                  db: Database) -> None:
    incident_id, _alert = helper_alert(db)
    panel = show_incident(qtbot, view, incident_id)
    use_filter(panel, "needs_help")
    assert panel.select_person(HELPER)
    assert panel.handle_button.isEnabled() and not panel.reopen_button.isEnabled()
    assert "Stuck in lift 3" in panel.person_label.text() and "+447700900102" in panel.person_label.text()

    asked: list[str] = []

    def cancelled(person: PersonRow) -> str | None:  # cancelled: nothing changes
        asked.append(person.email)
        return None

    panel.ask_note = cancelled
    panel.handle_button.click()
    assert asked == [HELPER] and not panel.busy
    assert incidents.incident_picture(db, incident_id).incident.counts.needs_help_open == 1

    panel.ask_note = lambda person: "Called; the lift engineer is with them"
    with qtbot.waitSignal(panel.done, timeout=10_000):
        panel.handle_button.click()
    qtbot.waitUntil(lambda: panel.proxy.rowCount() == 0, timeout=10_000)  # out of "Needs help (open)"
    assert "0 need help (open), 1 handled" in panel.counts_label.text()
    person = next(p for p in incidents.incident_picture(db, incident_id).people if p.email == HELPER)
    assert person.help is not None and person.help.state is HelpState.HANDLED
    assert (person.help.handled_by, person.help.handled_note) == (ACTOR, "Called; the lift engineer is with them")
    with db.read() as session:
        assert session.scalar(select(func.count()).where(AuditEntry.action == "help.handled",
                                                         AuditEntry.actor == ACTOR)) == 1

    use_filter(panel, "handled")
    assert emails_shown(panel) == [HELPER]
    assert panel.select_person(HELPER) and panel.reopen_button.isEnabled() and not panel.handle_button.isEnabled()
    assert "lift engineer" in panel.people.display(panel.proxy.person_at(0), IncidentPeopleModel.NOTE)
    with qtbot.waitSignal(panel.done, timeout=10_000):
        panel.reopen_button.click()
    use_filter(panel, "needs_help")
    qtbot.waitUntil(lambda: emails_shown(panel) == [HELPER], timeout=10_000)
    assert incidents.incident_picture(db, incident_id).incident.counts.needs_help_open == 1


def test_all_clear_with_an_open_help_request_asks_first(qtbot: QtBot, view: BroadcastsView, db: Database) -> None:
    incident_id, _alert = helper_alert(db)
    panel = show_incident(qtbot, view, incident_id)
    view.ask_follow_up = lambda kind, base: ("All clear", "Back to work.") if kind == "all_clear" else None
    questions: list[str] = []

    def cancel(title: str, text: str) -> str | None:
        questions.append(text)
        return None

    view.confirm_close = cancel
    qtbot.waitUntil(lambda: view.all_clear_button.isEnabled() and not view.operations.busy, timeout=10_000)
    with qtbot.waitSignal(view.operations.done, timeout=10_000) as done:
        view.all_clear_button.click()
    assert done.args[0] == "All-clear not sent"
    assert "1 people still need help" in questions[0] and "3 people are unaccounted for" in questions[0]
    with db.read() as session:  # cancelled: nothing sent, the incident stays open
        assert session.scalar(select(func.count()).select_from(Broadcast)) == 1
        assert session.scalar(select(Incident.state)) == "open"

    view.confirm_close = lambda title, text: "  Fire service has the building; person2 is with the paramedics "
    qtbot.waitUntil(lambda: view.all_clear_button.isEnabled() and not view.operations.busy, timeout=10_000)
    with qtbot.waitSignal(view.bridge.broadcast_created, timeout=10_000) as created:
        view.all_clear_button.click()
    with db.read() as session:
        assert session.scalar(select(Broadcast.kind).where(Broadcast.id == created.args[0])) == "all_clear"
        incident = session.get(Incident, incident_id)
        assert incident is not None and incident.state == "closed"
        assert (incident.closed_by, incident.close_reason) == (
            ACTOR, "Fire service has the building; person2 is with the paramedics")
        audited = session.scalars(select(AuditEntry).where(AuditEntry.action == "incident.closed")).one()
        assert audited.actor == ACTOR and "paramedics" in str(audited.details)
    # after the all-clear the incident is shown, and who still needs help stays visible until handled
    qtbot.waitUntil(lambda: panel.picture is not None and panel.picture.incident.messages == 2
                    and view.broadcast_id == created.args[0], timeout=10_000)
    use_filter(panel, "needs_help")
    assert emails_shown(panel) == [HELPER]


def test_all_clear_with_everyone_accounted_for_asks_nothing(qtbot: QtBot, view: BroadcastsView,
                                                           db: Database) -> None:
    sent = alert(db, channels=["Corp mail"])
    for i in range(1, 5):
        answer(db, sent.broadcast_id, f"person{i}@example.org", "I'm safe")
    show_incident(qtbot, view, sent.incident_id)
    view.ask_follow_up = lambda kind, base: ("All clear", "Back to work.")
    qtbot.waitUntil(lambda: view.all_clear_button.isEnabled() and not view.operations.busy, timeout=10_000)
    with qtbot.waitSignal(view.bridge.broadcast_created, timeout=10_000):
        view.all_clear_button.click()  # confirm_close would fail the test
    with db.read() as session:
        assert session.scalar(select(Incident.state)) == "closed"


def test_close_without_an_all_clear_is_guarded_too(qtbot: QtBot, view: BroadcastsView, db: Database) -> None:
    incident_id, _alert = helper_alert(db)
    panel = show_incident(qtbot, view, incident_id)
    questions: list[str] = []

    def cancel(title: str, text: str) -> str | None:
        questions.append(text)
        return None

    panel.confirm_close = cancel
    assert panel.close_button.isEnabled()
    with qtbot.waitSignal(panel.done, timeout=10_000) as done:
        panel.close_button.click()
    assert done.args[0] == "Incident not closed"
    assert "1 people still need help" in questions[0] and "3 people are unaccounted for" in questions[0]
    with db.read() as session:
        assert session.scalar(select(Incident.state)) == "open"

    panel.confirm_close = lambda title, text: "Evacuation handed over to the fire service"
    with qtbot.waitSignal(panel.done, timeout=10_000) as done:
        panel.close_button.click()
    assert done.args[0] == f"Incident {incident_id} closed"
    with db.read() as session:
        incident = session.get(Incident, incident_id)
        assert incident is not None and incident.state == "closed"
        assert (incident.closed_by, incident.close_reason) == (ACTOR, "Evacuation handed over to the fire service")
        assert session.scalar(select(func.count()).select_from(Broadcast)) == 1  # no message went out
    qtbot.waitUntil(lambda: panel.picture is not None and panel.picture.incident.closed_at is not None,
                    timeout=10_000)
    assert not panel.close_button.isEnabled() and not panel.reopen_button.isEnabled()


def test_filters_order_and_links(qtbot: QtBot, view: BroadcastsView, db: Database) -> None:
    incident_id, alert_id = helper_alert(db)
    answer(db, alert_id, "person1@example.org", "I'm safe")
    deliver(db, alert_id, DeliveryState.SENT, ("person3@example.org",))
    deliver(db, alert_id, DeliveryState.FAILED, ("person4@example.org",))
    panel = show_incident(qtbot, view, incident_id)
    assert emails_shown(panel) == [HELPER, "person4@example.org", "person3@example.org", "person1@example.org"]
    shown = {}
    for mode in IncidentPeopleFilter.MODES:
        use_filter(panel, mode)
        shown[mode] = emails_shown(panel)
    assert shown == {"all": [HELPER, "person4@example.org", "person3@example.org", "person1@example.org"],
                     "needs_help": [HELPER], "handled": [], "no_answer": ["person3@example.org"],
                     "unreachable": ["person4@example.org"], "safe": ["person1@example.org"]}
    unreachable = panel.people.row(panel.people.find_email("person4@example.org"))
    assert panel.people.display(unreachable, IncidentPeopleModel.DELIVERY) == "Corp mail: failed"

    opened: list[QUrl] = []

    def opener(url: QUrl) -> bool:
        opened.append(url)
        return True

    panel.open_url = opener
    use_filter(panel, "all")
    assert panel.select_person(HELPER)
    panel.call_button.click()
    panel.email_button.click()
    assert opened[0].toString() == "tel:+447700900102"
    assert (opened[1].scheme(), opened[1].path()) == ("mailto", HELPER)
    assert QUrlQuery(opened[1]).queryItemValue("subject") == "Fire in building B"
    assert panel.select_person("person1@example.org")  # no phone: nothing to call
    assert not panel.call_button.isEnabled() and panel.email_button.isEnabled()
    assert not panel.handle_button.isEnabled()

    panel.open_url = lambda url: False  # no handler on this machine: say what to do instead
    with qtbot.waitSignal(panel.failed, timeout=1000) as failed:
        panel.email_button.click()
    assert "person1@example.org" in failed.args[0]


def test_answers_over_time_count_people_not_answers(db: Database) -> None:
    """A person who answers the alert, then the update, moves from one line to the other."""
    incident_id, alert_id = helper_alert(db)
    update_id = follow_up(db, alert_id, BroadcastKind.UPDATE).broadcast_id
    answer(db, update_id, HELPER, "I'm safe")
    read = read_incident(db, incident_id)
    assert read.alarm == ("I need help",)
    assert read.series["I need help"][-1][1] == 0 and read.series["I'm safe"][-1][1] == 1
    assert max(y for _x, y in read.series["I need help"]) == 1

    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    lines = people_over_time(["A", "B"], [("x", "A", t0), ("y", "A", t0), ("x", "B", t0), ("x", "B", t0)],
                             t0, t0 + dt.timedelta(minutes=1))
    assert [y for _x, y in lines["A"]] == [0, 1, 2, 1, 1] and [y for _x, y in lines["B"]] == [0, 1, 1]


def test_people_model_passes_the_model_tester(qtmodeltester: ModelTester, db: Database) -> None:
    incident_id, _alert = helper_alert(db)
    model = IncidentPeopleModel()
    model.set_rows(list(incidents.incident_picture(db, incident_id).people))
    proxy = IncidentPeopleFilter(model)
    qtmodeltester.check(model)
    proxy.set_mode("no_answer")
    qtmodeltester.check(proxy)
    model.sort(IncidentPeopleModel.STATUS)
    assert model.row(0).email == HELPER
