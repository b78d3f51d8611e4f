"""Real servers on loopback for the test suite: PostgreSQL, Synapse (Matrix), a browser.

The SMTP sink lives in ``console.mailsink`` because the desktop demo and the
benchmarks use it too.
"""

from __future__ import annotations

import socket


class ComponentMissing(RuntimeError):
    """A server or binary the tests need is not installed on this machine.

    conftest turns it into a skip locally and a failure in CI.
    """


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that was free a moment ago (for servers that cannot take port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
