"""The answer pages as HTML: safe Markdown, escaping, phone-ready structure, no script or inline style."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser

import pytest

from console.acks import pages
from console.acks.lookup import BroadcastView, RecipientView
from console.acks.recorder import Outcome
from console.acks.richtext import markdown_to_html

WHEN = dt.datetime(2025, 3, 14, 9, 26, 53, tzinfo=dt.UTC)
CTX = pages.PageContext(org="Acme <Rail> & Co")


def view(**changes: object) -> BroadcastView:
    base: dict[str, object] = dict(
        id=7, kind="alert", title="Fire in building B", body_html=markdown_to_html("Leave **now**."),
        severity="critical", options=("I'm safe", "I need help"), exercise=False, created_at=WHEN, closed=False)
    base.update(changes)
    return BroadcastView(**base)  # type: ignore[arg-type]


class Tags(HTMLParser):
    """Collects tags with their attributes, to check structure without regexes over HTML."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]

    @property
    def words(self) -> str:
        return " ".join("".join(self.text).split())


@pytest.mark.parametrize(("source", "expected", "absent"), [
    ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;", "<script"),
    ('<img src=x onerror="alert(1)">', "&lt;img src=x onerror=", "<img"),
    ("[click](javascript:alert(1))", "[click](javascript:alert(1))", "href"),
    ("[click](JaVaScRiPt:alert(1))", "[click]", "href"),
    ("[data](data:text/html;base64,PHNjcmlwdD4=)", "[data]", "href"),
    ("[rel](/admin)", "[rel](/admin)", "href"),
    ("![pixel](https://tracker.example/p.gif)", '<a href="https://tracker.example/p.gif">pixel</a>', "<img"),
    ('[ok](https://status.example.org/?a=1&b="2")', 'href="https://status.example.org/?a=1&amp;b=%222%22"', "<script"),
    ("<mailto:ops@example.org>", 'href="mailto:ops@example.org"', "<script"),
    ("**bold** and _em_", "<strong>bold</strong> and <em>em</em>", "<script"),
])
def test_markdown_escapes_html_and_keeps_only_safe_links(source: str, expected: str, absent: str) -> None:
    out = markdown_to_html(source)
    assert expected in out
    assert absent not in out


def test_answer_page_shows_the_message_and_one_button_per_option() -> None:
    page = pages.answer_page(CTX, view(), check="c0ffee", current=None, ask_email=False)
    tags = Tags(page)
    assert page.startswith("<!doctype html>")
    assert tags.all("html") == [{"lang": "en"}]
    assert {"name": "viewport", "content": "width=device-width, initial-scale=1"} in tags.all("meta")
    assert "Acme <Rail> & Co" in tags.words and "Acme &lt;Rail&gt; &amp; Co" in page
    assert "Fire in building B" in tags.words and "<strong>now</strong>" in page
    assert tags.all("time") == [{"datetime": "2025-03-14T09:26:53+00:00"}]
    assert "09:26 UTC, 14 Mar 2025" in tags.words
    buttons = tags.all("button")
    assert [b["value"] for b in buttons] == ["I'm safe", "I need help"]
    assert all(b["type"] == "submit" and b["name"] == "answer" for b in buttons)
    assert tags.all("form") == [{"method": "post", "class": "answers", "aria-labelledby": "answer-heading"}]
    assert {"type": "hidden", "name": "check", "value": "c0ffee"} in tags.all("input")
    assert "EXERCISE" not in page
    assert "severity-critical" in page
    assert tags.all("link") == [{"rel": "stylesheet", "href": "/static/ack.css"}]


def test_no_script_no_inline_style_no_event_handlers() -> None:
    """The CSP forbids inline style and every script but the reader's-time one (by its hash, see
    test_answer_page_times); the page must not need them."""
    for page in (pages.answer_page(CTX, view(exercise=True, closed=True), check="c", current=None, ask_email=True),
                 pages.error_page(CTX, heading="Link not found", text="No.")):
        tags = Tags(page)
        assert tags.all("script") == [{}] and page.count("<script") == 1 and not tags.all("style")
        for _name, attrs in tags.tags:
            assert "style" not in attrs
            assert not [a for a in attrs if a.startswith("on")]


