"""Page images of a real incident report (`crisis-console report --incident ID --out FILE.pdf`).

Not a test: run it by hand after changing the report's layout:

    python tests/screenshots_report.py [--out resources/screenshots] [--keep FILE.pdf]

It fills a database in a temporary folder with the demo's 200 people, sends a fire alarm to
the Glasgow site (a drill), records deliveries (two failing for good) and answers spread over
half an hour (two people need help: one handled with a note), an update, seals the audit log,
writes the report through the CLI and renders page 1 and the first people page with pdftoppm
as report-page-1.png and report-page-2.png. Needs pdftoppm (poppler-utils); no display.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTES = {3: "Twisted ankle on the stairs, at the north gate", 11: "Still in the server room, door jammed"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "resources" / "screenshots")
    parser.add_argument("--keep", type=Path, help="also keep the PDF here")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="crisis-shots-report-"))
    try:
        for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME"):
            (workdir / var.lower()).mkdir()
            os.environ[var] = str(workdir / var.lower())
        os.environ["CRISIS_CONSOLE_KEY"] = "MhDojoJwHQ93WFvxXF6KlZGUR6bfpaetv8PDqd3F7-M="
        sys.path.insert(0, str(ROOT))
        url = f"sqlite:///{workdir / 'report.db'}"
        incident = fill(url)
        pdf = workdir / "report.pdf"
        subprocess.run([sys.executable, "-m", "console", "--db", url, "report", "--incident", str(incident),
                        "--out", str(pdf), "--actor", "a.auditor"], check=True, cwd=ROOT)
        if args.keep:
            shutil.copy(pdf, args.keep)
        people_page = _page_of(pdf, "People (")
        for number, page in ((1, 1), (2, people_page)):
            stem = workdir / f"page{number}"
            subprocess.run(["pdftoppm", "-r", "110", "-png", "-singlefile", "-f", str(page), "-l", str(page),
                            str(pdf), str(stem)], check=True)
            shutil.copy(stem.with_suffix(".png"), args.out / f"report-page-{number}.png")
            print(f"saved {args.out / f'report-page-{number}.png'} (page {page})")
        return 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def fill(url: str) -> int:
    """The incident described above; returns its id."""
    from sqlalchemy import select, update

    from console.channelstore import save_channel
    from console.directory.csvimport import parse_csv, write_rows
    from console.models import Broadcast, Delivery, HelpRequest, Incident, Recipient
    from console.services import audit, incidents
    from console.storage import open_database
    from console.vocabulary import BroadcastKind, DeliveryState
    from tests.helpers.incidents import alert, answer, follow_up

    db = open_database(url, create=True)
    try:
        rows, _ignored = parse_csv((ROOT / "resources" / "demo" / "people.csv").read_bytes(), "people.csv")
        box = db.secrets  # before the write: loading the key may write its check value
        with db.write() as session:
            write_rows(session, rows, "j.smith", "people.csv")
            save_channel(session, box, "j.smith", name="Corp mail", kind="email",
                         url="mailto://127.0.0.1:9?from=alerts@demo.example&to={address}&mode=insecure")
        sent = alert(db, groups=("Site: Glasgow",), title="Fire alarm, Glasgow office: leave the building",
                     exercise=True)
        bid = sent.broadcast_id
        with db.write() as session:
            people = list(session.execute(select(Recipient.id, Recipient.email).where(Recipient.broadcast_id == bid)
                                          .order_by(Recipient.id)))
            failed = [people[5].id, people[17].id]
            session.execute(update(Delivery).where(Delivery.broadcast_id == bid).values(state="sent", attempts=1))
            session.execute(update(Delivery).where(Delivery.recipient_id.in_(failed)).values(
                state=DeliveryState.FAILED.value, attempts=4,
                last_error="SMTP 550 5.1.1 <address>: mailbox unavailable"))
        answering = [p for i, p in enumerate(people) if i not in (5, 17) and i % 7 != 6]
        for i, person in enumerate(answering):
            helpless = i in NOTES
            answer(db, bid, person.email, "I need help" if helpless else "I'm safe", note=NOTES.get(i))
        opened = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(minutes=45)
        with db.write() as session:  # spread the answers over half an hour, as they come in a real drill
            session.execute(update(Incident).where(Incident.id == sent.incident_id).values(opened_at=opened))
            session.execute(update(Broadcast).where(Broadcast.id == bid).values(created_at=opened))
            for i, person in enumerate(answering):
                minutes = 2 + 28 * (i / len(answering)) ** 1.6
                session.execute(update(Recipient).where(Recipient.id == person.id).values(
                    answered_at=opened + dt.timedelta(minutes=minutes)))
        with db.write() as session:
            for i in NOTES:
                session.execute(update(HelpRequest).where(HelpRequest.email == answering[i].email).values(
                    opened_at=opened + dt.timedelta(minutes=2 + 28 * (i / len(answering)) ** 1.6)))
        incidents.handle(db, sent.incident_id, answering[3].email, "First aider with her at the north gate",
                         "j.smith")
        follow_up(db, bid, BroadcastKind.UPDATE)
        audit.seal(db)
        return sent.incident_id
    finally:
        db.dispose()


def _page_of(pdf: Path, heading: str) -> int:
    """The first page whose text holds `heading`."""
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    for number, page in enumerate(text.split("\f"), start=1):
        if heading in page:
            return number
    return 1


if __name__ == "__main__":
    sys.exit(main())
