"""Screenshots of the read-only console (an auditor's `crisis-console --read-only`) on Xvfb.

Not a test: run it by hand after changing the look of read-only mode:

    python tests/screenshots_readonly.py [--out resources/screenshots] [--display :98]

It fills a demo database in a temporary folder (200 people, a fire alarm to everyone, one
person who needs help, with a note), opens it read-only and saves the incident picture and the
directory: no sending or editing controls, the "read-only" badge in the status bar.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from tests.screenshots import on_xvfb

    return on_xvfb(__doc__ or "", ":98", "crisis-shots-ro-", shoot)


def fill(path: Path) -> tuple[int, int, str]:
    """The demo's people, a fire alarm to all of them, the last one stuck in a lift: (incident, broadcast, email)."""
    from console.acks.recorder import AnswerRequest, GroupCommitRecorder
    from console.gui.demo import prepare_demo
    from console.services import broadcasts, incidents
    from console.services.broadcasts import BroadcastRequest
    from console.vocabulary import AnswerSource
    from tests.helpers.incidents import recipient_id

    demo = prepare_demo(path)
    db = demo.db
    try:
        sent = broadcasts.send(db, BroadcastRequest(
            title="Fire alarm: leave building B now", body="Leave by the nearest exit and meet at the car park.",
            groups=["all"], severity="critical", options=["I'm safe", "I need help"]), "comms.officer")
        assert sent.incident_id is not None
        people = incidents.incident_picture(db, sent.incident_id).people
        recorder = GroupCommitRecorder(db)
        recorder.start()
        try:
            for i, person in enumerate(people[:40]):
                rid = recipient_id(db, sent.broadcast_id, person.email)
                text, note = ("I need help", "Stuck in the lift, floors 2-3") if i == 0 else ("I'm safe", None)
                recorder.submit(AnswerRequest(rid, text, "203.0.113.9", AnswerSource.PERSONAL, note)).result(30)
        finally:
            recorder.stop()
        return sent.incident_id, sent.broadcast_id, people[0].email
    finally:
        demo.close()
        db.dispose()


def shoot(shooter: object, workdir: Path) -> int:
    from console.gui.app import application, build
    from console.gui.views.broadcast.dashboard import BroadcastsView
    from console.gui.views.directory import DirectoryView
    from console.storage import open_database
    from tests.screenshots import Shooter, page_of

    assert isinstance(shooter, Shooter)
    app = application()
    incident_id, broadcast_id, email = fill(workdir / "demo.db")
    db = open_database(f"sqlite:///{workdir / 'demo.db'}", create=False, read_only=True)
    window, services = build(db, "auditor")
    window.setGeometry(0, 0, 1440, 900)
    window.show()
    try:
        view = page_of(window, "broadcasts", BroadcastsView)
        window.show_page("broadcasts")
        panel = view.incident_panel
        view.select_incident(incident_id, broadcast_id)
        shooter.wait(lambda: panel.picture is not None and panel.picture.incident.counts.needs_help_open > 0,
                     what="the incident picture")
        shooter.wait(lambda: panel.select_person(email), what="the person who needs help")
        shooter.save(view, "light-read-only-incident")
        window.show_page("directory")
        directory = page_of(window, "directory", DirectoryView)
        shooter.wait(lambda: directory.contacts.rowCount() > 0, what="contacts")
        directory.contacts_table.selectRow(2)
        shooter.save(directory, "light-read-only-directory")
    finally:
        window.close()
        services.stop()
        db.dispose()
    app.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main())
