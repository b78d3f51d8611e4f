"""Fan-out benchmark: N personalised emails through the real send path vs raw Apprise.

    python -m console.bench fanout --recipients 10000 [--baseline 400] [--workers 4]

The receiver is an SMTP sink in a separate process (console.bench.mailsink.MailSinkProcess)
so it does not compete with the sender for the GIL. Our path: create_broadcast (one
transaction: recipients, tokens, outbox) then the Dispatcher (claim → channels.Deliverer
→ recorded with audit entries). Baseline, same receiver, same run: one `Apprise()` per
message, add + notify, on the same number of threads.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from pathlib import Path

from channels.baseline import send_raw_apprise
from console.bench.mailsink import MailSinkProcess


def _setup(db_url: str, n: int, port: int):  # type: ignore[no-untyped-def]
    from console.channelstore import save_channel
    from console.directory.csvimport import Row, write_rows
    from console.storage import open_database

    db = open_database(db_url)
    box = db.secrets
    rows = [Row(i + 2, f"Person {i}", f"person{i}@bench.example", None, None, {}) for i in range(n)]
    with db.write() as session:
        write_rows(session, rows, "bench", label="bench")
        save_channel(session, box, "bench", name="Bench mail", kind="email",
                     url=f"mailto://127.0.0.1:{port}?from=alerts@bench.example&to={{address}}&mode=insecure")
    return db


def run_ours(db_url: str, n: int, sink: MailSinkProcess, workers: int, processes: int) -> dict[str, float]:
    from console.broadcast.dispatcher import DispatchConfig, Dispatcher
    from console.broadcast.send import BroadcastRequest, create_broadcast
    from console.broadcast.status import broadcast_status

    db = _setup(db_url, n, sink.port)
    # no audit seals: a benchmark's throw-away database needs no checkpoint file beside the real key
    dispatcher = Dispatcher(db, DispatchConfig(workers=workers, processes=processes, seal=False)).start()
    sink.reset()
    box = db.secrets
    t0 = time.time()
    with db.write() as session:
        result = create_broadcast(session, box, BroadcastRequest(
            title="Fire alarm: evacuate building A", body="Leave by the nearest exit and answer below.",
            groups=["all"], severity="critical", options=["I'm safe", "I need help"]), "bench")
    written = time.time()
    dispatcher.wake()
    sink.wait_for_count(n, timeout=max(120.0, n / 20))
    delivered = time.time()
    dispatcher.run_until_done(result.broadcast_id, timeout=60)
    dispatcher.stop()
    with db.read() as session:
        st = broadcast_status(session, result.broadcast_id)
    db.dispose()
    return {"sent": st.sent, "failed": st.failed, "received": sink.count,
            "write_s": written - t0, "first_s": sink.first_at - t0, "total_s": delivered - t0,
            "rate": n / (delivered - t0)}


def run_raw(n: int, port: int, workers: int, sink: MailSinkProcess) -> dict[str, float]:
    sink.reset()
    todo = iter(range(n))
    lock = threading.Lock()
    failures = 0

    def worker() -> None:
        nonlocal failures
        while True:
            with lock:
                i = next(todo, None)
            if i is None:
                return
            url = f"mailto://127.0.0.1:{port}?from=alerts@bench.example&to=raw{i}@bench.example&mode=insecure"
            if not send_raw_apprise(url, "Fire alarm: evacuate building A",
                                    f"Leave by the nearest exit.\n\nAnswer: http://127.0.0.1/a/raw{i}"):
                with lock:
                    failures += 1

    t0 = time.time()
    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sink.wait_for_count(n - failures, timeout=60)
    elapsed = time.time() - t0
    return {"received": sink.count, "failed": failures, "first_s": sink.first_at - t0,
            "total_s": elapsed, "rate": n / elapsed}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m console.bench fanout", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--baseline", type=int, default=400, help="messages sent through raw Apprise")
    parser.add_argument("--workers", type=int, default=8, help="sender threads")
    parser.add_argument("--processes", type=int, default=2, help="sender child processes (0: in-process)")
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    args = parser.parse_args(argv)
    if not os.environ.get("CRISIS_CONSOLE_KEY"):  # a throw-away key: the bench never touches the user's
        from cryptography.fernet import Fernet

        os.environ["CRISIS_CONSOLE_KEY"] = Fernet.generate_key().decode()
    with tempfile.TemporaryDirectory() as tmp, MailSinkProcess() as sink:
        db_url = args.db or f"sqlite:///{Path(tmp) / 'bench.db'}"
        print(f"fan-out benchmark: {args.recipients} recipients, "
              f"{args.workers} sender threads in {args.processes} processes, "
              f"receiver (separate process) on 127.0.0.1:{sink.port}, cpus {os.cpu_count()}")
        raw = run_raw(args.baseline, sink.port, args.workers, sink)
        print(f"raw Apprise (one Apprise() per message): {args.baseline} msgs in {raw['total_s']:.2f} s = "
              f"{raw['rate']:.1f} msgs/s, first delivery {raw['first_s'] * 1000:.0f} ms, failed {raw['failed']:.0f}")
        ours = run_ours(db_url, args.recipients, sink, args.workers, args.processes)
        print(f"crisis-console send path: {args.recipients} msgs in {ours['total_s']:.2f} s = "
              f"{ours['rate']:.1f} msgs/s "
              f"(broadcast written in {ours['write_s'] * 1000:.0f} ms), first delivery "
              f"{ours['first_s'] * 1000:.0f} ms after send; "
              f"status sent={ours['sent']:.0f} failed={ours['failed']:.0f}, "
              f"received={ours['received']:.0f}")
        print(f"ratio: {ours['rate'] / raw['rate']:.1f}x raw Apprise")
    return 0 if ours["sent"] == args.recipients else 1
