"""`channels add|list`: validated through Apprise, stored sealed, shown masked, key kept outside."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from cryptography.fernet import Fernet

if TYPE_CHECKING:
    from tests.conftest import CliRunner

PASSWORD = "Sup3r-S3cret-Passw0rd"
TOKEN = "xoxb-9f8e7d6c5b4a39281706"
MAIL_URL = f"mailtos://alerts:{PASSWORD}@smtp.example.org?from=alerts@example.org&to={{address}}"
HOOK_URL = f"json://hook:{TOKEN}@hooks.example.org/post"


def _add(cli: CliRunner, db: str, name: str, kind: str, url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return cli("channels", "add", "--name", name, "--kind", kind, "--url", url, *extra, db=db)


def test_add_and_list_masked(cli: CliRunner, db_url: str) -> None:
    assert _add(cli, db_url, "Corp mail", "email", MAIL_URL).returncode == 0
    out = cli("channels", "list", "--json", db=db_url)
    assert out.returncode == 0, out.stderr
    (row,) = json.loads(out.stdout)
    assert {k: row[k] for k in ("id", "name", "kind", "group")} == {"id": 1, "name": "Corp mail", "kind": "email",
                                                                    "group": None}
    assert row["url"].startswith("mailtos://") and "{address}" in row["url"]
    assert PASSWORD not in out.stdout
    plain = cli("channels", "list", db=db_url).stdout
    assert PASSWORD not in plain and "Corp mail" in plain


def test_group_channel_belongs_to_its_group(cli: CliRunner, sqlite_url: str, tmp_path: Path) -> None:
    csv = tmp_path / "s.csv"
    csv.write_text("name,email,groups\nAnn,ann@example.org,Ops\n", encoding="utf-8")
    assert cli("contacts", "import", str(csv), db=sqlite_url).returncode == 0
    assert _add(cli, sqlite_url, "Ops room", "group", HOOK_URL, "--group", "Ops").returncode == 0
    groups = {g["name"]: g for g in json.loads(cli("groups", "list", "--json", db=sqlite_url).stdout)}
    assert groups["Ops"]["channels"] == ["Ops room"]
    (row,) = json.loads(cli("channels", "list", "--json", db=sqlite_url).stdout)
    assert row["group"] == "Ops" and TOKEN not in row["url"]


@pytest.mark.parametrize(("kind", "url", "extra", "needle"), [
    ("email", "nosuchscheme://host/{address}", [], "--url"),
    ("email", "mailto://smtp.example.org?from=a@example.org", [], "{address}"),
    ("group", "json://hooks.example.org/{address}", ["--group", "all"], "{address}"),
    ("group", HOOK_URL, [], "--group"),
    ("group", HOOK_URL, ["--group", "Nobody"], "--group: no group named 'Nobody'"),
    ("email", MAIL_URL, ["--group", "all"], "--group"),
])
def test_bad_channels_are_refused_and_nothing_stored(cli: CliRunner, sqlite_url: str, kind: str, url: str,
                                                     extra: list[str], needle: str) -> None:
    out = _add(cli, sqlite_url, "Bad", kind, url, *extra)
    assert out.returncode == 2, out.stderr
    assert needle in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert PASSWORD not in out.stderr and TOKEN not in out.stderr
    assert json.loads(cli("channels", "list", "--json", db=sqlite_url).stdout) == []


def test_duplicate_name_refused(cli: CliRunner, sqlite_url: str) -> None:
    assert _add(cli, sqlite_url, "Mail", "email", MAIL_URL).returncode == 0
    out = _add(cli, sqlite_url, "Mail", "email", MAIL_URL)
    assert out.returncode == 2 and "already exists" in out.stderr


def test_no_secret_in_database_file_or_audit_export(cli: CliRunner, sqlite_url: str, tmp_path: Path) -> None:
    assert _add(cli, sqlite_url, "Corp mail", "email", MAIL_URL).returncode == 0
    assert _add(cli, sqlite_url, "Hook", "group", HOOK_URL, "--group", "all").returncode == 0
    db_files = list(tmp_path.glob("console.db*"))
    assert db_files
    for f in db_files:
        data = f.read_bytes()
        assert PASSWORD.encode() not in data and TOKEN.encode() not in data, f
    for fmt in ("csv", "json"):
        out = cli("audit", "export", "--format", fmt, db=sqlite_url)
        assert out.returncode == 0
        assert "channels.add" in out.stdout
        assert PASSWORD not in out.stdout and TOKEN not in out.stdout


def test_wrong_key_is_reported_clearly(cli: CliRunner, sqlite_url: str) -> None:
    assert _add(cli, sqlite_url, "Corp mail", "email", MAIL_URL).returncode == 0
    other = Fernet.generate_key().decode()
    out = cli("channels", "add", "--name", "Second", "--kind", "email", "--url", MAIL_URL,
              db=sqlite_url, env={"CRISIS_CONSOLE_KEY": other})
    assert out.returncode == 1
    assert "wrong secret key" in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_key_file_created_private_when_no_env_key(cli: CliRunner, sqlite_url: str, tmp_path: Path) -> None:
    config = tmp_path / "config"
    env = {"CRISIS_CONSOLE_KEY": None, "XDG_CONFIG_HOME": str(config)}
    out = cli("channels", "add", "--name", "Mail", "--kind", "email", "--url", MAIL_URL, db=sqlite_url, env=env)
    assert out.returncode == 0, out.stderr
    key_file = config / "crisis-console" / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    Fernet(key_file.read_bytes().strip())  # a valid key
    # the same key file opens it again; the test key (env) does not
    assert cli("channels", "add", "--name", "Mail 2", "--kind", "email", "--url", MAIL_URL, db=sqlite_url,
               env=env).returncode == 0
    wrong = cli("channels", "add", "--name", "Mail 3", "--kind", "email", "--url", MAIL_URL, db=sqlite_url)
    assert wrong.returncode == 1 and "wrong secret key" in wrong.stderr
