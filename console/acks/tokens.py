"""Personal link tokens: 192 random bits from `secrets`; only the SHA-256 is searchable."""

from __future__ import annotations

import hashlib
import re
import secrets

TOKEN_BYTES = 24  # 192 bits; the design asks for at least 128
TOKEN_LENGTH = 32  # characters of url-safe base64 for TOKEN_BYTES
_SHAPE = re.compile(rf"^[A-Za-z0-9_-]{{{TOKEN_LENGTH}}}$")


def new_token() -> tuple[str, str]:
    """A fresh token and its hash."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def well_formed(token: str) -> bool:
    """Cheap shape check before any database look-up (malformed → 404 at once)."""
    return bool(_SHAPE.match(token))


def ack_link(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/a/{token}"


def group_link(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/g/{token}"
