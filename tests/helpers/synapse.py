"""A real Matrix homeserver (Synapse) on loopback, for end-to-end tests of Matrix channels.

Synapse lives in its own venv (it pins dozens of packages we do not want in the
project's environment). The venv is made once and reused across runs.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

import requests

from . import ComponentMissing, free_port

log = logging.getLogger(__name__)

SYNAPSE_REQUIREMENT = "matrix-synapse>=1.100,<2"
DEFAULT_VENV = Path.home() / ".cache" / "crisis-console" / "synapse-venv"
_READY_MARKER = ".crisis-console-ready"
# Tests send hundreds of messages and log in on every Apprise notify: lift every limit.
_NO_LIMIT = {"per_second": 1000, "burst_count": 1000}


def synapse_venv_path() -> Path:
    """Where the Synapse venv lives: env ``CRISIS_CONSOLE_SYNAPSE_VENV`` or the user cache."""
    override = os.environ.get("CRISIS_CONSOLE_SYNAPSE_VENV")
    return Path(override).expanduser() if override else DEFAULT_VENV


def ensure_synapse_venv(venv: Path | None = None) -> Path:
    """Create the Synapse venv unless a complete one is already there; return its path.

    A marker file is written only after pip succeeded, so an interrupted install is
    redone rather than trusted. A lock file keeps parallel test runs from racing.

    Raises:
        ComponentMissing: the venv or the pip install failed (e.g. no network to PyPI).
    """
    venv = (venv or synapse_venv_path()).expanduser()
    if _venv_ready(venv):
        return venv
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f"{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _venv_ready(venv):
            return venv
        if venv.exists():
            shutil.rmtree(venv)
        started = time.monotonic()
        _run_or_missing([sys.executable, "-m", "venv", str(venv)], "create the Synapse venv")
        _run_or_missing(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "-q",
             "--disable-pip-version-check", SYNAPSE_REQUIREMENT],
            f"pip install {SYNAPSE_REQUIREMENT}",
        )
        version = subprocess.run(
            [str(venv / "bin" / "python"), "-c", "import synapse; print(synapse.__version__)"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
        (venv / _READY_MARKER).write_text(version + "\n")
        log.info("Synapse %s venv made in %.1f s at %s", version, time.monotonic() - started, venv)
    return venv


def _venv_ready(venv: Path) -> bool:
    return (venv / _READY_MARKER).is_file() and (venv / "bin" / "python").exists()


def _run_or_missing(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip()[-2000:]
        raise ComponentMissing(f"could not {what} (exit {proc.returncode}):\n{tail}")


class SynapseServer:
    """One throwaway homeserver (server name ``localhost``, SQLite, no federation).

    The config is written by hand as JSON (valid YAML) so no YAML library is needed
    here and every setting the tests rely on is visible in one place.
    """

    def __init__(self, venv: Path | None = None, server_name: str = "localhost") -> None:
        self.server_name = server_name
        self._venv_arg = venv
        self.venv: Path | None = None
        self.port = 0
        self.dir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._stdout: Any = None

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def config_path(self) -> Path:
        assert self.dir is not None, "SynapseServer not started"
        return self.dir / "homeserver.yaml"

    def __enter__(self) -> SynapseServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, timeout: float = 60) -> SynapseServer:
        """Write the config, start the homeserver and wait until the client API answers."""
        self.venv = ensure_synapse_venv(self._venv_arg)
        self.dir = Path(tempfile.mkdtemp(prefix="crisis-synapse-"))
        self.port = free_port()
        self._write_config()
        self._stdout = open(self.dir / "stdout.log", "wb")
        self._proc = subprocess.Popen(
            [str(self.venv / "bin" / "python"), "-m", "synapse.app.homeserver",
             "-c", str(self.config_path)],
            cwd=self.dir, stdin=subprocess.DEVNULL, stdout=self._stdout,
            stderr=subprocess.STDOUT,
        )
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _write_config(self) -> None:
        assert self.dir is not None
        d = self.dir
        (d / "media_store").mkdir()
        (d / "signing.key").write_text(
            f"ed25519 a_test {_unpadded_b64(secrets.token_bytes(32))}\n")
        (d / "log.config").write_text(json.dumps({
            "version": 1,
            "formatters": {"p": {"format": "%(asctime)s %(name)s %(levelname)s %(message)s"}},
            "handlers": {"file": {"class": "logging.FileHandler", "formatter": "p",
                                  "filename": str(d / "homeserver.log")}},
            "root": {"level": "INFO", "handlers": ["file"]},
            "disable_existing_loggers": False,
        }))
        config = {
            "server_name": self.server_name,
            "pid_file": str(d / "homeserver.pid"),
            "listeners": [{
                "port": self.port, "bind_addresses": [self.host], "type": "http",
                "tls": False, "x_forwarded": False,
                "resources": [{"names": ["client"], "compress": False}],
            }],
            "database": {"name": "sqlite3", "args": {"database": str(d / "homeserver.db")}},
            "log_config": str(d / "log.config"),
            "media_store_path": str(d / "media_store"),
            "signing_key_path": str(d / "signing.key"),
            "registration_shared_secret": secrets.token_urlsafe(32),
            "macaroon_secret_key": secrets.token_urlsafe(32),
            "form_secret": secrets.token_urlsafe(32),
            "report_stats": False,
            "enable_registration": False,
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "federation_domain_whitelist": [],
            "bcrypt_rounds": 4,  # Apprise logs in on every notify
            "rc_message": _NO_LIMIT,
            "rc_registration": _NO_LIMIT,
            "rc_login": {"address": _NO_LIMIT, "account": _NO_LIMIT,
                         "failed_attempts": _NO_LIMIT},
            "rc_joins": {"local": _NO_LIMIT, "remote": _NO_LIMIT},
            "rc_joins_per_room": _NO_LIMIT,
            "rc_invites": {"per_room": _NO_LIMIT, "per_user": _NO_LIMIT,
                           "per_issuer": _NO_LIMIT},
            "rc_room_creation": _NO_LIMIT,
            "rc_3pid_validation": _NO_LIMIT,
            "rc_admin_redaction": _NO_LIMIT,
            "rc_presence": {"per_user": _NO_LIMIT},
        }
        self.config_path.write_text(json.dumps(config, indent=2))

    def _wait_ready(self, timeout: float) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(
                    f"Synapse exited with {self._proc.returncode} while starting:\n{self.log_tail()}")
            try:
                if requests.get(f"{self.base_url}/_matrix/client/versions", timeout=2).ok:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"Synapse did not answer within {timeout} s:\n{self.log_tail()}")

    def log_tail(self, chars: int = 3000) -> str:
        """The end of the homeserver's logs, for error messages."""
        if self.dir is None:
            return ""
        parts = []
        for name in ("stdout.log", "homeserver.log"):
            path = self.dir / name
            if path.exists():
                parts.append(f"--- {name}\n{path.read_text(errors='replace')[-chars:]}")
        return "\n".join(parts)

    def register_user(self, user: str, password: str, admin: bool = False) -> str:
        """Create an account with the shared-secret tool; return the full user id."""
        assert self.venv is not None, "SynapseServer not started"
        proc = subprocess.run(
            [str(self.venv / "bin" / "register_new_matrix_user"), "-c", str(self.config_path),
             "-u", user, "-p", password, "--admin" if admin else "--no-admin", self.base_url],
            capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"register_new_matrix_user {user} failed:\n{proc.stdout}{proc.stderr}")
        return f"@{user}:{self.server_name}"

    def client(self) -> MatrixClient:
        return MatrixClient(self.base_url)

    def stop(self) -> None:
        """Stop the homeserver and delete its directory."""
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
        if self._stdout is not None:
            self._stdout.close()
            self._stdout = None
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None


