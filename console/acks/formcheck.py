"""The hidden `check` field of the answer forms.

A POST must carry an HMAC of the link's token hash made with a key the server
keeps, so only a form this service rendered can answer (not a blind POST that
merely guessed the field names). The key lives in the database, not in the
process: every instance behind a load balancer, and a restarted server, accept
a page rendered by any other. Compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from console.models import Setting
from console.storage import Database

FORM_KEY_SETTING = "ack.form_key"  # internal: not one of console.settings.DEFINITIONS
_LENGTH = 32


class FormCheck:
    """Makes and checks the `check` field for one token hash."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the form key must be at least 16 bytes")
        self._key = key

    def value(self, token_hash: str) -> str:
        return hmac.new(self._key, token_hash.encode("ascii"), hashlib.sha256).hexdigest()[:_LENGTH]

    def matches(self, token_hash: str, given: str | None) -> bool:
        if not given:
            return False
        return hmac.compare_digest(self.value(token_hash).encode("ascii"), given.encode("utf-8", "replace"))


def load_form_check(db: Database) -> FormCheck:
    """The database's form key, created on first use (safe when two servers start at once)."""
    with db.read() as session:
        stored = session.scalar(select(Setting.value).where(Setting.key == FORM_KEY_SETTING))
    if stored is None:
        try:
            with db.write() as session:
                stored = session.scalar(select(Setting.value).where(Setting.key == FORM_KEY_SETTING))
                if stored is None:
                    stored = secrets.token_hex(32)
                    session.add(Setting(key=FORM_KEY_SETTING, value=stored))
        except IntegrityError:  # another server inserted it first (PostgreSQL)
            with db.read() as session:
                stored = session.scalar(select(Setting.value).where(Setting.key == FORM_KEY_SETTING))
    assert stored is not None
    return FormCheck(bytes.fromhex(stored))
