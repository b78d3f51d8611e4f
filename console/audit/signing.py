"""The audit signing key: Ed25519, kept outside the database like the secret key.

Why outside: an insider with write access to the database can rewrite the log
from any entry on and recompute every hash and the head record; they cannot
make a checkpoint that verifies without this key.

The key comes from env CRISIS_CONSOLE_SIGNING_KEY (its PEM, or the base64 of
its 32-byte seed), else from the key file `audit-signing.key` (PKCS#8 PEM,
mode 0600) beside the secret key (console.storage.paths.signing_key_path),
created on the first seal. `openssl pkey -in audit-signing.key -pubout` reads it.

Its public half is written `ed25519:<base64 of the 32 raw bytes>`, its
fingerprint `SHA256:<base64 of sha256(raw bytes), no padding>` (OpenSSH's style).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from console.errors import UserError

log = logging.getLogger("console.audit.signing")

SIGNING_KEY_ENV = "CRISIS_CONSOLE_SIGNING_KEY"
KEY_FILE_NAME = "audit-signing.key"
PUBLIC_PREFIX = "ed25519:"


class AuditKeyError(UserError):
    """A signing or public key that is missing, unreadable or not an Ed25519 key."""


@dataclass(frozen=True)
class PublicKey:
    """An Ed25519 public key: what an auditor pins to trust checkpoints."""

    raw: bytes

    @property
    def text(self) -> str:
        return PUBLIC_PREFIX + base64.b64encode(self.raw).decode("ascii")

    @property
    def fingerprint(self) -> str:
        return "SHA256:" + base64.b64encode(hashlib.sha256(self.raw).digest()).decode("ascii").rstrip("=")

    def verifies(self, signature: bytes, data: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.raw).verify(signature, data)
        except (InvalidSignature, ValueError):
            return False
        return True

    @classmethod
    def parse(cls, text: str, where: str = "the public key") -> PublicKey:
        """`ed25519:<base64>` (as `audit public-key` prints it) or a PEM public key."""
        clean = text.strip()
        if clean.startswith("-----BEGIN"):
            try:
                key = serialization.load_pem_public_key(clean.encode())
            except ValueError:
                raise AuditKeyError(f"{where}: not a readable PEM public key") from None
            if not isinstance(key, Ed25519PublicKey):
                raise AuditKeyError(f"{where}: not an Ed25519 key")
            return cls(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
        if not clean.startswith(PUBLIC_PREFIX):
            raise AuditKeyError(f"{where}: expected ed25519:<base64> as `audit public-key` prints it")
        try:
            raw = base64.b64decode(clean[len(PUBLIC_PREFIX):], validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 32:
            raise AuditKeyError(f"{where}: ed25519: must be followed by the base64 of 32 bytes")
        return cls(raw)


def read_public_key(key_or_file: str) -> PublicKey:
    """A public key given on the command line: the key itself, or a file holding it."""
    if key_or_file.strip().startswith(PUBLIC_PREFIX):
        return PublicKey.parse(key_or_file, "--public-key")
    path = Path(key_or_file)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AuditKeyError(f"--public-key {key_or_file}: neither ed25519:<base64> nor an existing file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AuditKeyError(f"--public-key {key_or_file}: cannot read the file: {exc}") from None
    return PublicKey.parse(text, f"--public-key {key_or_file}")


class SigningKey:
    """The private key that signs checkpoints; `source` says where it came from (for messages)."""

    def __init__(self, private: Ed25519PrivateKey, source: str) -> None:
        self._private = private
        self.source = source
        self.public = PublicKey(private.public_key().public_bytes(serialization.Encoding.Raw,
                                                                  serialization.PublicFormat.Raw))

    def sign(self, data: bytes) -> bytes:
        return self._private.sign(data)

    @classmethod
    def generate(cls, source: str = "a new key") -> SigningKey:
        return cls(Ed25519PrivateKey.generate(), source)

    def pem(self) -> bytes:
        return self._private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption())

    @classmethod
    def from_text(cls, text: str, source: str) -> SigningKey:
        """PKCS#8 PEM, or the base64 of the 32-byte seed."""
        clean = text.strip()
        if clean.startswith("-----BEGIN"):
            try:
                key = serialization.load_pem_private_key(clean.encode(), password=None)
            except (ValueError, TypeError):
                raise AuditKeyError(f"the signing key from {source} is not a readable PEM private key") from None
            if not isinstance(key, Ed25519PrivateKey):
                raise AuditKeyError(f"the signing key from {source} is not an Ed25519 key")
            return cls(key, source)
        try:
            seed = base64.b64decode(clean, validate=True)
        except (binascii.Error, ValueError):
            seed = b""
        if len(seed) != 32:
            raise AuditKeyError(f"the signing key from {source} is neither a PEM private key "
                                "nor the base64 of a 32-byte Ed25519 seed")
        return cls(Ed25519PrivateKey.from_private_bytes(seed), source)


def available(path: Path) -> bool:
    """A signing key is there to load (env or key file), so `load` will not make a new one."""
    return bool(os.environ.get(SIGNING_KEY_ENV)) or path.exists()


def load(path: Path, *, create: bool = True) -> SigningKey:
    """The key from env CRISIS_CONSOLE_SIGNING_KEY, else from `path` (created there if allowed)."""
    env_key = os.environ.get(SIGNING_KEY_ENV)
    if env_key:
        return SigningKey.from_text(env_key, f"env {SIGNING_KEY_ENV}")
    if path.exists():
        try:
            text = path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise AuditKeyError(f"cannot read the signing key file {path}: {exc}") from None
        return SigningKey.from_text(text, str(path))
    if not create:
        raise AuditKeyError(f"no audit signing key: set {SIGNING_KEY_ENV} or restore the key file {path}")
    return _create(path)


def _create(path: Path) -> SigningKey:
    """Written whole beside the target, then linked into place: a reader never sees half a key,
    and of two processes creating it at once, the second uses the first one's key."""
    key = SigningKey.generate(str(path))
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(handle, "wb") as fh:  # mkstemp: mode 0600
                fh.write(key.pem())
                fh.flush()
                os.fsync(fh.fileno())
            os.link(temp, path)
        finally:
            os.unlink(temp)
    except FileExistsError:  # another process created it first: use theirs
        return load(path, create=False)
    except OSError as exc:
        raise AuditKeyError(f"cannot create the signing key file {path}: {exc.strerror}") from None
    log.info("created a new audit signing key at %s (mode 0600, fingerprint %s); back it up",
             path, key.public.fingerprint)
    return key
