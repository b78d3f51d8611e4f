"""Secrets stay sealed end to end: the real CLI, a real HTTP endpoint, the audit export, the file.

Channels with passwords, custom headers, GET parameters and payload entries are added,
listed and used for a broadcast sent with ``send --wait`` to an http.server on loopback;
the secret values reach that server, and appear nowhere else: not on stdout or stderr,
not in the audit export, not in the database file.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from channels import validate_channel_url
from tests.helpers.webhook import Webhook
from tests.test_secret_masking import CUSTOM, CUSTOM_SECRETS, HOOK, P1, P2, P3, P4, USER, hook, leaks

if TYPE_CHECKING:
    from tests.conftest import CliRunner

__all__ = ["hook"]  # the fixture, shared with test_secret_masking

SECRETS = (*CUSTOM_SECRETS, HOOK)


def _ok(out: subprocess.CompletedProcess[str]) -> str:
    assert out.returncode == 0, out.stderr
    return str(out.stdout) + str(out.stderr)


def _db_file(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def _text_columns(url: str) -> list[str]:
    with sqlite3.connect(_db_file(url)) as conn:
        rows = conn.execute("SELECT url_masked FROM channels").fetchall()
        rows += conn.execute("SELECT details FROM audit_log").fetchall()
        rows += conn.execute("SELECT last_error FROM deliveries WHERE last_error IS NOT NULL").fetchall()
    return [str(r[0]) for r in rows]


def _stored(url: str) -> dict[str, str]:
    with sqlite3.connect(_db_file(url)) as conn:
        return dict(conn.execute("SELECT name, url_masked FROM channels").fetchall())


@pytest.fixture
def directory(cli: CliRunner, sqlite_url: str, tmp_path: Path) -> Iterator[str]:
    csv = tmp_path / "staff.csv"
    csv.write_text("name,email,phone,groups\nAnn,ann@example.org,+447700900001,Ops\n"
                   "Bob,bob@example.org,+447700900002,Ops\n", encoding="utf-8")
    _ok(cli("contacts", "import", str(csv), db=sqlite_url))
    for key, value in (("ack.public_url", "http://ack.test:8080"), ("org.name", "Acme Ltd"),
                       ("dispatch.retry_base_seconds", "0.2"), ("dispatch.max_attempts", "1")):
        _ok(cli("settings", "set", key, value, db=sqlite_url))
    yield sqlite_url


def test_secrets_appear_nowhere_but_at_the_endpoint(
        cli: CliRunner, directory: str, hook: Webhook) -> None:
    db, port = directory, hook.server_address[1]
    channels = [
        ("Texts", "sms", f"json://{USER}:{P1}@127.0.0.1:{port}/sms/{{address}}{CUSTOM}", []),
        ("Ops form", "group", f"form://{USER}:{P1}@127.0.0.1:{port}/fail/{HOOK}?+X-Token={P2}&:apikey={P3}",
         ["--group", "Ops"]),
        ("Ops xml", "group", f"xml://127.0.0.1:{port}/ok?+Cookie=session%3D{P4}&:token={P3}&-key={P2}",
         ["--group", "Ops"]),
    ]
    seen = []
    for name, kind, url, extra in channels:
        seen.append(_ok(cli("channels", "add", "--name", name, "--kind", kind, "--url", url, *extra, db=db)))
    listed = _ok(cli("channels", "list", db=db))
    listed_json = cli("channels", "list", "--json", db=db)
    seen += [listed, _ok(listed_json)]
    rows = {r["name"]: r for r in json.loads(listed_json.stdout)}
    assert "%2BX-Api-Key=****" in rows["Texts"]["url"] and "/sms/{address}" in rows["Texts"]["url"]
    assert "%2BCookie=****" in rows["Ops xml"]["url"]

    sent = cli("send", "--title", "Drill", "--body", "Leave by the **nearest** exit.", "--group", "Ops",
               "--wait", "--json", "--exercise", db=db)
    assert sent.returncode == 1, sent.stderr  # the form:// endpoint answers 500: that channel failed
    seen.append(sent.stdout + sent.stderr)
    status = cli("status", str(json.loads(sent.stdout)["broadcast_id"]), "--failures", db=db)
    seen.append(_ok(status))

    # the secrets were really used: they reached the endpoint
    by_path = {r["path"].split("?")[0].rsplit("/", 1)[0]: r for r in hook.requests}
    assert by_path["/sms"]["headers"]["X-Api-Key"] == P2 and json.loads(by_path["/sms"]["body"])["token"] == P4
    assert by_path["/fail"]["headers"]["X-Token"] == P2
    assert hook.requests and all(r["headers"].get("Cookie") == f"session={P4}" for r in hook.requests
                                 if r["path"].startswith("/ok"))

    export = _ok(cli("audit", "export", "--format", "json", db=db))
    entries = json.loads(export)["entries"]
    targets = [e["details"]["target"] for e in entries if e["action"].startswith("delivery.")]
    errors = [e["details"]["error"] for e in entries if e["action"] == "delivery.failed"]
    assert len(targets) == 4 and errors and all(errors)
    assert any("/sms/%2B447700900001" in t or "/sms/+447700900001" in t for t in targets)
    seen += [export, _ok(cli("audit", "export", "--format", "csv", db=db))]

    for text in seen + _text_columns(db):
        assert leaks(text, SECRETS) == [], text
    for f in _db_file(db).parent.glob(_db_file(db).name + "*"):
        data = f.read_bytes()
        assert not [s for s in SECRETS if s.encode() in data], f


def test_leaky_stored_forms_are_remasked(cli: CliRunner, directory: str, tmp_path: Path) -> None:
    db = directory
    url = f"json://{USER}:{P1}@127.0.0.1:9/sms/{{address}}{CUSTOM}"
    _ok(cli("channels", "add", "--name", "Texts", "--kind", "sms", "--url", url, db=db))
    _ok(cli("channels", "add", "--name", "Hook", "--kind", "group", "--group", "Ops",
            "--url", f"xml://127.0.0.1:9/in?+Cookie={P4}", db=db))
    # what an older version stored: Apprise's privacy form, custom entries in clear
    leaky = (f"json://{USER}:****@127.0.0.1:9/sms/{{address}}?method=POST&%2BX-Api-Key={P2}"
             f"&-Authorization=Bearer%20{P3}&%3Atoken={P4}")
    with sqlite3.connect(_db_file(db)) as conn:
        conn.execute("UPDATE channels SET url_masked = ? WHERE name = 'Texts'", (leaky,))
        conn.execute("UPDATE channels SET url_masked = ? WHERE name = 'Hook'",
                     (f"xml://127.0.0.1:9/in?%2BCookie={P4}",))

    # without the key (none in the environment, no key file): shown masked, stored text re-masked
    no_key = {"CRISIS_CONSOLE_KEY": None, "XDG_CONFIG_HOME": str(tmp_path / "nokey")}
    out = cli("channels", "list", "--json", db=db, env=no_key)
    assert leaks(_ok(out), SECRETS) == []
    assert not (tmp_path / "nokey").exists()  # listing never makes a key
    stored = _stored(db)
    assert stored["Texts"] == {r["name"]: r["url"] for r in json.loads(out.stdout)}["Texts"]
    assert leaks(" ".join(stored.values()), SECRETS) == []

    # with the key: a still-leaky row is recomputed from the sealed URL, as when it was added
    with sqlite3.connect(_db_file(db)) as conn:
        conn.execute("UPDATE channels SET url_masked = ? WHERE name = 'Texts'", (leaky,))
    listed = cli("channels", "list", db=db)
    assert leaks(_ok(listed), SECRETS) == [] and "Texts" in listed.stdout
    stored = _stored(db)
    assert stored["Texts"] == validate_channel_url("sms", url)
    remasked = [e for e in json.loads(_ok(cli("audit", "export", "--format", "json", db=db)))["entries"]
                if e["action"] == "channels.remask"]
    assert [e["subject"] for e in remasked] == ["Texts", "Hook", "Texts"]
    assert leaks(json.dumps(remasked), SECRETS) == []
    # nothing stale is left: another list writes nothing
    _ok(cli("channels", "list", db=db))
    after = json.loads(_ok(cli("audit", "export", "--format", "json", db=db)))["entries"]
    assert len([e for e in after if e["action"] == "channels.remask"]) == 3
