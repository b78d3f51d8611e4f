"""Child processes that say when they are ready: spawn, then wait for the first message.

Always `spawn`, never `fork`: the parents have threads, event loops and database
connections. The child's function gets its end of a pipe as the first argument
and sends one message once it is ready (or why it is not); the parent gets that
message back, or an exception that says what went wrong, with the child reaped.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from console import stopsignals

CONTEXT = multiprocessing.get_context("spawn")


class ChildExited(RuntimeError):
    """The child ended before it sent anything."""

    def __init__(self, exitcode: int | None) -> None:
        super().__init__(f"exited during start-up (exit code {exitcode})")
        self.exitcode = exitcode


def spawn_and_wait(target: Callable[..., None], args: tuple[Any, ...], *, name: str, daemon: bool,
                   timeout: float, ignore_interrupt: bool = False) -> tuple[BaseProcess, Connection, Any]:
    """Start `target(conn, *args)` in a new interpreter; return the process, our end of the pipe
    and the first thing the child sent.

    With `ignore_interrupt` the child ignores SIGINT from its first instruction on and starts
    with SIGTERM blocked until `target` unblocks it (console.stopsignals): a Ctrl-C sent to the
    whole process group is then this process's to handle, not a traceback in the child.

    Raises:
        TimeoutError: nothing came within `timeout` seconds (the child is killed).
        ChildExited: the child ended first.
    """
    parent, child = CONTEXT.Pipe()
    if ignore_interrupt:
        proc = CONTEXT.Process(target=stopsignals.run_ignoring_interrupt, args=(target, child, *args), name=name,
                               daemon=daemon)
        with stopsignals.blocked():
            proc.start()
    else:
        proc = CONTEXT.Process(target=target, args=(child, *args), name=name, daemon=daemon)
        proc.start()
    child.close()  # ours closed: EOF once the child's copy goes
    try:
        if not parent.poll(timeout):
            raise TimeoutError(f"{name} did not start within {timeout:g} s")
        return proc, parent, parent.recv()
    except EOFError:
        proc.join(10)
        parent.close()
        raise ChildExited(proc.exitcode) from None
    except BaseException:
        parent.close()
        proc.kill()
        proc.join(10)
        raise
