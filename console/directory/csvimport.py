"""Directory import from CSV: all or nothing.

The whole file is parsed and checked first; any bad row means nothing is
written and every bad row is reported as `FILE:LINE: what is wrong`. Only a
clean file reaches the database, in one transaction with its audit entry.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from console import audit, settings
from console.directory.validate import (
    ContactFieldError,
    clean_text,
    normalise_email,
    normalise_name,
    normalise_phone,
    split_groups,
)
from console.errors import UserError
from console.models import ALL_GROUP, Contact, Group, Membership, utcnow

log = logging.getLogger("console.directory.import")

REQUIRED = ("name", "email")
OPTIONAL = ("phone", "groups", "chat", "language", "external_id", "manager")
_CHUNK = 500

_T = TypeVar("_T")


class CsvImportError(UserError):
    """The file cannot be imported; `problems` holds one `FILE:LINE: …` line per bad row."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(problems[0] + more)


@dataclass(frozen=True)
class Row:
    line: int
    name: str
    email: str
    phone: str | None
    groups: list[str] | None  # None: no groups column, memberships left alone
    extra: dict[str, str | None]


@dataclass
class ImportReport:
    file: str
    rows: int = 0
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    groups_created: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = (
            f"{self.file}: {self.rows} rows: {len(self.created)} created, {len(self.updated)} updated, "
            f"{self.unchanged} unchanged"
        )
        if self.groups_created:
            text += f"; new groups: {', '.join(self.groups_created)}"
        return text


def parse_csv(data: bytes, label: str, region: str | None = None) -> tuple[list[Row], list[str]]:
    """Check every row; returns the rows and the ignored column names, or raises CsvImportError."""
    text, problems = _decode(data, label)
    if problems:
        raise CsvImportError(problems)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise CsvImportError([f"{label}:1: the file is empty (expected a header: name,email,phone,groups)"]) from None
    except csv.Error as exc:
        raise CsvImportError([f"{label}:1: {exc}"]) from None
    columns = [h.strip().lower().replace(" ", "_") for h in header]
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise CsvImportError([f"{label}:1: missing column {', '.join(missing)} (header: name,email,phone,groups)"])
    dupes = sorted({c for c in columns if columns.count(c) > 1 and c})
    if dupes:
        raise CsvImportError([f"{label}:1: column {', '.join(dupes)} appears more than once"])
    ignored = [header[i].strip() for i, c in enumerate(columns) if c not in REQUIRED + OPTIONAL]
    index = {c: i for i, c in enumerate(columns)}

    rows: list[Row] = []
    first_line: dict[str, int] = {}
    line = 1
    while True:
        start = reader.line_num + 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(f"{label}:{start}: {exc}")
            break
        line = start
        if not any(cell.strip() for cell in record):
            continue
        if len(record) > len(columns):
            problems.append(f"{label}:{line}: {len(record)} fields but the header has {len(columns)}")
            continue

        def cell(name: str, rec: list[str] = record) -> str:
            i = index.get(name)
            return rec[i] if i is not None and i < len(rec) else ""

        try:
            name = normalise_name(cell("name"))
            email = normalise_email(cell("email"))
            phone = normalise_phone(cell("phone"), region)
            groups = split_groups(cell("groups")) if "groups" in index else None
            extra: dict[str, str | None] = {
                c: clean_text(c, cell(c)) for c in ("chat", "language", "external_id") if c in index}
            if "manager" in index:
                extra["manager"] = _manager(cell("manager"))
        except ContactFieldError as exc:
            problems.append(f"{label}:{line}: {exc}")
            continue
        if email in first_line:
            problems.append(f"{label}:{line}: duplicate email {email} (first at line {first_line[email]})")
            continue
        first_line[email] = line
        rows.append(Row(line, name, email, phone, groups, extra))
    if problems:
        raise CsvImportError(problems)
    return rows, ignored


def _manager(value: str) -> str | None:
    """The manager's email (escalations go there), normalised like a contact's; None when empty."""
    if not value.strip():
        return None
    try:
        return normalise_email(value)
    except ContactFieldError:
        raise ContactFieldError(f"manager {value.strip()!r} is not a valid email address") from None


