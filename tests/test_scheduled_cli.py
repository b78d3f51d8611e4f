"""The command line of follow-through: `send --at/--remind-every/--remind-max/--fallback-channel/
--escalate-after`, `scheduled list|cancel`, and the CSV `manager` column."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING

from tests.test_send import send, status

if TYPE_CHECKING:
    from tests.conftest import CliRunner

CSV = ("name,email,phone,groups,manager\n"
       "Ann Lee,ann@example.org,+442079460958,Leeds,Boss@Example.org\n"
       "Bob Roe,bob@example.org,,Leeds,\n")


def setup(cli: CliRunner, db: str, tmp_path: Path) -> None:
    staff = tmp_path / "staff.csv"
    staff.write_text(CSV, encoding="utf-8")
    assert cli("contacts", "import", str(staff), db=db).returncode == 0
    for name, kind, url in (("Corp mail", "email", "mailto://127.0.0.1:9?from=a@example.org&to={address}"),
                            ("Texts", "sms", "json://127.0.0.1:9/sms/{address}")):
        out = cli("channels", "add", "--name", name, "--kind", kind, "--url", url, db=db)
        assert out.returncode == 0, out.stderr


def test_managers_come_from_the_csv(cli: CliRunner, sqlite_url: str, tmp_path: Path) -> None:
    setup(cli, sqlite_url, tmp_path)
    people = json.loads(cli("contacts", "list", "--json", db=sqlite_url).stdout)
    assert [(p["email"], p["manager"]) for p in people] == [("ann@example.org", "boss@example.org"),
                                                            ("bob@example.org", None)]
    bad = tmp_path / "bad.csv"
    bad.write_text("name,email,manager\nCy Doe,cy@example.org,not-an-email\n", encoding="utf-8")
    out = cli("contacts", "import", str(bad), db=sqlite_url)
    assert out.returncode == 2
    assert out.stderr.strip() == f"{bad}:2: manager 'not-an-email' is not a valid email address"
    assert len(json.loads(cli("contacts", "list", "--json", db=sqlite_url).stdout)) == 2  # nothing written


BAD = [
    (["--remind-every", "5x"], "--remind-every: '5x' is not a duration"),
    (["--remind-every", "0s"], "--remind-every: must be at least 1 second"),
    (["--remind-every", "15m", "--remind-max", "many"], "--remind-max: 'many' is not a whole number"),
    (["--remind-max", "2"], "--remind-max: needs --remind-every"),
    (["--escalate-after", "1d"], "--escalate-after: '1d' is not a duration"),
    (["--remind-every", "1h", "--fallback-channel", "Pager"], "--fallback-channel: no channel named 'Pager'"),
    (["--at", "tomorrow"], "--at: 'tomorrow' is not an ISO time"),
    (["--at", "2001-02-03T04:05"], "is in the past"),
]


def test_bad_follow_through_options_are_one_line_and_exit_2(cli: CliRunner, sqlite_url: str, tmp_path: Path) -> None:
    setup(cli, sqlite_url, tmp_path)  # once: every case below must leave it as it was
    for args, needle in BAD:
        out = cli("send", "--title", "T", "--body", "B", "--group", "all", *args, db=sqlite_url)
        assert out.returncode == 2, (args, out.stderr)
        assert needle in out.stderr and len(out.stderr.strip().splitlines()) == 1, (args, out.stderr)
    assert cli("status", "1", db=sqlite_url).returncode == 2  # nothing was written


def test_schedule_list_and_cancel(cli: CliRunner, db_url: str, tmp_path: Path) -> None:
    setup(cli, db_url, tmp_path)
    local = (dt.datetime.now() + dt.timedelta(days=1)).replace(second=0, microsecond=0)  # no zone: local time
    result = send(cli, db_url, "--group", "all", "--channel", "Corp mail", "--at", local.isoformat(),
                  "--remind-every", "15m", "--remind-max", "2", "--fallback-channel", "Texts",
                  "--escalate-after", "1h")
    bid = result["broadcast_id"]
    utc = local.astimezone(dt.UTC)
    assert result["scheduled_at"] == utc.isoformat(timespec="seconds")
    assert status(cli, db_url, bid)["state"] == "scheduled"

    listed = cli("scheduled", "list", "--json", db=db_url)
    assert listed.returncode == 0, listed.stderr
    (row,) = json.loads(listed.stdout)
    assert row == {"broadcast_id": bid, "incident_id": result["incident_id"], "kind": "alert", "title":
                   "Fire alarm in building A", "severity": "info", "exercise": False,
                   "scheduled_at": utc.isoformat(timespec="seconds"), "sender": row["sender"], "recipients": 2,
                   "deliveries": 2, "remind_every_s": 900, "remind_max": 2, "fallback_channel": "Texts",
                   "escalate_after_s": 3600}
    text = cli("scheduled", "list", db=db_url).stdout
    assert f"{local:%Y-%m-%d %H:%M}" in text and "remind every 15m ×2; fallback Texts; escalate after 1h" in text

    cancelled = cli("scheduled", "cancel", str(bid), "--actor", "officer", db=db_url)
    assert cancelled.returncode == 0, cancelled.stderr
    assert f"broadcast {bid}: scheduled send cancelled, 2 messages will not go out" in cancelled.stdout
    assert json.loads(cli("scheduled", "list", "--json", db=db_url).stdout) == []
    assert status(cli, db_url, bid)["state"] == "cancelled"
    again = cli("scheduled", "cancel", str(bid), db=db_url)
    assert again.returncode == 2 and "is not scheduled" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1
    audit = json.loads(cli("audit", "export", "--format", "json", db=db_url).stdout)["entries"]
    (entry,) = [e for e in audit if e["action"] == "broadcast.cancel"]
    assert entry["actor"] == "officer" and entry["details"]["scheduled_at"] == utc.isoformat(timespec="seconds")
    (sent,) = [e for e in audit if e["action"] == "broadcast.alert"]
    assert (sent["details"]["remind_every_s"], sent["details"]["fallback_channel"]) == (900, "Texts")
