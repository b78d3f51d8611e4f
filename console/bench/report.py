"""Report PDF: ReportLab (what `crisis-console report` uses) against Qt's QPdfWriter, on one incident.

    python -m console.bench report [--people 2000] [--runs 2]

An incident of N people is built through the real services (console.bench.acks.seed_broadcast):
every delivery recorded sent with its audit entry as the dispatcher writes it (1% failed for
good), 85% of the people answering over 50 minutes (3% needing help, with a note). The report
is gathered once (console.services.reports.gather) and rendered by both writers from the same
values: ReportLab's whole document (console.report.pdf), and in Qt the same content as rich
text (summary, people table, failures, audit entries with hashes) laid out by QTextDocument and
printed to a QPdfWriter on the offscreen platform. Times are CPU seconds of this process (the
machine may be shared), the best of `--runs`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import random
import resource
import tempfile
import time
from html import escape
from pathlib import Path

from sqlalchemy import select, update

from console import audit
from console.acks.recorder import AnswerRequest, GroupCommitRecorder
from console.bench.acks import seed_broadcast
from console.models import Broadcast, Delivery, Recipient
from console.report import pdf
from console.report.model import Report, ReportScope
from console.services import reports
from console.storage import Database
from console.vocabulary import AnswerSource, DeliveryState

ERROR = "SMTP 550 5.1.1 mailbox unavailable"


def build(db: Database, people: int, seed: int = 7) -> int:
    """The incident described above; returns its id."""
    seeded = seed_broadcast(db, people, title="Gas leak at the Leeds depot")
    bid = seeded.broadcast_id
    rnd = random.Random(seed)
    with db.write() as session:
        rows = session.execute(select(Delivery.id, Delivery.recipient_id, Delivery.address, Delivery.channel_id)
                               .where(Delivery.broadcast_id == bid)).all()
        failed = set(rnd.sample([r.id for r in rows], max(1, people // 100)))
        entries = []
        for r in rows:
            details = {"broadcast": bid, "recipient": r.recipient_id, "group_link": None, "channel": r.channel_id,
                       "address": r.address, "target": "mailto://…", "attempt": 1, "ms": 12.5, "reminder": False,
                       "by": "bench"}
            if r.id in failed:
                details.update(error=ERROR, gave_up="permanent")
            entries.append(("dispatcher", "delivery.failed" if r.id in failed else "delivery.sent",
                            f"delivery {r.id}", details))
        audit.append_many(session, entries)
        session.execute(update(Delivery).where(Delivery.broadcast_id == bid, Delivery.id.not_in(failed))
                        .values(state=DeliveryState.SENT.value, attempts=1))
        session.execute(update(Delivery).where(Delivery.id.in_(failed))
                        .values(state=DeliveryState.FAILED.value, attempts=1, last_error=ERROR))
        incident_id = session.scalar(select(Broadcast.incident_id).where(Broadcast.id == bid))
        ids = list(session.scalars(select(Recipient.id).where(Recipient.broadcast_id == bid).order_by(Recipient.id)))
    answering = ids[: people * 85 // 100]
    recorder = GroupCommitRecorder(db)
    recorder.start()
    try:
        for rid in answering:
            helpless = rnd.random() < 0.03
            recorder.record(AnswerRequest(rid, "I need help" if helpless else "I'm safe", "192.0.2.1",
                                          AnswerSource.PERSONAL, "ankle hurt, at the north gate" if helpless else None))
    finally:
        recorder.stop()
    start = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(hours=1)
    with db.write() as session:
        for i, rid in enumerate(answering):
            session.execute(update(Recipient).where(Recipient.id == rid).values(
                answered_at=start + dt.timedelta(seconds=3000 * (1 - (1 - i / len(answering)) ** 3))))
    return int(incident_id or 0)


def render_reportlab(report: Report) -> tuple[float, int, int]:
    """(seconds, bytes, pages) of console.report.pdf."""
    out = io.BytesIO()
    t0 = time.process_time()
    pdf.write_pdf(report, out)
    seconds = time.process_time() - t0
    data = out.getvalue()
    return seconds, len(data), data.count(b"/Type /Page\n") or data.count(b"/Type /Page")


def render_qt(report: Report, path: Path) -> tuple[float, int, int]:
    """(seconds, bytes, pages) of the same content through QTextDocument and QPdfWriter."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QMarginsF, QSizeF
    from PySide6.QtGui import QGuiApplication, QPageLayout, QPageSize, QPdfWriter, QTextDocument

    app = QGuiApplication.instance() or QGuiApplication([])
    t0 = time.process_time()
    writer = QPdfWriter(str(path))
    writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    writer.setPageOrientation(QPageLayout.Orientation.Landscape)
    writer.setPageMargins(QMarginsF(15, 15, 15, 15), QPageLayout.Unit.Millimeter)
    writer.setResolution(300)
    doc = QTextDocument()
    doc.documentLayout().setPaintDevice(writer)  # lay out in the PDF's own metrics, not the screen's
    doc.setDefaultStyleSheet("body{font-family:'DejaVu Sans';font-size:7pt} td{padding:2px}"
                             " .mono{font-family:'DejaVu Sans Mono';font-size:6pt}")
    doc.setHtml(_html(report))
    doc.setPageSize(QSizeF(writer.width(), writer.height()))
    doc.print_(writer)
    pages = doc.pageCount()
    seconds = time.process_time() - t0
    del app
    return seconds, path.stat().st_size, pages


