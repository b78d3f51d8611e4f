"""A throwaway PostgreSQL server for the test session.

Tuned for speed, not safety (fsync off): the data dir is deleted at the end anyway.
PostgreSQL refuses to run as root, so as root the server runs as the ``postgres`` OS
user (created by Debian's package).
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg
from psycopg import sql

from . import ComponentMissing, free_port

_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "shared_buffers": "64MB",
}


def find_bindir() -> Path:
    """The newest ``/usr/lib/postgresql/*/bin`` with initdb, else ``pg_config --bindir``."""
    def version(path: str) -> tuple[int, ...]:
        match = re.search(r"/postgresql/([\d.]+)/bin$", path)
        return tuple(int(p) for p in match.group(1).split(".")) if match else (0,)

    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True)
    for candidate in candidates:
        if (Path(candidate) / "initdb").exists():
            return Path(candidate)
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        bindir = Path(out.stdout.strip())
        if out.returncode == 0 and (bindir / "initdb").exists():
            return bindir
    raise ComponentMissing(
        "PostgreSQL server binaries not found (no initdb under /usr/lib/postgresql/*/bin "
        "nor in `pg_config --bindir`); install the Debian package `postgresql`")


class PostgresServer:
    """initdb + pg_ctl in a temp dir, on a free port of 127.0.0.1, trust auth."""

    def __init__(self, bindir: Path | None = None) -> None:
        self._bindir_arg = bindir
        self.bindir: Path | None = None
        self.dir: Path | None = None
        self.port = 0
        self.host = "127.0.0.1"
        self.user = "postgres"
        self._as_postgres: list[str] = []

    @property
    def data_dir(self) -> Path:
        assert self.dir is not None, "PostgresServer not started"
        return self.dir / "data"

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> PostgresServer:
        """Create a cluster and start it; return once it accepts connections."""
        self.bindir = self._bindir_arg or find_bindir()
        if os.geteuid() == 0:
            runuser = shutil.which("runuser")
            if runuser is None:
                raise ComponentMissing("running as root but `runuser` is missing (util-linux)")
            self._as_postgres = [runuser, "-u", "postgres", "--"]
        self.dir = Path(tempfile.mkdtemp(prefix="crisis-pg-"))
        if self._as_postgres:
            shutil.chown(self.dir, "postgres", "postgres")
        try:
            self._run("initdb", "-D", str(self.data_dir), "-A", "trust", "-U", self.user,
                      "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
            self._start_on_free_port()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_on_free_port(self, attempts: int = 3) -> None:
        assert self.dir is not None
        for attempt in range(attempts):
            self.port = free_port(self.host)
            options = " ".join(
                [f"-p {self.port}", f"-k {self.dir}"]
                + [f"-c {key}={value}" for key, value in _SETTINGS.items()])
            try:
                self._run("pg_ctl", "-D", str(self.data_dir), "-l", str(self.dir / "server.log"),
                          "-w", "-t", "60", "-o", options, "start")
                return
            except RuntimeError:
                # Another process may have taken the port between probe and bind.
                if attempt == attempts - 1 or "already in use" not in self.log_tail():
                    raise

    def _run(self, tool: str, *args: str) -> None:
        assert self.bindir is not None
        cmd = [*self._as_postgres, str(self.bindir / tool), *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                              cwd=self.dir, timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"{tool} failed ({proc.returncode}): {proc.stdout}{proc.stderr}\n"
                               f"{self.log_tail()}")

    def log_tail(self, chars: int = 3000) -> str:
        log = self.dir / "server.log" if self.dir else None
        return log.read_text(errors="replace")[-chars:] if log and log.exists() else ""

    def url(self, name: str) -> str:
        """SQLAlchemy URL of database ``name`` (psycopg 3 driver)."""
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{name}"

    def _admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(host=self.host, port=self.port, user=self.user,
                               dbname="postgres", autocommit=True)

    def create_database(self, name: str) -> str:
        """Create an empty database; return its SQLAlchemy URL."""
        with self._admin() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop a database, disconnecting whoever is still connected to it."""
        with self._admin() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                         .format(sql.Identifier(name)))

    def stop(self) -> None:
        """Stop immediately (no checkpoint: the data is thrown away) and delete the dir."""
        if self.dir is None:
            return
        if (self.data_dir / "postmaster.pid").exists():
            try:
                self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop")
            except RuntimeError:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None
        self.port = 0

