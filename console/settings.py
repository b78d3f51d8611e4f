"""Typed settings with their defaults, defined in one place.

Settings live in the database (so every console and server on it agree);
each has a type that parses and checks the text a person gives.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from console import audit
from console.errors import UserError
from console.models import Setting
from console.valuetypes import parse_cpu, parse_duration


class SettingError(UserError):
    """Unknown setting key or a value of the wrong type."""


def _url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("expected an http:// or https:// URL, e.g. http://alerts.example.org:8080")
    return value.rstrip("/")


def _bool(value: str) -> bool:
    low = value.strip().lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected true or false")


def _port(value: str) -> int:
    port = int(value)
    if not 0 <= port <= 65535:
        raise ValueError("expected a port number 0-65535")
    return port


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError("expected a whole number of at least 1")
    return number


def _count(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError("expected a whole number of at least 0")
    return number


def _positive_float(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise ValueError("expected a number above 0")
    return number


def _text(value: str) -> str:
    if not value.strip():
        raise ValueError("expected a non-empty text")
    return value.strip()


def _region(value: str) -> str:
    if len(value) != 2 or not value.isalpha():
        raise ValueError("expected a two-letter country code such as GB or US")
    return value.upper()


def _timezone(value: str) -> str:
    """An IANA zone name that this machine's time zone database knows."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    name = value.strip()
    if name.upper() == "UTC":
        return "UTC"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("expected an IANA time zone such as Europe/London, America/New_York or UTC") from None
    return name


def _absolute_path(value: str) -> str:
    """A file named for every process on this database: relative paths would differ per process."""
    import os.path

    path = os.path.expanduser(value.strip())
    if not path or not os.path.isabs(path):
        raise ValueError("expected an absolute file path, e.g. /srv/audit/checkpoints.jsonl")
    return path


@dataclass(frozen=True)
class SettingDef:
    key: str
    parse: Callable[[str], Any]
    default: Any
    help: str


DEFINITIONS: dict[str, SettingDef] = {
    d.key: d
    for d in (
        SettingDef("org.name", _text, "Crisis Console", "Organisation name shown on messages and answer pages"),
        SettingDef("org.phone_region", _region, None, "Default country for phone numbers without +country code"),
        SettingDef("org.timezone", _timezone, "UTC", "Time zone of answer pages' times (IANA, e.g. Europe/London)"),
        SettingDef("ack.public_url", _url, "http://127.0.0.1:8765", "Base URL of the acknowledgement service in links"),
        SettingDef("ack.host", _text, "127.0.0.1", "Address the embedded acknowledgement service listens on"),
        SettingDef("ack.port", _port, 8765, "Port of the embedded acknowledgement service (0 = any free port)"),
        SettingDef("ack.embedded", _bool, True, "Run the acknowledgement service inside the desktop app"),
        SettingDef("ack.cpu", parse_cpu, "auto",
                   "CPU for the acknowledgement service's threads: auto (one, picked), all, or a number"),
        SettingDef("dispatch.embedded", _bool, True, "Run the dispatcher inside the desktop app"),
        SettingDef("dispatch.workers", _positive_int, 8, "Sending threads per dispatcher"),
        SettingDef("dispatch.processes", _count, 2, "Child processes that do the sending (0: in the dispatcher)"),
        SettingDef("dispatch.retry_window", parse_duration, parse_duration("30m"),
                   "How long a failed delivery is retried, from when it was queued: seconds or 30m, 2h "
                   "(after that it is marked failed)"),
        SettingDef("dispatch.retry_base_seconds", _positive_float, 2.0, "First retry delay; doubles per attempt"),
        SettingDef("dispatch.retry_max_delay_seconds", _positive_float, 60.0,
                   "Longest wait between two attempts of one delivery"),
        SettingDef("dispatch.max_attempts", _count, 0,
                   "Optional cap on attempts per delivery; 0 (the default): no cap, the retry window decides"),
        SettingDef("audit.checkpoints", _absolute_path, None,
                   "File the signed audit checkpoints are appended to (default: beside the signing key, "
                   "audit-checkpoints-<log id>.jsonl)"),
        SettingDef("audit.channel", _text, None,
                   "Channel each checkpoint is posted to for the auditors: its name, and for an email, SMS or "
                   "chat channel the address after a space (e.g. Corp mail auditors@example.org)"),
    )
}


def parse_value(key: str, value: str) -> Any:
    definition = DEFINITIONS.get(key)
    if definition is None:
        known = ", ".join(sorted(DEFINITIONS))
        raise SettingError(f"unknown setting {key!r} (known: {known})")
    try:
        return definition.parse(value)
    except ValueError as exc:
        raise SettingError(f"setting {key}: {value!r} is not valid: {exc}") from None


def get(session: Session, key: str) -> Any:
    definition = DEFINITIONS[key]
    raw = session.scalar(select(Setting.value).where(Setting.key == key))
    return definition.default if raw is None else definition.parse(raw)


def get_all(session: Session) -> dict[str, Any]:
    stored = dict(session.execute(select(Setting.key, Setting.value)).all())
    return {k: (d.parse(stored[k]) if k in stored else d.default) for k, d in DEFINITIONS.items()}


def set_value(session: Session, key: str, value: str, actor: str) -> Any:
    """Check, store and audit one setting in the caller's transaction."""
    parsed = parse_value(key, value)
    text = str(parsed).lower() if isinstance(parsed, bool) else str(parsed)
    row = session.get(Setting, key)
    old = row.value if row else None
    if row is None:
        session.add(Setting(key=key, value=text))
    else:
        row.value = text
    session.flush()
    audit.append(session, actor, "settings.set", key, {"old": old, "new": text})
    return parsed
