"""HTTP plumbing of the acknowledgement service: the request, the response, the form.

Kept apart from the routes (console.acks.wsgi) so each reads on its own. Form
parsing is strict on purpose: an answer is two or three short fields, so
anything else (repeated fields, non-UTF-8, many fields) is refused as 400.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from console.acks.localtime import SCRIPT_SOURCE

CSP = (f"default-src 'none'; script-src {SCRIPT_SOURCE}; style-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")  # the one script: the reader's own time
SECURITY_HEADERS = (
    ("Cache-Control", "no-store"),
    ("Referrer-Policy", "no-referrer"),
    ("Content-Security-Policy", CSP),
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
)
MAX_BODY = 4096
HTML = "text/html; charset=utf-8"
_FORM = "application/x-www-form-urlencoded"

StartResponse = Callable[..., Any]


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str = HTML
    headers: tuple[tuple[str, str], ...] = ()


class BadRequest(Exception):
    """The request cannot be processed as sent; the message is shown to the person."""


@dataclass
class Request:
    """The parts of a WSGI environ the routes use."""

    environ: dict[str, Any]
    method: str = field(init=False)
    path: str = field(init=False)
    client: str = field(init=False)
    root: str = field(init=False)

    def __post_init__(self) -> None:
        self.method = self.environ.get("REQUEST_METHOD", "GET").upper()
        self.path = self.environ.get("PATH_INFO", "") or "/"
        self.client = self.environ.get("REMOTE_ADDR") or "unknown"
        self.root = self.environ.get("SCRIPT_NAME", "").rstrip("/")

    @property
    def url(self) -> str:
        """This page's path, for "back" links (relative to the host, so proxies keep working)."""
        return urllib.parse.quote(self.root + self.path)

    def declared_length(self) -> int | None:
        raw = self.environ.get("CONTENT_LENGTH") or ""
        if not raw.strip():
            return None
        try:
            length = int(raw)
        except ValueError:
            raise BadRequest("The request was malformed.") from None
        if length < 0:
            raise BadRequest("The request was malformed.")
        return length

    def form(self, limit: int) -> dict[str, str]:
        """The urlencoded form body (`limit` already enforced for a declared length)."""
        ctype = self.environ.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()
        if ctype != _FORM:
            raise BadRequest("Please answer with the buttons on the page.")
        length = self.declared_length()
        stream = self.environ["wsgi.input"]
        body = stream.read(length) if length is not None else stream.read(limit + 1)
        if len(body) > limit:
            raise BodyTooLarge
        try:
            return parse_form(body.decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            raise BadRequest("The form could not be read.") from None


def parse_form(text: str, max_fields: int = 10) -> dict[str, str]:
    """An urlencoded form, strictly: UTF-8 only, each field at most once, few fields."""
    fields: dict[str, str] = {}
    for part in text.split("&"):
        if not part:
            continue
        name, _eq, value = part.partition("=")
        name = urllib.parse.unquote_plus(name, errors="strict")
        if name in fields or len(fields) >= max_fields:
            raise ValueError("repeated field or too many fields")
        fields[name] = urllib.parse.unquote_plus(value, errors="strict")
    return fields


class BodyTooLarge(Exception):
    """The request body is over the limit."""
