"""Keeping the service's threads on one CPU.

The service is one Python process: its request threads, waitress's loop thread
and the answer writer take turns on the GIL, so a second CPU adds almost no
parallel work but every hand-over between threads on different CPUs becomes a
cross-CPU wake-up. Measured on the 2-CPU target machine (a VM, where such a
wake-up is expensive), 10,000 answers at concurrency 50:

    threads free on both CPUs   138-901 POST/s, 13-163 context switches per answer
    threads on one CPU        1,703-1,958 POST/s, 3.7-3.9 context switches per answer

(and 1,580-1,659 vs 2,778-3,399 GET/s). Unpinned, the process flips at random
between a good state and a convoy of GIL hand-overs; pinned, it does not. On a
server, run one `serve-acks` per CPU (`--cpu N`); the default picks one CPU of
those allowed, by process id, so several instances spread out.

Threads inherit the CPU mask of the thread that starts them, so `pinned()`
only needs to hold while the service starts its threads.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

from console.valuetypes import ALL as ALL
from console.valuetypes import AUTO as AUTO
from console.valuetypes import CpuChoice as CpuChoice
from console.valuetypes import parse_cpu as parse_cpu

log = logging.getLogger("console.acks")


def allowed_cpus() -> list[int] | None:
    """The CPUs this process may run on, or None where the system cannot pin threads."""
    getter = getattr(os, "sched_getaffinity", None)
    if getter is None or not hasattr(os, "sched_setaffinity"):
        return None
    return sorted(getter(0))


def choose_cpu(choice: CpuChoice) -> int | None:
    """The CPU to pin to, or None for no pinning (chosen "all", one CPU only, or not supported).

    Raises:
        ValueError: a CPU number this process may not use (the message lists those it may).
    """
    cpus = allowed_cpus()
    if cpus is None or choice == ALL:
        return None
    if isinstance(choice, int):
        if choice not in cpus:
            raise ValueError(f"CPU {choice} is not available to this process (available: "
                             f"{', '.join(map(str, cpus))})")
        return choice
    if len(cpus) < 2:
        return None
    return cpus[os.getpid() % len(cpus)]


@contextmanager
def pinned(cpu: int | None) -> Iterator[None]:
    """Run the calling thread, and every thread it starts meanwhile, on `cpu` (None: unchanged).

    The calling thread gets its former CPU mask back on exit; started threads keep `cpu`.
    """
    if cpu is None:
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpu})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)
