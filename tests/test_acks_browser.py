"""The answer page in a real headless Chromium: a link from a real email, scanners, JavaScript off, a phone."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import requests
from sqlalchemy import func, select

from console.acks.recorder import AUDIT_ACTION
from console.acks.server import AckServer
from console.bench.acks import Seeded, seed_broadcast
from console.mailsink import MailSink
from console.models import AuditEntry, Delivery, Recipient
from console.storage import Database, open_database

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page

    from tests.conftest import CliRunner

pytestmark = pytest.mark.slow


@pytest.fixture
def served(db_url: str) -> Iterator[tuple[Database, Seeded, AckServer]]:
    db = open_database(db_url)
    seeded = seed_broadcast(db, 2, group_post=True, body="Use the **north** stairs. [Map](https://maps.example.org)")
    with AckServer(db) as server:
        yield db, seeded, server
    db.dispose()


def recorded(db: Database) -> tuple[int, int]:
    """(recipients with an answer, answer entries in the audit log)."""
    with db.read() as session:
        answered = session.scalar(select(func.count()).where(Recipient.answer.is_not(None))) or 0
        entries = session.scalar(select(func.count()).where(AuditEntry.action == AUDIT_ACTION)) or 0
    return answered, entries


def csp_complaints(page: Page) -> list[str]:
    found: list[str] = []

    def note(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or message.type == "error":
            found.append(message.text)

    page.on("console", note)
    return found


def test_a_link_from_a_real_email_answers_in_chromium(cli: CliRunner, db_url: str, mail_sink: MailSink,
                                                     page: Page, tmp_path: Path) -> None:
    people = tmp_path / "people.csv"
    people.write_text("name,email,phone,groups\nAnn Example,ann@example.org,,Leeds\n", encoding="utf-8")
    assert cli("contacts", "import", people, db=db_url).returncode == 0
    mail_url = f"mailto://127.0.0.1:{mail_sink.port}?from=alerts@example.org&to={{address}}&mode=insecure"
    assert cli("channels", "add", "--name", "Mail", "--kind", "email", "--url", mail_url, db=db_url).returncode == 0
    assert cli("settings", "set", "org.name", "Acme Rail", db=db_url).returncode == 0
    db = open_database(db_url)
    try:
        with AckServer(db) as server:
            assert cli("settings", "set", "ack.public_url", server.url, db=db_url).returncode == 0
            sent = cli("send", "--group", "all", "--title", "Flood at the depot", "--body", "Go home **now**.",
                       "--safety-check", "--severity", "critical", "--wait", "--json", db=db_url)
            assert sent.returncode == 0, sent.stderr
            broadcast_id = json.loads(sent.stdout)["broadcast_id"]
            [mail] = mail_sink.wait_for(1, timeout=60)
            assert mail.rcpt_tos == ("ann@example.org",)
            found = re.search(re.escape(server.url) + r"/a/[A-Za-z0-9_-]{32}", mail.text)
            assert found, mail.text
            complaints = csp_complaints(page)
            page.goto(found.group(0))
            assert page.title() == "Flood at the depot · Acme Rail"
            assert page.get_by_role("heading", name="Flood at the depot").is_visible()
            assert page.locator(".body strong").inner_text() == "now"
            page.get_by_role("button", name="I'm safe").click()
            page.get_by_role("heading", name="Answer recorded").wait_for()
            assert "Your answer: I'm safe" in page.locator("main").inner_text()
            assert complaints == []
        status = cli("status", str(broadcast_id), "--json", db=db_url)
        assert status.returncode == 0, status.stderr
        result = json.loads(status.stdout)
        assert result["answers"] == {"I'm safe": 1, "I need help": 0} and result["acknowledged"] == 1
    finally:
        db.dispose()


def test_scanners_and_prefetch_record_nothing(served: tuple[Database, Seeded, AckServer], browser: Browser) -> None:
    """What mail security scanners do to every link: GET, HEAD, and a script-running visit without a click."""
    db, seeded, server = served
    link = f"{server.url}/a/{next(iter(seeded.tokens.values()))}"
    assert requests.get(link, timeout=10).status_code == 200
    assert requests.head(link, timeout=10).status_code == 200
    context = browser.new_context(java_script_enabled=True)
    try:
        visit = context.new_page()
        visit.goto(link, wait_until="networkidle")
        visit.get_by_role("button", name="I need help").hover()  # a scanner moving over the buttons
        visit.wait_for_load_state("networkidle")
        assert context.request.get(link).status == 200  # a prefetch of the link itself
        group = context.new_page()
        group.goto(f"{server.url}/g/{seeded.group_token}", wait_until="networkidle")
    finally:
        context.close()
    assert recorded(db) == (0, 0)


def test_answers_with_javascript_off_on_a_phone_sized_screen(served: tuple[Database, Seeded, AckServer],
                                                            browser: Browser) -> None:
    db, seeded, server = served
    context = browser.new_context(java_script_enabled=False, viewport={"width": 360, "height": 740},
                                  device_scale_factor=2, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        complaints = csp_complaints(page)
        page.goto(f"{server.url}/a/{next(iter(seeded.tokens.values()))}")
        card = page.locator("main").bounding_box()
        assert card is not None and card["x"] >= 0 and card["x"] + card["width"] <= 360  # no sideways scrolling
        for name in ("I'm safe", "I need help"):
            box = page.get_by_role("button", name=name).bounding_box()
            assert box is not None and box["height"] >= 44 and box["width"] >= 280  # thumb-sized, full width
        assert page.locator(".org").inner_text() == "Crisis Console"
        page.get_by_role("button", name="I need help").tap()
        page.get_by_role("heading", name="Answer recorded").wait_for()
        again = page.get_by_role("link", name="Change my answer")
        again.click()
        assert "You answered “I need help”" in page.locator("main").inner_text()
        assert complaints == []
    finally:
        context.close()
    assert recorded(db) == (1, 1)


def test_a_group_link_answer_in_the_browser(served: tuple[Database, Seeded, AckServer], browser: Browser,
                                           tmp_path: Path) -> None:
    db, seeded, server = served
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        complaints = csp_complaints(page)
        page.goto(f"{server.url}/g/{seeded.group_token}")
        page.get_by_label("Your work email address").fill("person1@example.org")
        page.get_by_role("button", name="I'm safe").click()
        page.get_by_role("heading", name="Thank you").wait_for()
        member = page.locator("main").inner_text()
        assert "self-report" in member and "person1" not in member
        page.screenshot(path=str(tmp_path / "self-report.png"), full_page=True)
        page.get_by_label("Your work email address").fill("person1@example.org")
        page.get_by_role("button", name="Email me my personal link").click()
        page.get_by_role("heading", name="Check your email").wait_for()
        page.get_by_role("link", name="Back to the message").click()
        page.get_by_label("Your work email address").fill("stranger@example.org")
        page.get_by_role("button", name="I need help").click()
        page.get_by_role("heading", name="Thank you").wait_for()
        assert page.locator("main").inner_text().replace("I need help", "I'm safe") == member  # no hint
        assert complaints == []
    finally:
        context.close()
    with db.read() as session:
        assert dict(session.execute(select(Recipient.email, Recipient.answer)).all()) == {
            "person0@example.org": None, "person1@example.org": "I'm safe"}
        assert session.scalar(select(func.count()).where(Delivery.reminder.is_(True))) == 1  # person1's link
