"""The report as a PDF, with ReportLab: no display and no Qt needed, so `crisis-console report` runs
on a server or over SSH as well as from the desktop's worker thread.

Sections in order: the incident (or message) and the people counts; each message (who sent what,
when, to which audience on which channels, exercise or not, delivery and answer counts in people);
the answers-over-time chart; the people table with answers, notes and help-request handling;
failures with reasons; the audit entries with their hashes; the checkpoint covering them. Every
page carries the title, EXERCISE when it is one, when the report was made, and "page n of m".

Text others wrote (titles, names, notes, errors) is escaped for ReportLab's markup, and control
and bidi characters are shown as escapes (console.textsafe.for_terminal), never obeyed.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    KeepTogether,
    LongTable,
    NextPageTemplate,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from console.report.chart import answers_chart
from console.report.grid import Column, Fonts, grid
from console.report.model import MessageInfo, Report, ReportPerson, ReportScope, shown_time
from console.textsafe import for_terminal

MARGIN = 15 * mm
HEAD = colors.HexColor("#e8eaed")
RULE = colors.HexColor("#b0b4ba")
STRIPE = colors.HexColor("#f6f7f8")
DRILL = colors.HexColor("#8a5a00")
STATUS_WORDS = {"needs_help": "needs help", "safe": "safe", "no_answer": "no answer", "unreachable": "unreachable"}

_FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu", "/usr/share/fonts/TTF",
              "/usr/local/share/fonts", "/Library/Fonts", "C:/Windows/Fonts")
_registered: tuple[str, str, str] | None = None


def fonts() -> tuple[str, str, str]:
    """(regular, bold, mono) font names: DejaVu where the system has it (names in any script,
    Latin, Greek, Cyrillic), else ReportLab's own Vera and Courier."""
    global _registered
    if _registered is None:
        _registered = _register()
    return _registered


def _register() -> tuple[str, str, str]:
    files = {"Report": "DejaVuSans.ttf", "Report-Bold": "DejaVuSans-Bold.ttf", "Report-Mono": "DejaVuSansMono.ttf"}
    for folder in _FONT_DIRS:
        paths = {name: Path(folder) / file for name, file in files.items()}
        if all(p.is_file() for p in paths.values()):
            for name, path in paths.items():
                pdfmetrics.registerFont(TTFont(name, str(path)))
            pdfmetrics.registerFontFamily("Report", normal="Report", bold="Report-Bold", italic="Report",
                                          boldItalic="Report-Bold")
            return "Report", "Report-Bold", "Report-Mono"
    for name, file in (("Report", "Vera.ttf"), ("Report-Bold", "VeraBd.ttf")):
        pdfmetrics.registerFont(TTFont(name, file))
    return "Report", "Report-Bold", "Courier"


class _Styles:
    def __init__(self) -> None:
        regular, bold, mono = fonts()
        self.regular, self.bold, self.mono_font = regular, bold, mono
        self.title = ParagraphStyle("title", fontName=bold, fontSize=16, leading=20, spaceAfter=4)
        self.h1 = ParagraphStyle("h1", fontName=bold, fontSize=12, leading=15, spaceBefore=10, spaceAfter=4)
        self.h2 = ParagraphStyle("h2", fontName=bold, fontSize=10, leading=13, spaceBefore=6, spaceAfter=3)
        self.body = ParagraphStyle("body", fontName=regular, fontSize=8.5, leading=11, alignment=TA_LEFT)
        self.small = ParagraphStyle("small", fontName=regular, fontSize=7, leading=8.6)
        self.small_bold = ParagraphStyle("small_bold", parent=self.small, fontName=bold)
        self.mono = ParagraphStyle("mono", fontName=mono, fontSize=6.2, leading=7.6)
        self.drill = ParagraphStyle("drill", fontName=bold, fontSize=10, leading=13, textColor=DRILL)


def safe(value: object) -> str:
    """Someone's text with control and bidi characters shown as escapes, never obeyed (plain table cells)."""
    return for_terminal("" if value is None else str(value))


def text(value: object) -> str:
    """Someone's text for ReportLab's markup (Paragraphs): escaped, and safe() as well."""
    return escape(safe(value))


