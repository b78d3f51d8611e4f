"""What both sinks tell about where they listen."""

from __future__ import annotations


class Listening:
    """`host` always; `port` once started (the one bound, when port 0 was asked for)."""

    _host: str
    _port: int  # 0 until started

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        if not self._port:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return self._port
