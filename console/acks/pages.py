"""The answer pages: HTML templates under resources/templates/acks/, filled safely.

Templates are plain files with `${name}` placeholders (string.Template). Every
value is HTML-escaped unless it is `Markup`, which only this module and the
Markdown renderer produce, so text from a broadcast or a request cannot become
markup by accident. No inline style anywhere and one script only (console.acks.localtime,
allowed by its hash in the CSP, adds the reader's own time): the pages work with JavaScript off.
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import importlib.resources
from collections.abc import Iterable
from dataclasses import dataclass
from string import Template

from console.acks import localtime
from console.acks.answers import LINK_INTERVAL, NOTE_MAX, Outcome
from console.acks.lookup import BroadcastView, RecipientView
from console.vocabulary import AnswerSource

SEVERITY_LABELS = {"info": "Information", "warning": "Warning", "critical": "Critical"}
STYLESHEET = "ack.css"


class Markup(str):
    """Trusted HTML, inserted into a template as is."""


def resource_text(*parts: str) -> str:
    """A text file under resources/ (the one accessor for this package's resources)."""
    node = importlib.resources.files("resources")
    for part in parts:
        node = node.joinpath(part)
    return node.read_text(encoding="utf-8")


class _Compiled:
    """A template split once into literal text and placeholder names (filling is then a join)."""

    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self.parts: list[tuple[str, str | None]] = []
        pos = 0
        for match in Template.pattern.finditer(text):
            key = match.group("named") or match.group("braced")
            if key is None and match.group("escaped") is None:
                raise ValueError(f"template {name}: a lone $ at offset {match.start()}")
            self.parts.append((text[pos:match.start()] + ("$" if key is None else ""), key))
            pos = match.end()
        self.parts.append((text[pos:], None))
        self.names = {key for _lit, key in self.parts if key}

    def fill(self, values: dict[str, str]) -> str:
        missing = self.names - values.keys()
        if missing:
            raise KeyError(f"template {self.name}: no value for {', '.join(sorted(missing))}")
        return "".join(lit + values[key] if key else lit for lit, key in self.parts)


@functools.cache
def _template(name: str) -> _Compiled:
    return _Compiled(name, resource_text("templates", "acks", f"{name}.html"))


def render(name: str, **values: str | Markup) -> Markup:
    """Fill template `name`; plain strings are escaped, Markup is not."""
    safe = {k: v if isinstance(v, Markup) else html.escape(v, quote=True) for k, v in values.items()}
    return Markup(_template(name).fill(safe))


def join(fragments: Iterable[Markup]) -> Markup:
    return Markup("".join(fragments))


@dataclass(frozen=True)
class PageContext:
    """What every page needs besides its content.

    Args:
        org: the organisation name (setting org.name).
        root: the WSGI SCRIPT_NAME, so links work behind a path prefix.
        timezone: the IANA zone the page's times are written in (setting org.timezone).
    """

    org: str
    root: str = ""
    timezone: str = "UTC"

    @property
    def css_url(self) -> str:
        return f"{self.root}/static/{STYLESHEET}"


def time_text(when: dt.datetime, *, seconds: bool = False, zone: str = "UTC") -> str:
    """In the organisation's zone, spelled out; the page's script adds the reader's own."""
    return localtime.time_text(when, zone, seconds=seconds)


def time_html(when: dt.datetime, zone: str, *, seconds: bool = False) -> Markup:
    """A ``<time>`` element, for times inside a sentence (the script annotates it too)."""
    text = html.escape(time_text(when, seconds=seconds, zone=zone))
    return Markup(f'<time datetime="{_iso(when)}">{text}</time>')


def _iso(when: dt.datetime) -> str:
    return localtime.iso(when)


_CONTENT_SLOT = "\x00ack:content\x00"


def _layout(ctx: PageContext, *, title: str, content: Markup, severity: str = "info",
            exercise: bool = False) -> str:
    head, tail = _layout_shell(ctx, title, severity, exercise)
    return head + content + tail


@functools.lru_cache(maxsize=256)
def _layout_shell(ctx: PageContext, title: str, severity: str, exercise: bool) -> tuple[str, str]:
    """The page around its content, escaped once per title rather than once per request."""
    page = render(
        "layout", page_title=("[EXERCISE] " if exercise else "") + title, org=ctx.org, css_url=ctx.css_url,
        severity=severity if severity in SEVERITY_LABELS else "info",
        exercise_banner=render("exercise") if exercise else Markup(""), content=Markup(_CONTENT_SLOT),
        zone=ctx.timezone, script=Markup(f"<script>{localtime.SCRIPT}</script>"),
    )
    head, _slot, tail = page.partition(_CONTENT_SLOT)
    return head, tail


_CHECK_SLOT = "\x00ack:check\x00"
_NOTICE_SLOT = "\x00ack:notice\x00"


def answer_page(ctx: PageContext, b: BroadcastView, *, check: str, current: RecipientView | None,
                ask_email: bool, offer_link: bool = False) -> str:
    """The message and one button per answer option (personal link, or group link with `ask_email`;
    `offer_link` adds "Email me my personal link" there)."""
    chosen = current.answer if current else None
    notice = ""
    if current is not None and current.answer is not None and current.answered_at is not None:
        when = time_html(current.answered_at, ctx.timezone)
        if current.source is AnswerSource.GROUP:
            text = Markup(f"“{html.escape(current.answer)}” was reported for you through a group link at "
                          f"{when}. Please confirm or change it below.")
        else:
            text = Markup(f"You answered “{html.escape(current.answer)}” at {when}. "
                          "You can change your answer below.")
        notice = render("notice", kind="info", text=text)
    page = _answer_skeleton(ctx, b, chosen, ask_email, offer_link and ask_email)
    return page.replace(_CHECK_SLOT, html.escape(check, quote=True), 1).replace(_NOTICE_SLOT, notice, 1)


@functools.lru_cache(maxsize=256)
def _answer_skeleton(ctx: PageContext, b: BroadcastView, chosen: str | None, ask_email: bool,
                     offer_link: bool) -> str:
    """Everything of an answer page but the check value and the "you answered" notice (a crowd
    opens the same few variants thousands of times)."""
    notices = [render("notice", kind="late", text="This alert has been closed. You can still answer; "
                                                  "your answer will be marked as late.")] if b.closed else []
    notices.append(Markup(_NOTICE_SLOT))
    buttons = join(render("button", value=option, chosen=" chosen" if option == chosen else "")
                   for option in b.options)
    single = b.options == ("Acknowledge",)
    content = render(
        "answer", severity_label=SEVERITY_LABELS.get(b.severity, b.severity), time_iso=_iso(b.created_at),
        time_text=time_text(b.created_at, zone=ctx.timezone), title=b.title, body_html=Markup(b.body_html),
        notices=join(notices),
        check=Markup(_CHECK_SLOT), prompt="Please confirm you have read this" if single else "Please answer",
        email_field=render("email_field") if ask_email else Markup(""), buttons=buttons,
        note_field=render("note_field", max=str(NOTE_MAX)),
        link_button=render("link_button") if offer_link else Markup(""),
    )
    return _layout(ctx, title=b.title, content=content, severity=b.severity, exercise=b.exercise)


def confirmation_page(ctx: PageContext, b: BroadcastView, outcome: Outcome, *, back_url: str,
                      email: str | None = None) -> str:
    """What the person sees after pressing a button: the answer, its time, and how to change it."""
    notices = []
    if not outcome.changed:
        notices.append(render("notice", kind="info", text="This answer was already recorded; nothing changed."))
    elif outcome.previous is not None and outcome.previous != outcome.answer:
        notices.append(render("notice", kind="info",
                              text=f"This replaces the earlier answer “{outcome.previous}”."))
    if outcome.late:
        notices.append(render("notice", kind="late", text="This alert was already closed, so the answer is "
                                                          "marked as late. The team can still see it."))
    answered = outcome.answered_at
    assert outcome.answer is not None and answered is not None  # a personal answer is always in force
    content = render(  # times are digits and month names: Markup spares their escaping
        "confirm", answer=outcome.answer, time_iso=Markup(_iso(answered)),
        time_text=Markup(time_text(answered, seconds=True, zone=ctx.timezone)),
        for_whom=f" for {email}" if email else "",
        notices=join(notices), title=b.title, back_url=back_url,
        note=render("note_given", note=outcome.note) if outcome.note else Markup(""),
    )
    return _layout(ctx, title="Answer recorded", content=content, severity=b.severity, exercise=b.exercise)


def self_report_page(ctx: PageContext, b: BroadcastView, *, answer: str, check: str, offer_link: bool,
                     back_url: str) -> str:
    """After an answer through a group link. Byte for byte the same whoever the email belongs to,
    member or stranger, and whether or not the self-report applied (it does not even repeat the
    email): the page must not tell who is in the group."""
    offer = render("link_offer", check=check) if offer_link else Markup("")
    content = render("self_report", answer=answer, link_offer=offer, title=b.title, back_url=back_url)
    return _layout(ctx, title="Thank you", content=content, severity=b.severity, exercise=b.exercise)


def link_sent_page(ctx: PageContext, b: BroadcastView, *, back_url: str) -> str:
    """After "Email me my personal link": the same bytes for members and strangers."""
    minutes = str(int(LINK_INTERVAL.total_seconds() // 60))
    content = render("link_sent", minutes=minutes, title=b.title, back_url=back_url)
    return _layout(ctx, title="Check your email", content=content, severity=b.severity, exercise=b.exercise)


def error_page(ctx: PageContext, *, heading: str, text: str, back_url: str | None = None) -> str:
    back = Markup(f'<p class="again"><a href="{html.escape(back_url, quote=True)}">Back to the message</a></p>\n'
                  if back_url else "")
    return _layout(ctx, title=heading, content=render("error", heading=heading, text=text, back=back))


def stylesheet() -> bytes:
    return resource_text("static", STYLESHEET).encode("utf-8")
