"""Shared fixtures: real servers on loopback, isolated user dirs, the CLI in a subprocess.

Where a server cannot be run here (binaries missing), a test is skipped on a developer's
machine but FAILS in CI (``CI=true``): in CI nothing may be skipped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, Protocol, TypeVar

import pytest

from console.mailsink import MailSink
from console.storage import Database, open_database
from tests.helpers import ComponentMissing
from tests.helpers.browser import chromium_path, launch_chromium
from tests.helpers.postgres import PostgresServer
from tests.helpers.synapse import SynapseServer, ensure_synapse_venv

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

T = TypeVar("T")
REPO_ROOT = Path(__file__).resolve().parent.parent
# A fixed Fernet key, for tests only: secrets encrypted in one test run stay readable.
TEST_FERNET_KEY = "MhDojoJwHQ93WFvxXF6KlZGUR6bfpaetv8PDqd3F7-M="

# Set at import, before any Qt or platformdirs code runs, so no test (and no CLI
# subprocess, which inherits the environment) touches the real home or needs a screen.
_SESSION_DIR = Path(tempfile.mkdtemp(prefix="crisis-tests-"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["QTWEBENGINE_DISABLE_SANDBOX"] = "1"
os.environ["CRISIS_CONSOLE_KEY"] = TEST_FERNET_KEY
os.environ.pop("CRISIS_CONSOLE_DB", None)  # never a developer's own database
for _var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME"):
    (_SESSION_DIR / _var.lower()).mkdir()
    os.environ[_var] = str(_SESSION_DIR / _var.lower())


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(_SESSION_DIR, ignore_errors=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that use the PostgreSQL server get the ``postgres`` marker, for ``-m``."""
    for item in items:
        if "postgres_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)


def unavailable(reason: str) -> NoReturn:
    """Skip for a missing component, except in CI where that is a failure."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}\n(CI=true: a missing test component is a failure, not a skip)",
                    pytrace=False)
    pytest.skip(reason)


def require(component: Callable[[], T]) -> T:
    """Call ``component``; a ComponentMissing it raises becomes ``unavailable``."""
    try:
        return component()
    except ComponentMissing as exc:
        reason = str(exc)
    unavailable(reason)  # outside the except: no "during handling" noise in CI


# --- databases ----------------------------------------------------------------------

@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the whole session; each test gets its own database."""
    server = require(PostgresServer().start)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(postgres_server: PostgresServer) -> Iterator[str]:
    """SQLAlchemy URL of a fresh, empty PostgreSQL database (dropped afterwards)."""
    name = f"t_{uuid.uuid4().hex[:20]}"
    url = postgres_server.create_database(name)
    yield url
    postgres_server.drop_database(name)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """SQLAlchemy URL of a SQLite file that does not exist yet."""
    return f"sqlite:///{tmp_path / 'console.db'}"


@pytest.fixture(params=[pytest.param("sqlite", id="sqlite"),
                        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """Runs the test once on SQLite and once on PostgreSQL."""
    return str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))


# --- desktop tests ------------------------------------------------------------------

@pytest.fixture
def isolated_qsettings(tmp_path: Path) -> Path:
    """QSettings of the test's own, so no window state leaks between tests or from the user."""
    from tests.helpers.gui import isolate_qsettings

    return isolate_qsettings(tmp_path / "qsettings")


@pytest.fixture
def sqlite_db(sqlite_url: str) -> Iterator[Database]:
    """An opened (migrated) empty SQLite database, disposed after the test."""
    database = open_database(sqlite_url)
    yield database
    database.dispose()


# --- mail, chat, browser ------------------------------------------------------------

@pytest.fixture
def mail_sink() -> Iterator[MailSink]:
    """A started SMTP sink on 127.0.0.1 (``mail_sink.port``); stopped after the test."""
    with MailSink() as sink:
        yield sink


@pytest.fixture(scope="session")
def synapse() -> Iterator[SynapseServer]:
    """A Matrix homeserver (server name ``localhost``) for the session.

    Users persist across tests: register unique names.
    """
    require(ensure_synapse_venv)
    with SynapseServer() as server:
        yield server


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Debian chromium through Playwright, shared by the session."""
    require(chromium_path)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = launch_chromium(playwright)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page in its own browser context: no cookies or storage leak between tests."""
    context = browser.new_context()
    try:
        yield context.new_page()
    finally:
        context.close()


# --- the command line ---------------------------------------------------------------

class CliRunner(Protocol):
    def __call__(self, *args: str | os.PathLike[str], db: str | None = None,
                 input: str | None = None,
                 env: Mapping[str, str | None] | None = None,
                 ) -> subprocess.CompletedProcess[str]: ...


@pytest.fixture
def cli() -> CliRunner:
    """Run ``python -m console [--db DB] ARGS`` in a subprocess, as a user would.

    ``env`` adds to (or, with ``None`` values, removes from) the test environment.
    Without ``input`` stdin is empty, so a prompt fails instead of hanging.
    """
    def run(*args: str | os.PathLike[str], db: str | None = None, input: str | None = None,
            env: Mapping[str, str | None] | None = None) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "console"]
        if db is not None:
            cmd += ["--db", db]
        cmd += [os.fspath(arg) for arg in args]
        child_env = dict(os.environ)
        for key, value in (env or {}).items():
            if value is None:
                child_env.pop(key, None)
            else:
                child_env[key] = value
        # The code under test, even when the package is not installed.
        child_env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO_ROOT), child_env.get("PYTHONPATH")) if p)
        return subprocess.run(
            cmd, input=input, stdin=subprocess.DEVNULL if input is None else None,
            env=child_env, capture_output=True, text=True, timeout=120)

    return run
