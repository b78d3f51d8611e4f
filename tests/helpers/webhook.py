"""A real HTTP endpoint on loopback for json://, form:// and xml:// channels: it records what it gets.

It answers 503 to the first `fail_first` requests (a flaky endpoint, for retries) and 500 to
any path starting with `/fail` (an endpoint that always refuses); everything else gets 200.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int


class Webhook(ThreadingHTTPServer):
    """The endpoint; use `running()` to serve it in a thread for the length of a test."""

    def __init__(self, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.received: list[Received] = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Every request, answered or refused: path, headers and raw body."""
        return [{"path": r.path, "headers": r.headers, "body": r.body} for r in self.received]

    @property
    def bodies(self) -> list[dict[str, Any]]:
        """The JSON bodies of the requests answered 200."""
        return [json.loads(r.body) for r in self.received if r.status == 200]

    def _status(self, path: str) -> int:
        with self.lock:
            if self.fail_first > 0:
                self.fail_first -= 1
                return 503
        return 500 if path.startswith("/fail") else 200


class _Handler(BaseHTTPRequestHandler):
    server: Webhook

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status = self.server._status(self.path)
        with self.server.lock:
            self.server.received.append(Received(self.path, dict(self.headers), body, status))
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def running(fail_first: int = 0) -> Iterator[Webhook]:
    """A started Webhook, shut down and closed afterwards."""
    server = Webhook(fail_first)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
