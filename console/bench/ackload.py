"""The load process of `python -m console.bench acks`: raw HTTP/1.1 keep-alive requests from asyncio.

A SEPARATE process, so its CPU use is not the server's; requests are pre-built
bytes, so the load costs little (its CPU share is printed with the results).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    latencies: list[float]
    statuses: dict[int, int]
    cpu_seconds: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


def _load_process(host: str, port: int, requests: list[bytes], concurrency: int, out: Any) -> None:
    out.send(asyncio.run(_fire(host, port, requests, concurrency)))
    out.close()


async def _fire(host: str, port: int, requests: list[bytes], concurrency: int) -> LoadResult:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    pending = iter(requests)

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for raw in pending:
                start = time.perf_counter()
                writer.write(raw)
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head[9:12])
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                if length:
                    await reader.readexactly(length)
                latencies.append(time.perf_counter() - start)
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

    cpu0, wall0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return LoadResult(len(requests), time.perf_counter() - wall0, latencies, statuses, time.process_time() - cpu0)


def run_load(url: str, requests: list[bytes], concurrency: int) -> tuple[LoadResult, float]:
    """Fire `requests` from a separate process; returns its result and this process's CPU seconds."""
    parts = urlsplit(url)
    ctx = multiprocessing.get_context("spawn")
    receiver, sender = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_load_process, args=(parts.hostname, parts.port, requests, concurrency, sender))
    cpu0 = time.process_time()
    proc.start()
    sender.close()
    result: LoadResult = receiver.recv()
    proc.join()
    return result, time.process_time() - cpu0


def post_request(host: str, token: str, answer: str, check: str) -> bytes:
    body = urlencode({"check": check, "answer": answer}).encode()
    return (f"POST /a/{token} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def get_request(host: str, token: str) -> bytes:
    return f"GET /a/{token} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