def test_default_option_asks_to_confirm_reading() -> None:
    page = pages.answer_page(CTX, view(options=("Acknowledge",)), check="c", current=None, ask_email=False)
    tags = Tags(page)
    assert [b["value"] for b in tags.all("button")] == ["Acknowledge"]
    assert "Please confirm you have read this" in tags.words


def test_exercise_banner_and_title() -> None:
    page = pages.answer_page(CTX, view(exercise=True), check="c", current=None, ask_email=False)
    tags = Tags(page)
    assert "EXERCISE This is a drill, not a real emergency." in tags.words
    assert "<title>[EXERCISE] Fire in building B" in page


def test_title_and_options_are_escaped() -> None:
    page = pages.answer_page(CTX, view(title='<b onclick="x()">T</b>', options=('"><script>x()</script>',)),
                             check="c", current=None, ask_email=False)
    assert "<script>x()" not in page and page.count("<script>") == 1 and "<b onclick" not in page
    assert [b["value"] for b in Tags(page).all("button")] == ['"><script>x()</script>']


def test_current_answer_is_shown_and_marked() -> None:
    current = RecipientView(id=1, broadcast_id=7, answer="I need help", answered_at=WHEN)
    page = pages.answer_page(CTX, view(), check="c", current=current, ask_email=False)
    tags = Tags(page)
    assert "You answered “I need help” at 09:26 UTC, 14 Mar 2025." in tags.words
    assert [b["class"] for b in tags.all("button")] == ["answer", "answer chosen"]


def test_closed_broadcast_warns_that_answers_are_late() -> None:
    page = pages.answer_page(CTX, view(closed=True), check="c", current=None, ask_email=False)
    assert "your answer will be marked as late" in Tags(page).words


def test_group_page_asks_for_a_labelled_work_email() -> None:
    page = pages.answer_page(CTX, view(), check="c", current=None, ask_email=True)
    tags = Tags(page)
    email = [i for i in tags.all("input") if i.get("name") == "email"]
    assert email and email[0]["type"] == "email" and "required" in email[0]
    assert {"for": "email"} in tags.all("label")


def test_confirmation_states_answer_time_and_change() -> None:
    outcome = Outcome(recipient_id=1, broadcast_id=7, answer="I'm safe", previous="I need help",
                      answered_at=WHEN, late=True, audit_seq=9)
    page = pages.confirmation_page(CTX, view(), outcome, back_url="/a/tok")
    words = Tags(page).words
    assert "Answer recorded" in words and "Your answer: I'm safe" in words
    assert "Recorded at 09:26:53 UTC, 14 Mar 2025." in words
    assert "This replaces the earlier answer “I need help”." in words
    assert "marked as late" in words
    assert {"href": "/a/tok"} in Tags(page).all("a")


def test_confirmation_for_a_group_answer_names_the_address() -> None:
    outcome = Outcome(1, 7, "I'm safe", None, WHEN, False, 3)
    words = Tags(pages.confirmation_page(CTX, view(), outcome, back_url="/g/x", email="ann@example.org")).words
    assert "for ann@example.org" in words and "replaces" not in words and "late" not in words


def test_links_follow_the_script_name_behind_a_proxy() -> None:
    page = pages.error_page(pages.PageContext(org="Acme", root="/acks"), heading="H", text="T", back_url="/acks/a/x")
    assert {"rel": "stylesheet", "href": "/acks/static/ack.css"} in Tags(page).all("link")


def test_stylesheet_is_phone_ready_and_self_contained() -> None:
    css = pages.stylesheet().decode()
    assert "@import" not in css and "url(" not in css  # nothing the CSP would block
    assert ".severity-critical" in css.replace("body.", ".") and "button.answer" in css
    assert re.search(r"min-height:\s*3\.5rem", css)  # large touch targets


def test_templates_fail_loudly_on_a_missing_value() -> None:
    with pytest.raises(KeyError, match="template notice: no value for text"):
        pages.render("notice", kind="info")
