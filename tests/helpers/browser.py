"""Debian's chromium driven by Playwright, for tests of the acknowledgement web page.

Playwright's own browser download (``playwright install``) needs the internet and is
never used: the system chromium is launched by path instead.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import ComponentMissing

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Playwright

DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",  # root in CI; the pages under test are our own
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # no calls home: the test machine has no internet
    "--disable-component-update",
    "--disable-sync",
)


def chromium_path() -> str:
    """The chromium binary: env ``CRISIS_CONSOLE_CHROMIUM`` or Debian's."""
    path = os.environ.get("CRISIS_CONSOLE_CHROMIUM") or DEFAULT_CHROMIUM
    if not (Path(path).is_file() and os.access(path, os.X_OK)):
        raise ComponentMissing(
            f"chromium not found at {path}; install the Debian package `chromium` "
            "(never `playwright install`: it downloads browsers)")
    return path


def launch_chromium(playwright: Playwright, **kwargs: Any) -> Browser:
    """Launch headless chromium.

    Each launch gets a fresh, throwaway profile: Playwright's ``launch()`` makes a new
    temporary user-data-dir itself and deletes it on ``close()`` (it refuses a
    ``--user-data-dir`` argument).
    """
    return playwright.chromium.launch(
        executable_path=chromium_path(), args=list(CHROMIUM_ARGS), headless=True, **kwargs)
