"""A full disk and a read-only database, on real file systems: one line, exit 1, nothing half-written.

The database lives on a small tmpfs mounted by the test (root only: CI runs as
root; elsewhere `unavailable` skips locally and fails in CI). Root ignores file
modes, so read-only means a read-only mount, or `chattr +i` on the file.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import require
from tests.helpers.mounts import Immutable, Tmpfs

if TYPE_CHECKING:
    from tests.conftest import CliRunner

MAIL_URL = "mailto://127.0.0.1:9?from=alerts@example.org&to={address}"


def error_line(out: subprocess.CompletedProcess[str]) -> str:
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("crisis-console: error: "), out.stderr
    return lines[0]


def people_csv(path: Path, count: int, prefix: str) -> Path:
    path.write_text("name,email,phone,groups\n" + "".join(
        f"{prefix} person number {i} with a longish name,{prefix}.person{i}@example.org,,Team {i % 40}\n"
        for i in range(count)), encoding="utf-8")
    return path


def contents(cli: CliRunner, db: str) -> tuple[int, list[str]]:
    """How many contacts, and the audit actions, read back through the CLI (after `audit verify` passes)."""
    verify = cli("audit", "verify", db=db)
    assert verify.returncode == 0 and verify.stdout.startswith("OK"), verify.stderr
    people = json.loads(cli("contacts", "list", "--json", db=db).stdout)
    audit = json.loads(cli("audit", "export", "--format", "json", db=db).stdout)["entries"]
    return len(people), [e["action"] for e in audit]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Tmpfs]:
    """A 6 MiB tmpfs, unmounted after the test."""
    disk = require(lambda: Tmpfs(tmp_path / "disk", 6 * 1024))
    try:
        yield disk
    finally:
        disk.unmount()


@pytest.fixture
def on_disk(cli: CliRunner, small_disk: Tmpfs, tmp_path: Path) -> str:
    """A database on the small disk with 50 people and a mail channel."""
    db = f"sqlite:///{small_disk.path / 'console.db'}"
    assert cli("contacts", "import", people_csv(tmp_path / "first.csv", 50, "first"), db=db).returncode == 0
    assert cli("channels", "add", "--name", "Mail", "--kind", "email", "--url", MAIL_URL, db=db).returncode == 0
    return db


def test_an_import_that_fills_the_disk_saves_nothing(cli: CliRunner, on_disk: str, small_disk: Tmpfs,
                                                     tmp_path: Path) -> None:
    before = contents(cli, on_disk)
    big = people_csv(tmp_path / "big.csv", 40_000, "big")  # ~3 MB of CSV, more in the database
    filler = small_disk.fill(leave=400 * 1024)  # room to open and start, not to finish
    out = cli("contacts", "import", big, db=on_disk)
    assert out.returncode == 1
    line = error_line(out)
    assert f"the disk holding {small_disk.path / 'console.db'} is full: nothing was saved" in line
    filler.unlink()
    assert contents(cli, on_disk) == before  # no half-written import, the chain whole


def test_a_send_on_a_full_disk_saves_nothing(cli: CliRunner, on_disk: str, small_disk: Tmpfs) -> None:
    before = contents(cli, on_disk)
    filler = small_disk.fill()
    out = cli("send", "--title", "Fire", "--body", "Leave now", "--group", "all", db=on_disk)
    assert out.returncode == 1
    assert f"the disk holding {small_disk.path / 'console.db'} is full" in error_line(out)
    filler.unlink()
    assert contents(cli, on_disk) == before
    assert cli("status", "1", db=on_disk).returncode == 2  # no broadcast was written
    sent = cli("send", "--title", "Fire", "--body", "Leave now", "--group", "all", db=on_disk)
    assert sent.returncode == 0, sent.stderr  # with room again, the same send goes through


def test_a_read_only_file_system(cli: CliRunner, on_disk: str, small_disk: Tmpfs, tmp_path: Path) -> None:
    before = contents(cli, on_disk)
    path = small_disk.path / "console.db"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    small_disk.read_only()
    try:
        for command in (("contacts", "import", people_csv(tmp_path / "more.csv", 10, "more")),
                        ("settings", "set", "org.name", "Acme"), ("status", "1")):
            out = cli(*command, db=on_disk)
            assert out.returncode == 1
            assert f"{path} is read-only (it is on a read-only file system)" in error_line(out)
    finally:
        small_disk.read_only(False)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    assert contents(cli, on_disk) == before


def test_a_read_only_file_refuses_writes_and_still_reads(cli: CliRunner, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'console.db'}"
    assert cli("contacts", "import", people_csv(tmp_path / "first.csv", 5, "first"), db=db).returncode == 0
    path = tmp_path / "console.db"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with require(lambda: Immutable(path)):
        for command in (("contacts", "import", people_csv(tmp_path / "more.csv", 10, "more")),
                        ("settings", "set", "org.name", "Acme")):
            out = cli(*command, db=db)
            assert out.returncode == 1
            assert f"{path} is read-only (the file is not writable): nothing was saved" in error_line(out)
        listed = cli("contacts", "list", "--json", db=db)
        assert listed.returncode == 0, listed.stderr
        assert len(json.loads(listed.stdout)) == 5
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    assert contents(cli, db) == (5, ["contacts.import"])
