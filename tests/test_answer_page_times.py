"""Times on the answer page: the organisation's zone (setting org.timezone) in the page itself,
the reader's own added by the page's one script (allowed by its hash), nothing lost without it."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest
import requests

from console.acks import pages
from console.acks.http import CSP
from console.acks.lookup import BroadcastView, RecipientView
from console.acks.richtext import markdown_to_html
from console.acks.server import AckServer
from console.bench.acks import Seeded, seed_broadcast
from console.services import settings
from console.storage import Database, open_database
from console.vocabulary import AnswerSource

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage

    from tests.conftest import CliRunner

WINTER = dt.datetime(2025, 1, 14, 9, 26, 53, tzinfo=dt.UTC)
SUMMER = dt.datetime(2025, 7, 14, 9, 26, 53, tzinfo=dt.UTC)
_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)
_TIME = re.compile(r'<time datetime="([^"]+)">([^<]+)</time>')


def view(created_at: dt.datetime) -> BroadcastView:
    return BroadcastView(id=7, kind="alert", title="Fire in building B", body_html=markdown_to_html("Leave now."),
                         severity="critical", options=("I'm safe", "I need help"), exercise=False,
                         created_at=created_at, closed=False)


@pytest.mark.parametrize(("zone", "when", "expected"), [
    ("UTC", WINTER, "09:26 UTC, 14 Jan 2025"),
    ("Europe/London", WINTER, "09:26 GMT, 14 Jan 2025"),
    ("Europe/London", SUMMER, "10:26 BST, 14 Jul 2025"),
    ("Asia/Tokyo", WINTER, "18:26 JST, 14 Jan 2025"),
    ("America/New_York", WINTER, "04:26 EST, 14 Jan 2025"),
    ("America/Sao_Paulo", WINTER, "06:26 UTC-03, 14 Jan 2025"),  # a zone without a letter abbreviation
    ("Pacific/Kiritimati", SUMMER, "23:26 UTC+14, 14 Jul 2025"),  # the date changes too
])
def test_the_page_writes_times_in_the_organisations_zone(zone: str, when: dt.datetime, expected: str) -> None:
    page = pages.answer_page(pages.PageContext(org="Acme", timezone=zone), view(when), check="c", current=None,
                             ask_email=False)
    assert _TIME.findall(page) == [(when.isoformat(timespec="seconds"), expected)]  # the instant stays UTC
    assert f'data-zone="{zone}"' in page


def test_the_you_answered_notice_and_the_confirmation_carry_times_too() -> None:
    ctx = pages.PageContext(org="Acme", timezone="Europe/Berlin")
    current = RecipientView(id=1, broadcast_id=7, answer="I'm safe", answered_at=SUMMER, source=AnswerSource.PERSONAL)
    page = pages.answer_page(ctx, view(WINTER), check="c", current=current, ask_email=False)
    assert ("2025-07-14T09:26:53+00:00", "11:26 CEST, 14 Jul 2025") in _TIME.findall(page)
    assert "You answered “I&#x27;m safe” at <time" in page  # the answer escaped, the time an element


def test_the_one_script_is_the_one_the_csp_allows() -> None:
    page = pages.error_page(pages.PageContext(org="Acme"), heading="Link not found", text="No.")
    (script,) = _SCRIPT.findall(page)
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    assert f"script-src 'sha256-{digest}';" in CSP
    assert "'unsafe-inline'" not in CSP and "default-src 'none'" in CSP


def test_org_timezone_is_checked_when_set(cli: CliRunner, sqlite_url: str) -> None:
    out = cli("settings", "set", "org.timezone", "Mars/Olympus_Mons", db=sqlite_url)
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1
    assert "org.timezone" in out.stderr and "Europe/London" in out.stderr
    assert cli("settings", "set", "org.timezone", "Europe/Lisbon", db=sqlite_url).returncode == 0


# --- a real server, plain HTTP and Chromium -------------------------------------------

@pytest.fixture
def served(sqlite_url: str) -> Iterator[tuple[Seeded, AckServer]]:
    db: Database = open_database(sqlite_url)
    settings.set_value(db, "org.timezone", "Asia/Tokyo", "tester")
    seeded = seed_broadcast(db, 1)
    with AckServer(db) as server:
        yield seeded, server
    db.dispose()


def link_of(seeded: Seeded, server: AckServer) -> str:
    return f"{server.url}/a/{next(iter(seeded.tokens.values()))}"


def test_a_served_page_shows_the_organisations_time_without_script(served: tuple[Seeded, AckServer]) -> None:
    seeded, server = served
    reply = requests.get(link_of(seeded, server), timeout=10)
    assert reply.status_code == 200
    [(instant, text)] = _TIME.findall(reply.text)
    tokyo = dt.datetime.fromisoformat(instant).astimezone(ZoneInfo("Asia/Tokyo"))
    assert text == f"{tokyo:%H:%M} JST, {tokyo.day} {tokyo:%b %Y}"
    (script,) = _SCRIPT.findall(reply.text)
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    assert f"'sha256-{digest}'" in reply.headers["Content-Security-Policy"]


@pytest.mark.slow
@pytest.mark.parametrize(("reader_zone", "javascript", "added"), [
    ("America/New_York", True, True),
    ("Asia/Tokyo", True, False),  # the reader is in the organisation's zone: nothing to add
    ("America/New_York", False, False),  # no script: the organisation's time alone, page complete
])
def test_the_readers_own_time_in_chromium(served: tuple[Seeded, AckServer], browser: Browser, reader_zone: str,
                                          javascript: bool, added: bool) -> None:
    seeded, server = served
    context = browser.new_context(timezone_id=reader_zone, locale="en-GB", java_script_enabled=javascript)
    try:
        page = context.new_page()
        complaints: list[str] = []

        def note(message: ConsoleMessage) -> None:
            if "Content Security Policy" in message.text or message.type == "error":
                complaints.append(message.text)

        page.on("console", note)
        page.goto(link_of(seeded, server), wait_until="load")
        meta = page.locator(".meta").inner_text()
        assert "JST" in meta
        reader = page.locator(".reader-time")
        if added:
            reader.wait_for()
            instant = dt.datetime.fromisoformat(str(page.locator("time").get_attribute("datetime")))
            there = instant.astimezone(ZoneInfo(reader_zone))
            text = reader.inner_text()
            assert "your time" in text and f"{there:%H:%M}" in text, text
            assert re.search(r"GMT-[45]|EST|EDT", text), text
        else:
            assert reader.count() == 0
        page.get_by_role("button", name="I'm safe").click()
        page.get_by_role("heading", name="Answer recorded").wait_for()
        assert "JST" in page.locator(".confirmation").inner_text()
        assert (page.locator(".reader-time").count() == 1) is added  # the confirmation's time as well
        assert complaints == []
    finally:
        context.close()