def _decode(data: bytes, label: str) -> tuple[str, list[str]]:
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        pass
    problems = []
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    for number, raw in enumerate(body.split(b"\n"), start=1):
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            problems.append(
                f"{label}:{number}: not valid UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1}); "
                "save the file as UTF-8"
            )
    return "", problems


def import_file(session: Session, path: Path, actor: str) -> ImportReport:
    """Parse, check and write one CSV file in the caller's transaction."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {exc.strerror}") from None
    region = settings.get(session, "org.phone_region")
    rows, ignored = parse_csv(data, str(path), region)
    report = write_rows(session, rows, actor, label=str(path))
    report.ignored_columns = ignored
    return report


def write_rows(session: Session, rows: list[Row], actor: str, label: str) -> ImportReport:
    report = ImportReport(file=label, rows=len(rows))
    conn = session.connection()
    existing = {
        r.email: r
        for r in conn.execute(select(Contact.id, Contact.email, Contact.name, Contact.phone, Contact.chat,
                                     Contact.language, Contact.external_id, Contact.manager))
    }
    group_ids = dict(conn.execute(select(Group.name, Group.id)).all())
    wanted_groups = {g for r in rows if r.groups for g in r.groups}
    new_groups = sorted(wanted_groups - group_ids.keys())
    now = utcnow()
    if new_groups:
        created = conn.execute(
            insert(Group).returning(Group.name, Group.id), [{"name": g, "created_at": now} for g in new_groups]
        )
        group_ids.update(created.all())
        report.groups_created = new_groups

    to_create: list[dict[str, Any]] = []
    to_update: list[dict[str, Any]] = []
    for row in rows:
        values = {"name": row.name, "email": row.email, "phone": row.phone, **row.extra}
        old = existing.get(row.email)
        if old is None:
            to_create.append({**values, "created_at": now, "updated_at": now})
        elif any(getattr(old, k) != v for k, v in values.items()):
            to_update.append({**values, "_id": old.id, "updated_at": now})
    ids = {r.email: r.id for r in existing.values()}
    for chunk in _chunks(to_create):
        ids.update(conn.execute(insert(Contact).returning(Contact.email, Contact.id), chunk).all())
    report.created = [r["email"] for r in to_create]
    if to_update:
        keys = [k for k in to_update[0] if k != "_id"]
        stmt = update(Contact).where(Contact.id == bindparam("_id")).values({k: bindparam(k) for k in keys})
        for chunk in _chunks(to_update):
            conn.execute(stmt, chunk)
    report.updated = [r["email"] for r in to_update]
    report.unchanged = len(rows) - len(to_create) - len(to_update)
    _write_memberships(conn, rows, ids, group_ids, {r["email"] for r in to_create})
    audit.append(
        conn, actor, "contacts.import", label,
        {"rows": report.rows, "created": report.created, "updated": report.updated,
         "unchanged": report.unchanged, "groups_created": report.groups_created},
    )
    return report


def _write_memberships(conn: Connection, rows: list[Row], ids: dict[str, int], group_ids: dict[str, int],
                       new: set[str]) -> None:
    all_id = group_ids[ALL_GROUP]
    managed = [r for r in rows if r.groups is not None]
    replaced = [ids[r.email] for r in managed if r.email not in new]
    for chunk in _chunks(replaced):
        conn.execute(delete(Membership).where(Membership.contact_id.in_(chunk)))
    links: list[dict[str, int]] = []
    for row in rows:
        contact_id = ids[row.email]
        if row.groups is not None:
            names = {ALL_GROUP, *row.groups}
            links.extend({"contact_id": contact_id, "group_id": group_ids[g]} for g in names)
        elif row.email in new:
            links.append({"contact_id": contact_id, "group_id": all_id})
    for batch in _chunks(links):
        conn.execute(insert(Membership), batch)


def _chunks(items: list[_T], size: int = _CHUNK) -> Iterable[list[_T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