def write_pdf(report: Report, out: IO[bytes]) -> None:
    """Lay the report out on A4 (the people and audit tables on landscape pages) and write it to `out`."""
    styles = _Styles()
    doc = BaseDocTemplate(out, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN + 6 * mm,
                          bottomMargin=MARGIN, title=f"Report: {for_terminal(report.title)}",
                          author=for_terminal(report.made_by), creator="Crisis Console", invariant=False)
    portrait = Frame(MARGIN, MARGIN, A4[0] - 2 * MARGIN, A4[1] - 2 * MARGIN - 6 * mm, id="portrait")
    wide = landscape(A4)
    across = Frame(MARGIN, MARGIN, wide[0] - 2 * MARGIN, wide[1] - 2 * MARGIN - 6 * mm, id="landscape")
    decorate = _Decoration(report, styles)
    doc.addPageTemplates([PageTemplate("portrait", [portrait], onPage=decorate, pagesize=A4),
                          PageTemplate("landscape", [across], onPage=decorate, pagesize=wide)])
    story: list[Flowable] = []
    story += _summary(report, styles)
    story += _chart(report, styles, A4[0] - 2 * MARGIN)
    for message in report.messages:
        story += _message(message, styles)
    story += [NextPageTemplate("landscape"), PageBreak()]
    story += _people(report.people, styles, wide[0] - 2 * MARGIN)
    story += _failures(report, styles, wide[0] - 2 * MARGIN)
    story += _audit(report, styles, wide[0] - 2 * MARGIN)
    story += _checkpoint(report, styles)
    doc.build(story, canvasmaker=_NumberedCanvas)


class _Decoration:
    """The running head and foot of every page."""

    def __init__(self, report: Report, styles: _Styles) -> None:
        kind = "Incident report" if report.scope is ReportScope.INCIDENT else "Message report"
        drill = "EXERCISE — " if report.exercise else ""
        self.head = f"{drill}{kind}: {for_terminal(report.title)}"
        self.foot = f"Crisis Console · made {shown_time(report.made_at)} by {for_terminal(report.made_by)}"
        self.styles = styles
        self.exercise = report.exercise

    def __call__(self, canvas: Canvas, doc: BaseDocTemplate) -> None:
        width, height = canvas._pagesize
        canvas.saveState()
        canvas.setFont(self.styles.regular, 7.5)
        canvas.setFillColor(DRILL if self.exercise else colors.HexColor("#555555"))
        canvas.drawString(MARGIN, height - MARGIN + 1 * mm, _clip(self.head, 120))
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.5)
        canvas.line(MARGIN, height - MARGIN, width - MARGIN, height - MARGIN)
        canvas.setFillColor(colors.HexColor("#555555"))
        canvas.drawString(MARGIN, MARGIN - 6 * mm, _clip(self.foot, 130))
        canvas.restoreState()


