"""Encryption of secrets at rest (channel URLs, personal link tokens).

The key never lives in the database: it comes from env `CRISIS_CONSOLE_KEY`,
else from a key file (mode 0600) in the user config dir, created on first use.
A copied database file therefore leaks no password or token. A check value
sealed with the key is kept in the database so a wrong key is reported as
such instead of as garbled URLs.

The key is a Fernet key (the familiar, copy-pasteable format); secrets are
sealed with AES-256-GCM under a subkey derived from it, because a broadcast
seals one link token per recipient inside its transaction and Fernet costs
~60 µs a seal where AES-GCM costs a few.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from console.storage.errors import SecretKeyError
from console.storage.paths import key_file_path
from console.storage.sqlitefile import make_private_dirs

log = logging.getLogger("console.storage.secrets")

KEY_ENV = "CRISIS_CONSOLE_KEY"
_CHECK_PLAINTEXT = "crisis-console key check v1"
_VERSION = b"\x01"
_NONCE = 12


class SecretBox:
    """Seals and opens small secrets with one Fernet key."""

    def __init__(self, key: bytes, source: str) -> None:
        try:
            Fernet(key)
        except (ValueError, TypeError) as exc:
            raise SecretKeyError(f"the secret key from {source} is not a valid Fernet key: {exc}") from None
        self._aead = AESGCM(hmac.new(key, b"crisis-console seal v1", hashlib.sha256).digest())
        self._key = key
        self.source = source

    def handover(self) -> tuple[bytes, str]:
        """The key and its source, for a child process of this one (over a pipe, never argv or env)."""
        return self._key, self.source

    @classmethod
    def available(cls) -> bool:
        """A key is there to load (env or key file), so `load` will not make a new one."""
        return bool(os.environ.get(KEY_ENV)) or key_file_path().exists()

    @classmethod
    def load(cls, *, create: bool = True) -> SecretBox:
        """Key from env CRISIS_CONSOLE_KEY, else the key file (created if allowed)."""
        env_key = os.environ.get(KEY_ENV)
        if env_key:
            return cls(env_key.strip().encode(), f"env {KEY_ENV}")
        return cls(_read_or_create_key_file(key_file_path(), create), str(key_file_path()))

    def seal(self, plaintext: str) -> bytes:
        nonce = os.urandom(_NONCE)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext.encode(), _VERSION)

    def open(self, sealed: bytes) -> str:
        data = bytes(sealed)
        try:
            if data[:1] != _VERSION:
                raise InvalidTag
            return self._aead.decrypt(data[1:1 + _NONCE], data[1 + _NONCE:], _VERSION).decode()
        except InvalidTag:
            raise SecretKeyError(
                f"a secret in the database cannot be decrypted with the key from {self.source}: "
                "the database was sealed with another key"
            ) from None

    def make_check(self) -> str:
        return self.seal(_CHECK_PLAINTEXT).hex()

    def matches_check(self, check: str) -> bool:
        try:
            return self.open(bytes.fromhex(check)) == _CHECK_PLAINTEXT
        except (SecretKeyError, ValueError):
            return False


def _read_or_create_key_file(path: Path, create: bool) -> bytes:
    if path.exists():
        try:
            return path.read_bytes().strip()
        except OSError as exc:
            raise SecretKeyError(f"cannot read the key file {path}: {exc.strerror}") from None
    if not create:
        raise SecretKeyError(f"no secret key: set {KEY_ENV} or restore the key file {path}")
    make_private_dirs(path.parent)
    key = Fernet.generate_key()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as fh:
        fh.write(key + b"\n")
    log.info("created a new secret key file at %s (mode 0600); back it up", path)
    return key
