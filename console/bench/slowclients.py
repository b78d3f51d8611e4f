"""Slow clients for `python -m console.bench acks`: connections that hold on and never finish a request.

A separate process (asyncio) keeps `count` connections open to the service
from as many loopback source addresses (127.0.1.2 onwards; the load comes from
127.0.0.1), so the per-address cap does not simply refuse them: the attack of
many machines. Half send a partial request head and then nothing; the other half
send one more header line every second. Whenever the service cuts one (its
request deadline), it connects again at once, so `count` are held all along.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import resource
import time
from dataclasses import dataclass
from typing import Any

HEAD = b"GET /healthz HTTP/1.1\r\nHost: bench\r\n"


@dataclass(frozen=True)
class HoldResult:
    """What the slow clients saw while they held on."""

    count: int
    opened: int  # connections opened in all (count, plus one for each that was cut)
    cut: int  # closed by the service
    failed: int  # connection attempts that failed
    seconds: float
    cpu_seconds: float


def source(i: int) -> str:
    return f"127.0.{1 + i // 250}.{2 + i % 250}"


class SlowClients:
    """The holding process: `start()` returns once all `count` are connected, `stop()` returns what they saw."""

    def __init__(self, host: str, port: int, count: int) -> None:
        self._args = (host, port, count)
        ctx = multiprocessing.get_context("spawn")
        self._control, child = ctx.Pipe()
        self._proc = ctx.Process(target=_main, args=(*self._args, child), name="slow-clients")
        self._child = child

    def start(self, timeout: float = 120.0) -> None:
        self._proc.start()
        self._child.close()
        if not self._control.poll(timeout):
            self._proc.kill()
            raise RuntimeError(f"the slow clients did not all connect within {timeout:.0f} s")
        message = self._control.recv()
        if message != "ready":
            self._proc.join()
            raise RuntimeError(f"the slow clients could not start: {message}")

    def stop(self) -> HoldResult:
        self._control.send("stop")
        result: HoldResult = self._control.recv()
        self._proc.join(30)
        return result


def _main(host: str, port: int, count: int, control: Any) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = count + 256
    if soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))
        except (ValueError, OSError):
            pass
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < wanted:
        control.send(f"{count} connections need {wanted} open files; the limit is {soft} (ulimit -n)")
        return
    control.send(asyncio.run(_hold(host, port, count, control)))
    control.close()


async def _hold(host: str, port: int, count: int, control: Any) -> HoldResult:
    stop = asyncio.Event()
    connected: set[int] = set()
    tally = {"opened": 0, "cut": 0, "failed": 0}
    loop = asyncio.get_running_loop()

    async def slot(i: int) -> None:
        trickle = i % 2 == 1
        while not stop.is_set():
            try:
                reader, writer = await asyncio.open_connection(host, port, local_addr=(source(i), 0))
            except OSError:
                tally["failed"] += 1
                await asyncio.sleep(0.1)
                continue
            tally["opened"] += 1
            writer.write(HEAD)
            if i not in connected:
                connected.add(i)
                if len(connected) == count:
                    control.send("ready")
            try:
                while not stop.is_set():
                    try:
                        data = await asyncio.wait_for(reader.read(4096), 1.0)
                    except TimeoutError:
                        if trickle:
                            writer.write(b"X-Slowly: %d\r\n" % int(time.monotonic()))
                        continue
                    if not data:
                        tally["cut"] += 1
                        break
            except OSError:  # reset by the service
                tally["cut"] += 1
            finally:
                writer.close()

    wall0, cpu0 = time.perf_counter(), time.process_time()
    tasks = [asyncio.create_task(slot(i)) for i in range(count)]
    await loop.run_in_executor(None, control.recv)  # "stop"
    stop.set()
    await asyncio.gather(*tasks)
    return HoldResult(count, tally["opened"], tally["cut"], tally["failed"], time.perf_counter() - wall0,
                      time.process_time() - cpu0)