class _NumberedCanvas(Canvas):
    """Keeps every page until the end so each can say "page n of m"."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for number, state in enumerate(self._pages, start=1):
            self.__dict__.update(state)
            width = self._pagesize[0]
            self.setFont(fonts()[0], 7.5)
            self.setFillColor(colors.HexColor("#555555"))
            self.drawRightString(width - MARGIN, MARGIN - 6 * mm, f"page {number} of {total}")
            super().showPage()
        super().save()


def _summary(report: Report, st: _Styles) -> list[Flowable]:
    inc = report.incident
    if report.scope is ReportScope.INCIDENT:
        heading = f"Incident {inc.id}: {text(inc.title)}"
    else:
        heading = f"Message {report.subject_id}: {text(report.title)}"
    story: list[Flowable] = [Paragraph(heading, st.title)]
    if report.exercise:
        story.append(Paragraph("EXERCISE — a drill, labelled as such on every channel", st.drill))
    closed = (f"{shown_time(inc.closed_at)} by {text(inc.closed_by)}" if inc.closed_at else "open")
    rows = [("Incident", f"{inc.id}: {text(inc.title)} ({inc.state.value})"),
            ("Opened", shown_time(inc.opened_at)),
            ("Closed", closed + (f" — reason: {text(inc.close_reason)}" if inc.close_reason else "")),
            ("Messages", str(inc.messages) if report.scope is ReportScope.INCIDENT
             else f"this report covers message {report.subject_id} of {inc.messages}"),
            ("Report made", f"{shown_time(report.made_at)} by {text(report.made_by)}")]
    story.append(_pairs(rows, st))
    c = report.counts
    story.append(Paragraph("People", st.h1))
    head = ["People", "Needs help (open)", "Needs help (handled)", "Safe", "No answer", "Unreachable"]
    values = [str(v) for v in (c.people, c.needs_help_open, c.needs_help_handled, c.safe, c.no_answer,
                               c.unreachable)]
    story.append(_grid([head, values], st, [None] * 6, header=True))
    story.append(Paragraph("Counts are of people, never of messages: a person sent two messages counts once. "
                           "Needs help: their latest answer is a help option or a help request of theirs is "
                           "open.", st.small))
    return story


def _message(m: MessageInfo, st: _Styles) -> list[Flowable]:
    s = m.status
    audience = ", ".join(text(g) for g in m.groups) or "no group"
    if m.contacts:
        audience += f" and {m.contacts} people named one by one"
    answers = "; ".join(f"{text(a)}: {n}" for a, n in s.answers.items()) or "none"
    people = s.people
    rows = [
        ("Sent by", f"{text(m.sender)} at {shown_time(m.created_at)}"),
        ("Kind", f"{text(m.kind.replace('_', '-'))}, severity {text(m.severity)}, state {text(s.state)}"
         + (f", finished {shown_time(m.closed_at)}" if m.closed_at else "")),
        ("Exercise", "yes — a drill" if s.exercise else "no"),
        ("Audience", audience),
        ("Channels", ", ".join(text(c) for c in m.channels) or "none"),
        ("Answers offered", ", ".join(text(o) for o in s.options)
         + (f" (help: {', '.join(text(o) for o in s.help_options)})" if s.help_options else "")),
        ("People", f"{people.total} recipients: {people.reached} reached, {people.pending} pending, "
                   f"{people.failed} failed, {people.cancelled} cancelled; {s.unreachable} unreachable on any channel"),
        ("Answered", f"{s.acknowledged} of {s.recipients} people ({s.late} late, {s.self_reported} self-reported "
                     f"through a group link, {s.needs_help} needing help)"),
        ("Answers", answers),
        ("Messages", f"{s.messages} deliveries: {s.sent} sent, {s.failed} failed, {s.pending} pending, "
                     f"{s.cancelled} cancelled"),
    ]
    body = Paragraph(text(m.body).replace("\n", "<br/>"), st.body)
    return [CondPageBreak(60 * mm),
            Paragraph(f"Message {m.id}: {text(m.title)}", st.h1),
            _pairs(rows, st), Spacer(1, 3), Paragraph("Text as sent", st.h2), body]


def _chart(report: Report, st: _Styles, width: float) -> list[Flowable]:
    drawing = answers_chart(report.series, report.alarm, report.start, report.end, width, 62 * mm, st.regular)
    return [KeepTogether([Paragraph("Answers over time (people, UTC)", st.h1), drawing,
                          Paragraph("Each line counts the people whose latest answer it is; a person who answers "
                                    "again moves from one line to the other.", st.small)])]


def _grid_fonts(st: _Styles) -> Fonts:
    return Fonts(st.regular, st.bold, st.mono_font)


def _people(people: Sequence[ReportPerson], st: _Styles, width: float) -> list[Flowable]:
    columns = (Column("Name", 0.115), Column("Email", 0.165), Column("Status", 0.07), Column("Answer", 0.09),
               Column("Msg", 0.035), Column("Answered (UTC)", 0.115), Column("Note", 0.135),
               Column("Help request (UTC)", 0.16), Column("Delivery", 0.115))
    rows = [[safe(p.name), safe(p.email), STATUS_WORDS.get(p.status, safe(p.status)), safe(p.answer),
             str(p.broadcast_id or ""), _short_time(p.answered_at), safe(p.note), _help(p),
             safe(p.delivery) + (f"\n{safe(p.error)}" if p.error else "")]
            for p in people]
    bold = [(2, row) for row, p in enumerate(people, start=1) if p.status == "needs_help"]
    return [Paragraph(f"People ({len(people)})", st.h1), grid(columns, rows, width, _grid_fonts(st), bold)]


def _help(p: ReportPerson) -> str:
    h = p.help
    if h is None:
        return ""
    words = f"{h.state.value} since {_short_time(h.opened_at)}" if h.handled_at is None else \
        f"opened {_short_time(h.opened_at)}"
    if h.handled_at:
        words += f"\nhandled {_short_time(h.handled_at)} by {safe(h.handled_by)}"
    if h.handled_note:
        words += f": {safe(h.handled_note)}"
    return words


def _failures(report: Report, st: _Styles, width: float) -> list[Flowable]:
    story: list[Flowable] = [Paragraph(f"Failed deliveries ({len(report.failures)})", st.h1)]
    if not report.failures:
        return [*story, Paragraph("None: no delivery was given up.", st.body)]
    columns = (Column("Message", 0.07), Column("Who", 0.22), Column("Channel", 0.12), Column("Attempts", 0.07),
               Column("Reason", 0.37), Column("Given up (UTC)", 0.15))
    rows = [[str(f.broadcast_id), safe(f.who), safe(f.channel), str(f.attempts), safe(f.reason),
             safe(f.failed_at.replace("T", " ").removesuffix("+00:00"))] for f in report.failures]
    return [*story, grid(columns, rows, width, _grid_fonts(st))]


def _audit(report: Report, st: _Styles, width: float) -> list[Flowable]:
    story: list[Flowable] = [CondPageBreak(40 * mm),
                             Paragraph(f"Audit entries ({len(report.audit)})", st.h1),
                             Paragraph("Each entry as the hash-chained log holds it; hash = SHA-256 of the previous "
                                       "hash and the entry's canonical JSON (see the README's recipe).", st.small),
                             Spacer(1, 4)]
    if not report.audit:
        return [*story, Paragraph("No audit entry names this incident.", st.body)]
    columns = (Column("Seq", 0.045), Column("Time (UTC)", 0.135, mono=True), Column("Actor", 0.15),
               Column("Action / subject", 0.115), Column("Details", 0.395, mono=True), Column("Hash", 0.16, mono=True))
    rows = [[str(e.seq), safe(e.time), safe(e.actor), f"{safe(e.action)}\n{safe(e.subject)}",
             safe(_details(e.details)), f"{e.hash[:32]}\n{e.hash[32:]}"] for e in report.audit]
    return [*story, grid(columns, rows, width, _grid_fonts(st))]


def _details(details: str) -> str:
    """The details JSON as stored, spaced after commas so long ones wrap."""
    try:
        return json.dumps(json.loads(details), ensure_ascii=False, separators=(", ", ":"), sort_keys=True)
    except ValueError:
        return details


def _checkpoint(report: Report, st: _Styles) -> list[Flowable]:
    cp = report.checkpoint
    story: list[Flowable] = [CondPageBreak(50 * mm), Paragraph("Signed checkpoint", st.h1),
                             Paragraph(text(cp.note), st.body), Spacer(1, 4)]
    if cp.found:
        story.append(_pairs([("Seq", str(cp.seq)), ("Head hash", f"<font name='{st.mono_font}'>{cp.hash}</font>"),
                             ("Entries", str(cp.count)), ("Time", text(cp.time)),
                             ("Public key", f"<font name='{st.mono_font}'>{text(cp.key_fingerprint)}</font>"),
                             ("Log id", text(cp.log))], st))
    return story


def _pairs(rows: Sequence[tuple[str, str]], st: _Styles) -> Table:
    data = [[Paragraph(k, st.small_bold), Paragraph(v, st.body)] for k, v in rows]
    table = Table(data, colWidths=[32 * mm, A4[0] - 2 * MARGIN - 32 * mm], hAlign="LEFT")
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                               ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    return table


def _grid(rows: list[list[Any]], st: _Styles, widths: Sequence[float | None], *, header: bool,
          long: bool = False) -> Table:
    kind = LongTable if long else Table
    table = kind(rows, colWidths=list(widths), repeatRows=1 if header else 0, hAlign="LEFT")
    style = [("FONT", (0, 0), (-1, -1), st.regular, 7), ("VALIGN", (0, 0), (-1, -1), "TOP"),
             ("LINEBELOW", (0, 0), (-1, -1), 0.25, RULE), ("TOPPADDING", (0, 0), (-1, -1), 2),
             ("BOTTOMPADDING", (0, 0), (-1, -1), 2), ("LEFTPADDING", (0, 0), (-1, -1), 3),
             ("RIGHTPADDING", (0, 0), (-1, -1), 3)]
    if header:
        style += [("FONT", (0, 0), (-1, 0), st.bold, 7), ("BACKGROUND", (0, 0), (-1, 0), HEAD)]
    style.append(("ROWBACKGROUNDS", (0, 1 if header else 0), (-1, -1), [colors.white, STRIPE]))
    table.setStyle(TableStyle(style))
    return table


def _short_time(value: dt.datetime | None) -> str:
    """UTC to the second, without the zone (the column heading says UTC)."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def _clip(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[:limit - 1] + "…"