class MatrixClient:
    """Just enough of the Matrix client-server API to read back what Apprise posted.

    Each call is a one-shot request (no pooled session), so nothing is left open.
    """

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def _call(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        resp = requests.request(method, f"{self.base_url}/_matrix/client/v3{path}",
                                headers=headers, timeout=30, **kwargs)
        if not resp.ok:
            raise RuntimeError(f"Matrix {method} {path}: HTTP {resp.status_code} {resp.text}")
        return resp.json()

    def login(self, user: str, password: str) -> str:
        """Password login; return the access token."""
        body = {"type": "m.login.password", "password": password,
                "identifier": {"type": "m.id.user", "user": user}}
        return str(self._call("POST", "/login", json=body)["access_token"])

    def join(self, token: str, room: str) -> str:
        """Join a room by alias (``#room:localhost``) or id; return the room id."""
        quoted = urllib.parse.quote(room, safe="")
        return str(self._call("POST", f"/join/{quoted}", token, json={})["room_id"])

    def create_room(self, token: str, alias_localpart: str, public: bool = True) -> str:
        """Create a room ``#alias_localpart:server``; return its id.

        Apprise creates a missing room as *private* (only its bot can join), so tests
        that read posts back as another user create a public room first, the way an
        ops room exists before a bot is pointed at it.
        """
        body = {"room_alias_name": alias_localpart,
                "preset": "public_chat" if public else "private_chat",
                "visibility": "public" if public else "private"}
        return str(self._call("POST", "/createRoom", token, json=body)["room_id"])

    def invite(self, token: str, room: str, user_id: str) -> None:
        """Invite ``@user:server`` to a room (alias or id) the token's user is in."""
        room_id = self.room_id(token, room) if room.startswith("#") else room
        self._call("POST", f"/rooms/{urllib.parse.quote(room_id, safe='')}/invite", token,
                   json={"user_id": user_id})

    def room_id(self, token: str, room_alias: str) -> str:
        quoted = urllib.parse.quote(room_alias, safe="")
        return str(self._call("GET", f"/directory/room/{quoted}", token)["room_id"])

    def room_messages(self, token: str, room_alias: str, limit: int = 1000) -> list[str]:
        """Bodies of the room's ``m.room.message`` events, oldest first."""
        room_id = urllib.parse.quote(self.room_id(token, room_alias), safe="")
        data = self._call("GET", f"/rooms/{room_id}/messages", token,
                          params={"dir": "b", "limit": limit})
        return [ev["content"].get("body", "") for ev in reversed(data.get("chunk", []))
                if ev.get("type") == "m.room.message"]


def _unpadded_b64(raw: bytes) -> str:
    import base64

    return base64.b64encode(raw).decode().rstrip("=")