def _html(report: Report) -> str:
    c = report.counts
    parts = [f"<h1>Incident {report.incident.id}: {escape(report.title)}</h1>",
             f"<p>{c.people} people: {c.needs_help} need help, {c.safe} safe, {c.no_answer} no answer, "
             f"{c.unreachable} unreachable</p>", "<h2>People</h2><table width='100%'>",
             "<tr><th>Name</th><th>Email</th><th>Status</th><th>Answer</th><th>Answered</th><th>Note</th>"
             "<th>Help</th><th>Delivery</th></tr>"]
    for p in report.people:
        parts.append(f"<tr><td>{escape(p.name)}</td><td>{escape(p.email)}</td><td>{p.status}</td>"
                     f"<td>{escape(p.answer or '')}</td><td>{p.answered_at or ''}</td><td>{escape(p.note or '')}</td>"
                     f"<td>{p.help.state.value if p.help else ''}</td><td>{escape(p.delivery)}</td></tr>")
    parts.append("</table><h2>Failures</h2><table width='100%'>")
    parts += [f"<tr><td>{escape(f.who)}</td><td>{escape(f.channel)}</td><td>{escape(f.reason)}</td></tr>"
              for f in report.failures]
    parts.append("</table><h2>Audit entries</h2><table width='100%'>")
    parts += [f"<tr><td>{e.seq}</td><td>{escape(e.time)}</td><td>{escape(e.actor)}</td><td>{escape(e.action)}</td>"
              f"<td class='mono'>{escape(e.details)}</td><td class='mono'>{e.hash[:32]}<br>{e.hash[32:]}</td></tr>"
              for e in report.audit]
    parts.append("</table>")
    return "".join(parts)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m console.bench report", description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=2000, metavar="N")
    parser.add_argument("--runs", type=int, default=2, metavar="K")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="crisis-bench-report-") as tmp:
        from console.bench.gui import _isolate

        _isolate(Path(tmp))
        db = Database(f"sqlite:///{Path(tmp) / 'bench.db'}")
        try:
            t0 = time.perf_counter()
            incident = build(db, args.people)
            print(f"setup: incident of {args.people} people in {time.perf_counter() - t0:.1f} s")
            t0 = time.perf_counter()
            report = reports.gather(db, ReportScope.INCIDENT, incident, "bench")
            print(f"gather: {time.perf_counter() - t0:.2f} s ({len(report.people)} people, "
                  f"{len(report.audit)} audit entries, {len(report.failures)} failures)")
            ours = min(render_reportlab(report) for _ in range(args.runs))
            print(f"ReportLab (whole report): {ours[0]:.2f} s CPU, {ours[1] // 1024} KiB, {ours[2]} pages")
            qt = min(render_qt(report, Path(tmp) / f"qt{i}.pdf") for i in range(args.runs))
            print(f"Qt QTextDocument + QPdfWriter (tables only, no chart): {qt[0]:.2f} s CPU, {qt[1] // 1024} KiB, "
                  f"{qt[2]} pages")
            print(f"peak memory (both): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MiB")
        finally:
            db.dispose()
    return 0
