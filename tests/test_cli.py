"""Command-line conventions: --help everywhere, --db anywhere, one-line errors with exit 2."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from console.cli import build_parser

if TYPE_CHECKING:
    from tests.conftest import CliRunner


def _all_commands() -> list[list[str]]:
    found: list[list[str]] = []

    def walk(parser: argparse.ArgumentParser, path: list[str]) -> None:
        found.append(path)
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    walk(child, [*path, name])

    walk(build_parser(), [])
    return found


@pytest.mark.parametrize("command", _all_commands(), ids=lambda c: " ".join(c) or "top")
def test_help_on_every_command(cli: CliRunner, command: list[str]) -> None:
    out = cli(*command, "--help")
    assert out.returncode == 0, out.stderr
    assert "usage: crisis-console" in out.stdout


def test_db_accepted_before_or_after_the_subcommand(cli: CliRunner, tmp_path: Path) -> None:
    a, b = f"sqlite:///{tmp_path}/a.db", f"sqlite:///{tmp_path}/b.db"
    before = cli("--db", a, "settings", "set", "org.name", "Acme Before")
    after = cli("settings", "set", "org.name", "Acme After", "--db", b)
    assert before.returncode == after.returncode == 0
    assert json.loads(cli("settings", "list", "--json", db=a).stdout)["org.name"] == "Acme Before"
    assert json.loads(cli("settings", "list", "--json", db=b).stdout)["org.name"] == "Acme After"


def test_db_from_environment(cli: CliRunner, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/env.db"
    assert cli("settings", "set", "org.name", "Env Org", env={"CRISIS_CONSOLE_DB": url}).returncode == 0
    assert json.loads(cli("settings", "list", "--json", db=url).stdout)["org.name"] == "Env Org"


@pytest.mark.parametrize(("args", "needle"), [
    (["settings", "set", "org.nope", "x"], "unknown setting 'org.nope'"),
    (["settings", "set", "ack.public_url", "ftp://x"], "ack.public_url"),
    (["settings", "set", "ack.port", "99999"], "ack.port"),
    (["contacts", "frobnicate"], "invalid choice"),
    (["channels", "add", "--name", "x"], "required"),
    (["audit", "export", "--format", "xml"], "invalid choice"),
])
def test_user_mistakes_are_one_line_exit_2(cli: CliRunner, sqlite_url: str, args: list[str], needle: str) -> None:
    out = cli(*args, db=sqlite_url)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], out.stderr
    assert lines[0].startswith("crisis-console")


def test_bad_db_url_is_one_line_exit_2(cli: CliRunner) -> None:
    out = cli("contacts", "list", db="mysql://nowhere/x")
    assert out.returncode == 2
    assert out.stderr.strip() == "crisis-console: error: --db: unsupported database 'mysql' (use sqlite:/// or postgresql://)"


def test_settings_set_is_audited(cli: CliRunner, db_url: str) -> None:
    assert cli("settings", "set", "ack.public_url", "http://alerts.example.org:8080/", db=db_url,
               env={"USER": "ignored"}).returncode == 0
    assert cli("settings", "set", "org.name", "Acme", "--actor", "alice", db=db_url).returncode == 0
    entries = json.loads(cli("audit", "export", "--format", "json", db=db_url).stdout)["entries"]
    assert [(e["action"], e["subject"]) for e in entries] == [("settings.set", "ack.public_url"),
                                                              ("settings.set", "org.name")]
    assert entries[0]["details"]["new"] == "http://alerts.example.org:8080"
    assert entries[1]["actor"] == "alice"
