"""`contacts import`: validation, normalisation, all-or-nothing, speed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.conftest import CliRunner

HEADER = "name,email,phone,groups\n"


def write(path: Path, text: str, *, bom: bool = False, encoding: str = "utf-8") -> Path:
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding))
    return path


def contacts(cli: CliRunner, db: str) -> list[dict]:
    out = cli("contacts", "list", "--json", db=db)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_import_normalises_and_groups(cli: CliRunner, db_url: str, tmp_path: Path) -> None:
    csv_file = write(tmp_path / "staff.csv", "email,name,groups,phone,desk\n"
                     "Ann.Lee@Example.ORG,Ann  Lee,Leeds; IT,+44 (0)20 7946 0958 ,A1\n"
                     "bob@example.org,Bob Roe,,0044 20 7946 0959,B2\n")
    out = cli("contacts", "import", str(csv_file), db=db_url)
    assert out.returncode == 0, out.stderr
    assert f"{csv_file}:1: ignored columns: desk" in out.stderr
    rows = contacts(cli, db_url)
    assert rows[0] == {"id": rows[0]["id"], "name": "Ann Lee", "email": "ann.lee@example.org",
                       "phone": "+442079460958", "groups": ["IT", "Leeds", "all"], "manager": None}
    assert rows[1]["phone"] == "+442079460959"
    assert rows[1]["groups"] == ["all"]
    groups = {g["name"]: g for g in json.loads(cli("groups", "list", "--json", db=db_url).stdout)}
    assert groups["all"]["members"] == 2 and groups["Leeds"]["members"] == 1 and groups["IT"]["members"] == 1
    assert set(groups["all"]) >= {"id", "name", "members", "channels"}


def test_reimport_updates_without_duplicates(cli: CliRunner, db_url: str, tmp_path: Path) -> None:
    first = write(tmp_path / "a.csv", HEADER + "Ann,ann@example.org,,Leeds\nBob,bob@example.org,,\n")
    assert cli("contacts", "import", str(first), db=db_url).returncode == 0
    second = write(tmp_path / "b.csv", HEADER + "Ann Lee,ANN@example.org,,London\nCy,cy@example.org,,\n")
    out = cli("contacts", "import", str(second), db=db_url)
    assert out.returncode == 0, out.stderr
    assert "1 created, 1 updated" in out.stdout
    rows = {r["email"]: r for r in contacts(cli, db_url)}
    assert len(rows) == 3
    assert rows["ann@example.org"]["name"] == "Ann Lee"
    assert rows["ann@example.org"]["groups"] == ["London", "all"]


def test_bom_and_utf8_names(cli: CliRunner, db_url: str, tmp_path: Path) -> None:
    f = write(tmp_path / "bom.csv", HEADER + "Zoë Ångström,zoe@example.org,,Zürich\n", bom=True)
    out = cli("contacts", "import", str(f), db=db_url)
    assert out.returncode == 0, out.stderr
    assert contacts(cli, db_url)[0]["name"] == "Zoë Ångström"


def test_every_bad_row_is_reported_and_nothing_written(cli: CliRunner, db_url: str, tmp_path: Path) -> None:
    f = write(tmp_path / "bad.csv", HEADER
              + "Ann,ann@example.org,,\n"        # line 2 ok
              + ",nobody@example.org,,\n"         # line 3 missing name
              + "Bob,bob@@example,,\n"            # line 4 bad email
              + "Cy,ANN@example.org,,\n"          # line 5 duplicate of line 2
              + "Di,di@example.org,call me,\n")   # line 6 bad phone
    out = cli("contacts", "import", str(f), db=db_url)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert lines == [
        f"{f}:3: name is missing",
        f"{f}:4: email 'bob@@example' is not a valid address",
        f"{f}:5: duplicate email ann@example.org (first at line 2)",
        f"{f}:6: phone 'call me' is not a phone number",
    ]
    assert "Traceback" not in out.stderr
    assert contacts(cli, db_url) == []
    verify = cli("audit", "verify", db=db_url)
    assert verify.stdout.splitlines()[0] == "OK: 0 entries"


def test_undecodable_bytes_are_reported_by_line(cli: CliRunner, db_url: str, tmp_path: Path) -> None:
    f = tmp_path / "latin1.csv"
    f.write_bytes(HEADER.encode() + b"Ann,ann@example.org,,\n" + "Zoë,zoe@example.org,,\n".encode("latin-1"))
    out = cli("contacts", "import", str(f), db=db_url)
    assert out.returncode == 2
    assert out.stderr.startswith(f"{f}:3: not valid UTF-8")
    assert contacts(cli, db_url) == []


def test_control_characters_are_refused_by_row_and_nothing_written(cli: CliRunner, db_url: str, tmp_path: Path) -> None:
    f = write(tmp_path / "ctl.csv", "name,email,phone,groups,chat\n"
              + "Ann,ann@example.org,,,\n"                                # line 2 ok
              + "Bob\x00Roe,bob@example.org,,,\n"                         # line 3 NUL in the name
              + "\x1b[2JCy,cy@example.org,,,\n"                           # line 4 ESC (clear screen)
              + '"Di\x1b]8;;http://evil.example\x07x",di@example.org,,,\n'  # line 5 OSC 8 link
              + "Ed,ed@example.org,,Leeds\x85,\n"                         # line 6 C1 (NEL) in a group
              + "Fay,fay@example.org,,,@fay\x7f\n"                        # line 7 DEL in chat
              + "Gus,gus\x1b@example.org,,,\n"                            # line 8 ESC in the email
              + "Hal,hal@example.org,0113\x0b496,,\n"                     # line 9 VT in the phone
              + "Ida,ida@example.org,,,@i\tda\n")                         # line 10 tab inside chat
    out = cli("contacts", "import", str(f), db=db_url)
    assert out.returncode == 2
    assert out.stderr.splitlines() == [
        f"{f}:3: name: contains a control character (U+0000)",
        f"{f}:4: name: contains a control character (U+001B)",
        f"{f}:5: name: contains a control character (U+001B)",
        f"{f}:6: groups: contains a control character (U+0085)",
        f"{f}:7: chat: contains a control character (U+007F)",
        f"{f}:8: email: contains a control character (U+001B)",
        f"{f}:9: phone: contains a control character (U+000B)",
        f"{f}:10: chat: contains a control character (U+0009)",
    ]
    assert "\x1b" not in out.stderr and "Traceback" not in out.stderr
    assert contacts(cli, db_url) == []
    assert cli("audit", "verify", db=db_url).stdout.splitlines()[0] == "OK: 0 entries"


def test_formula_and_bidi_names_are_kept_and_line_breaks_folded(cli: CliRunner, sqlite_url: str,
                                                                tmp_path: Path) -> None:
    f = write(tmp_path / "odd.csv", HEADER
              + "=1+2,eq@example.org,,\n"
              + "@admin,at@example.org,,\n"
              + "Ann\u202eexe.doc,rlo@example.org,,\n"
              + '"Multi\r\nLine\tName",multi@example.org,,\n')
    out = cli("contacts", "import", str(f), db=sqlite_url)
    assert out.returncode == 0, out.stderr
    names = [c["name"] for c in contacts(cli, sqlite_url)]
    assert names == ["=1+2", "@admin", "Ann\u202eexe.doc", "Multi Line Name"]


@pytest.mark.parametrize(("text", "message"), [
    ("", "1: the file is empty"),
    ("name,phone\nAnn,\n", "1: missing column email"),
])
def test_bad_header(cli: CliRunner, sqlite_url: str, tmp_path: Path, text: str, message: str) -> None:
    f = write(tmp_path / "h.csv", text)
    out = cli("contacts", "import", str(f), db=sqlite_url)
    assert out.returncode == 2
    assert out.stderr.startswith(f"{f}:{message}")


def test_missing_file_is_a_user_error(cli: CliRunner, sqlite_url: str, tmp_path: Path) -> None:
    out = cli("contacts", "import", str(tmp_path / "nope.csv"), db=sqlite_url)
    assert out.returncode == 2
    assert "nope.csv: cannot read" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def _staff(path: Path, n: int, bad_line: int | None = None) -> Path:
    lines = [HEADER.strip()]
    for i in range(n):
        lines.append(f"Person {i},person.{i}@example.org,+44 7700 9{i:05d},{'Leeds;IT' if i % 3 else 'London'}")
    if bad_line is not None:
        lines[bad_line - 1] = "Broken Person,not-an-email,,London"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_thousand_rows(cli: CliRunner, tmp_path: Path) -> None:
    """Speed is measured by `python -m console.bench import`; this checks the result."""
    db = f"sqlite:///{tmp_path}/x.db"
    staff = _staff(tmp_path / "staff.csv", 1000)
    out = cli("contacts", "import", str(staff), db=db)
    assert out.returncode == 0, out.stderr
    assert "1000 created" in out.stdout
    rows = contacts(cli, db)
    assert len(rows) == 1000
    assert sum("Leeds" in r["groups"] for r in rows) == 666


def test_one_bad_row_in_a_thousand_writes_nothing(cli: CliRunner, db_url: str, tmp_path: Path) -> None:
    staff = _staff(tmp_path / "staff.csv", 1000, bad_line=517)
    out = cli("contacts", "import", str(staff), db=db_url)
    assert out.returncode == 2
    assert out.stderr.strip() == f"{staff}:517: email 'not-an-email' is not a valid address"
    assert contacts(cli, db_url) == []
