"""An export carries its own proof: a cut at its end shows from the file alone.

The procedure (console/audit/exportcheck.py, README "Checking an export") is run two
ways: by the product (`audit check-export`) and by the Node.js verifier written apart
from it (tests/verifiers/verify_export.mjs).
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from console import audit
from console.audit.exportcheck import check_export
from console.audit.signing import PublicKey
from console.storage import open_database
from tests.conftest import unavailable

if TYPE_CHECKING:
    from tests.conftest import CliRunner

VERIFIER = Path(__file__).parent / "verifiers" / "verify_export.mjs"


def _append(url: str, n: int, start: int = 0) -> None:
    db = open_database(url)
    for i in range(start, start + n):
        with db.write() as session:
            audit.append(session, "ann@example.org", "ack.answer", f"recipient {i}",
                         {"answer": "I'm safe" if i % 3 else "I need help", "elapsed_s": 0.5 * i, "note": "Zoë 🔥"})
    db.dispose()


def _sealed_export(cli: CliRunner, url: str, tmp_path: Path, fmt: str = "json") -> tuple[Path, str]:
    """10 entries sealed at 6 and at 10, then 2 more; the export and the auditors' copy of the public key."""
    _append(url, 6)
    assert cli("audit", "seal", db=url).returncode == 0
    _append(url, 4, 6)
    assert cli("audit", "seal", db=url).returncode == 0
    _append(url, 2, 10)
    key = cli("audit", "public-key", db=url)
    assert key.returncode == 0, key.stderr
    out = tmp_path / f"audit.{fmt}"
    done = cli("audit", "export", "--format", fmt, "--out", str(out), db=url)
    assert done.returncode == 0, done.stderr
    return out, key.stdout.strip().splitlines()[0]


def _node(export: Path, public_key: str) -> tuple[int, str]:
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        unavailable("node is not installed (tests/setup-and-run.sh installs Debian's nodejs)")
    run = subprocess.run([node, str(VERIFIER), str(export), public_key], capture_output=True, text=True, timeout=60)
    return run.returncode, run.stdout.strip()


def _rewrite(path: Path, change: Any) -> Path:
    export = json.loads(path.read_text(encoding="utf-8"))
    change(export)
    cut = path.with_name("cut.json")
    cut.write_text(json.dumps(export, ensure_ascii=False), encoding="utf-8")
    return cut


def test_an_honest_export_checks_out(cli: CliRunner, db_url: str, tmp_path: Path) -> None:
    export, key = _sealed_export(cli, db_url, tmp_path)
    data = json.loads(export.read_text(encoding="utf-8"))
    assert (data["count"], data["head"]["seq"], [c["seq"] for c in data["checkpoints"]]) == (12, 12, [6, 10])
    result = check_export(export, PublicKey.parse(key))
    assert result.ok and result.message() == ("OK: 12 entries, 2 checkpoints; 2 entries after the last checkpoint "
                                              "rest on the export's own head")
    assert _node(export, key) == (0, "OK: 12 entries, 2 checkpoints")
    shown = cli("audit", "check-export", str(export), "--public-key", key, db=db_url)
    assert shown.returncode == 0 and shown.stdout.startswith("OK: 12 entries, 2 checkpoints"), shown.stderr


def test_a_cut_tail_shows_from_the_file_alone(cli: CliRunner, sqlite_url: str, tmp_path: Path) -> None:
    export, key = _sealed_export(cli, sqlite_url, tmp_path)
    cut = _rewrite(export, lambda e: e.update(entries=e["entries"][:-3]))
    result = check_export(cut, PublicKey.parse(key))
    assert result.problems[0] == "the export says 12 entries and holds 9: entries were cut from its end"
    code, text = _node(cut, key)
    assert code == 1 and "cut" in text
    shown = cli("audit", "check-export", str(cut), "--public-key", key, db=sqlite_url)
    assert shown.returncode == 1 and shown.stderr.startswith("BAD: the export says 12 entries and holds 9")


def test_a_cut_tail_with_a_rewritten_proof_meets_the_signed_checkpoint(
        cli: CliRunner, sqlite_url: str, tmp_path: Path) -> None:
    export, key = _sealed_export(cli, sqlite_url, tmp_path)

    def cut_and_cover(e: dict[str, Any]) -> None:
        e["entries"] = e["entries"][:8]
        e["count"], e["head"] = 8, {"seq": 8, "hash": e["entries"][-1]["hash"]}

    cut = _rewrite(export, cut_and_cover)
    result = check_export(cut, PublicKey.parse(key))
    assert len(result.problems) == 1
    assert "seals seq 10 but the export ends at 8: entries were cut from its end" in result.problems[0]
    assert result.problems[0].startswith("checkpoint #2 (")
    code, text = _node(cut, key)
    assert code == 1 and "checkpoint at seq 10" in text

    def drop_checkpoint_too(e: dict[str, Any]) -> None:
        cut_and_cover(e)
        e["checkpoints"] = e["checkpoints"][:1]
        e["checkpoints"][0]["seq"] = 8  # moving it breaks its signature
    forged = _rewrite(export, drop_checkpoint_too)
    assert check_export(forged, PublicKey.parse(key)).problems[0].endswith("its signature does not hold under the "
                                                                             "given public key")


def test_a_csv_export_carries_the_same_proof(cli: CliRunner, sqlite_url: str, tmp_path: Path) -> None:
    export, key = _sealed_export(cli, sqlite_url, tmp_path, "csv")
    assert check_export(export, PublicKey.parse(key)).ok
    text = export.read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[1][0] == "#proof" and json.loads(rows[1][5])["count"] == 12
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_ALL).writerows(rows[:-2])  # the last two rows cut
    cut = tmp_path / "cut.csv"
    cut.write_bytes(b"\xef\xbb\xbf" + out.getvalue().encode("utf-8"))
    assert check_export(cut, PublicKey.parse(key)).problems[0] == ("the export says 12 entries and holds 10: "
                                                                   "entries were cut from its end")
