"""The desktop's side of "no silent misconfiguration": Compose's warning strip, the dashboard in people.

The answer service is the real one on port 0; the strip's check runs in a worker.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot
from sqlalchemy import select, update

from console import settings
from console.acks.server import AckServer
from console.gui.bridge import Bridge
from console.gui.tasks import TaskRunner
from console.gui.views.broadcast.compose import ComposeView
from console.gui.views.broadcast.dashboard import BroadcastsView
from console.models import Delivery
from console.services import broadcasts
from console.services.readiness import WarningCode
from console.storage import Database
from tests.helpers.gui import ACTOR, seed

pytestmark = pytest.mark.gui


@pytest.fixture
def db(sqlite_url: str) -> Iterator[Database]:
    database = Database(sqlite_url)
    seed(database, 4)
    yield database
    database.dispose()


@pytest.fixture
def server(db: Database) -> Iterator[AckServer]:
    """The answer service, and ack.public_url pointing at it (on this machine: 127.0.0.1)."""
    ack = AckServer(db, "127.0.0.1", 0)
    url = ack.start()
    with db.write() as session:
        settings.set_value(session, "ack.public_url", url, ACTOR)
    yield ack
    ack.stop()


@pytest.fixture
def compose(qtbot: QtBot, db: Database, server: AckServer) -> Iterator[ComposeView]:
    tasks, bridge = TaskRunner(), Bridge()
    view = ComposeView(db, ACTOR, tasks, bridge)
    view.confirm = lambda text: pytest.fail(f"unexpected confirmation: {text}")
    qtbot.addWidget(view)
    with qtbot.waitSignal(view.readiness.checked, timeout=10_000):
        pass
    yield view
    tasks.wait_idle(10_000)


def codes(view: ComposeView) -> list[WarningCode]:
    return [w.code for w in view.readiness.warnings]


def checked_after(qtbot: QtBot, view: ComposeView, groups: list[str]) -> list[WarningCode]:
    """Choose these groups; the codes of the check that follows the fresh count."""
    with qtbot.waitSignal(view.counted, timeout=10_000):
        view.select(groups=groups)
    qtbot.waitUntil(lambda: not view.readiness.busy, timeout=10_000)
    return codes(view)


def test_banner_warns_of_loopback_links_and_a_missing_answer_service(qtbot: QtBot, compose: ComposeView,
                                                                     server: AckServer) -> None:
    assert codes(compose) == [] and not compose.readiness.isVisibleTo(compose)  # nobody chosen, service up

    assert checked_after(qtbot, compose, ["all"]) == [WarningCode.LOOPBACK_LINKS]
    banner = compose.readiness
    assert banner.isVisibleTo(compose) and banner.tone == "warning"
    assert server.url in banner.text() and "4 of 4 people" in banner.text()
    assert not compose.banner.isVisibleTo(compose)  # the send outcome strip is another one

    url = server.url
    server.stop()
    assert checked_after(qtbot, compose, ["London"]) == [WarningCode.LOOPBACK_LINKS,
                                                         WarningCode.ANSWER_SERVICE_UNREACHABLE]
    assert f"no answer service is reachable at {url}/healthz" in banner.text()
    assert "2 of 2 people" in banner.text()


def test_dashboard_counts_people_and_shows_messages_apart(qtbot: QtBot, db: Database) -> None:
    bid = broadcasts.send(db, broadcasts.BroadcastRequest(title="Fire", body="Leave.", groups=["all"]),
                          ACTOR).broadcast_id
    with db.write() as session:
        session.execute(update(Delivery).where(Delivery.broadcast_id == bid).values(state="sent", attempts=1))
    assert broadcasts.remind(db, bid, ACTOR).deliveries == 4  # a second message to each of the four
    with db.write() as session:
        first_reminder = session.scalars(select(Delivery.id).where(Delivery.reminder.is_(True))
                                         .order_by(Delivery.id)).first()
        session.execute(update(Delivery).where(Delivery.id == first_reminder).values(state="failed", attempts=5))
    tasks, bridge = TaskRunner(), Bridge()
    view = BroadcastsView(db, ACTOR, tasks, bridge)
    qtbot.addWidget(view)
    try:
        with qtbot.waitSignal(view.detail_applied, timeout=10_000, check_params_cb=lambda b: b == bid):
            view.select_broadcast(bid)
        bars = view.bars
        assert (bars["delivered"].value(), bars["delivered"].maximum()) == (4, 4)
        assert bars["delivered"].text() == "4 of 4 people reached"
        assert (bars["failed"].value(), bars["pending"].value()) == (0, 0)
        assert view.people_label.text() == "4 people: all 4 reached"
        assert view.messages_label.text() == "8 messages: 4 sent, 1 failed, 3 pending"
    finally:
        view.timer.stop()
        tasks.wait_idle(10_000)
