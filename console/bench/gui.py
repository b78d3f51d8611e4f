"""GUI responsiveness: the real window sends to N people while a heartbeat times the GUI thread.

    python -m console.bench gui --recipients 10000 [--workers 4] [--db URL] [--startup-runs 3]

The window is the real one (console.gui.app.build, offscreen) with its embedded
dispatcher and acknowledgement service. N contacts are imported, an email
channel points at an SMTP receiver in another process (MailSinkProcess), and the
broadcast goes through ComposeView.send (its confirmation answered yes) while
the Broadcasts view shows it live. A 5 ms QTimer heartbeat records every gap on
the GUI thread: stall = gap − interval. Goal: max stall < 50 ms.

Cold start is timed in child processes, from spawn until the main window's first
exposure has been handled, so painted (goal < 1.5 s), beside a bare QMainWindow's
cold start, timed the same way, as the baseline.
"""

from __future__ import annotations

import argparse
import atexit
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# First, as when the benchmark lived in console/gui: the package's pre-imports run before PySide6
# loads (see console/gui/__init__.py), in this process and in its cold-start children.
import console.gui  # noqa: F401
from console.bench.guibeat import ACTOR, HEARTBEAT_MS, Heartbeat, child_env

GOAL_STALL_MS = 50.0
GOAL_START_S = 1.5


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m console.bench gui", description=__doc__.split("\n")[0])
    parser.add_argument("--recipients", type=int, default=10_000, metavar="N")
    parser.add_argument("--workers", type=int, default=4, help="dispatcher sending threads (default 4)")
    parser.add_argument("--db", metavar="URL", help="database URL (default: a new SQLite file in a temp dir)")
    parser.add_argument("--startup-runs", type=int, default=3, metavar="K", help="cold starts of each kind (0: skip)")
    parser.add_argument("--dispatcher", choices=("embedded", "process", "both"), default="both",
                        help="the app's embedded dispatcher (the default app), a `crisis-console dispatch` "
                             "process beside it, or one run of each (default)")
    parser.add_argument("--startup-child", choices=("app",), help=argparse.SUPPRESS)
    parser.add_argument("--heartbeat-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.startup_child or args.heartbeat_child:
        from console.bench import guichildren as children

        return children.startup_child(args.db) if args.startup_child else children.heartbeat_child()
    with tempfile.TemporaryDirectory(prefix="crisis-bench-gui-") as tmp:
        _isolate(Path(tmp))
        db_url = args.db or f"sqlite:///{Path(tmp) / 'bench.db'}"
        return _run(args, db_url, Path(tmp))


def _isolate(tmp: Path) -> None:
    """A throwaway key, config and data dir; never the user's own (children inherit it)."""
    from cryptography.fernet import Fernet

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["CRISIS_CONSOLE_KEY"] = Fernet.generate_key().decode()
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        (tmp / var.lower()).mkdir()
        os.environ[var] = str(tmp / var.lower())


def _run(args: argparse.Namespace, db_url: str, tmp: Path) -> int:
    from console.bench.guichildren import startups
    from console.bench.mailsink import MailSinkProcess

    n = args.recipients
    with MailSinkProcess() as sink:
        t0 = time.perf_counter()
        _prepare(db_url, n, sink.port, args.workers)
        print(f"setup: {n} contacts imported and an email channel to 127.0.0.1:{sink.port} "
              f"in {time.perf_counter() - t0:.1f} s", flush=True)
        starts = startups(db_url, args.startup_runs) if args.startup_runs else None
        modes = ("embedded", "process") if args.dispatcher == "both" else (args.dispatcher,)
        results = {mode: _send_and_watch(db_url, n, sink, tmp, mode, args.workers)
                   for mode in modes}
    for mode, result in results.items():
        _report(n, args.workers, db_url, mode, result)
    if starts:
        _report_startups(starts)
    first = results[modes[0]]
    ok = first["max_stall_ms"] < GOAL_STALL_MS and first["delivered"] == n
    if starts:
        ok = ok and statistics.median(starts["app"]) < GOAL_START_S
    return 0 if ok else 1


def _prepare(db_url: str, n: int, port: int, workers: int) -> None:
    from console import settings
    from console.channelstore import save_channel
    from console.directory.csvimport import Row, write_rows
    from console.storage import open_database
    from console.vocabulary import ChannelKind

    db = open_database(db_url)
    box = db.secrets
    sites = ("Leeds", "Bristol", "Glasgow")
    rows = [Row(i + 2, f"Person {i:05d}", f"person{i}@bench.example", None, [sites[i % 3]], {}) for i in range(n)]
    with db.write() as session:
        write_rows(session, rows, ACTOR, label="bench")
        save_channel(session, box, ACTOR, name="Bench mail", kind=ChannelKind.EMAIL,
                     url=f"mailto://127.0.0.1:{port}?from=alerts@bench.example&to={{address}}&mode=insecure")
        for key, value in (("ack.host", "127.0.0.1"), ("ack.port", "0"), ("dispatch.workers", str(workers))):
            settings.set_value(session, key, value, ACTOR)
    db.dispose()


# -- the responsiveness run --------------------------------------------------------------

def _wait(app: Any, condition: Any, timeout: float, what: str, every_ms: int = 20) -> None:
    """Run the real event loop (as app.exec would) until `condition()` holds."""
    from PySide6.QtCore import QEventLoop, QTimer

    if condition():
        return
    loop = QEventLoop()
    deadline = time.perf_counter() + timeout
    timed_out = False

    def check() -> None:
        nonlocal timed_out
        if condition():
            loop.quit()
        elif time.perf_counter() > deadline:
            timed_out = True
            loop.quit()

    timer = QTimer()
    timer.setInterval(every_ms)
    timer.timeout.connect(check)
    timer.start()
    loop.exec()
    timer.stop()
    if timed_out:
        raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")


def _send_and_watch(db_url: str, n: int, sink: Any, tmp: Path, mode: str, workers: int) -> dict[str, Any]:
    """One broadcast to everyone through the window; `mode` says where the dispatcher runs."""
    from PySide6.QtCore import QSettings

    from console import settings
    from console.bench.guichildren import start_control, stop_control
    from console.broadcast.status import broadcast_status
    from console.gui.app import application, build
    from console.gui.prefs import Preferences
    from console.gui.services import OFF, RUNNING
    from console.storage import open_database
    from console.vocabulary import DeliveryState

    app = application()
    db = open_database(db_url)
    with db.write() as session:
        settings.set_value(session, "dispatch.embedded", "true" if mode == "embedded" else "false", ACTOR)
    helper = _start_dispatcher(db_url, workers) if mode == "process" else None
    if helper is not None:
        atexit.register(helper.kill)  # a run that fails half-way must not leave it sending
    prefs = Preferences(QSettings(str(tmp / "prefs.ini"), QSettings.Format.IniFormat))
    window, services = build(db, ACTOR, prefs=prefs)
    window.resize(1400, 900)
    window.show()
    # The pages by their keys, as the user reaches them (not by where their modules live).
    compose: Any = window.page("compose")
    broadcasts: Any = window.page("broadcasts")
    wanted = RUNNING if mode == "embedded" else OFF
    _wait(app, lambda: services.state.dispatcher == wanted and services.state.ack == RUNNING, 60, "the services")
    _wait(app, lambda: compose.contacts.rowCount() == n, 120, "the compose view's people")
    with db.write() as session:  # the ack service took a free port: links must name it
        settings.set_value(session, "ack.public_url", services.ack_url or "http://127.0.0.1:1", ACTOR)
    compose.confirm = lambda _text: True
    compose.title_edit.setText("Fire alarm: evacuate building A")
    compose.body_edit.setPlainText("Leave by the **nearest exit** and answer below.")
    compose.use_safety_check()
    compose.select(groups=["all"], channels=["Bench mail"])
    _wait(app, lambda: compose.count is not None and compose.count.recipients == n, 60, "the audience count")

    created: list[tuple[int, float]] = []
    compose.bridge.broadcast_created.connect(lambda bid: created.append((bid, time.perf_counter())))
    sink.reset()
    control = start_control()
    beat = Heartbeat()
    beat.start()
    t_click = time.perf_counter()
    compose.send()
    _wait(app, lambda: bool(created), 120, "the broadcast to be written")
    broadcast_id, t_created = created[0]
    _wait(app, lambda: sink.count >= n, max(300.0, n / 10), f"{n} mails at the receiver")
    t_delivered = time.perf_counter()
    beat.stop()
    control_stalls = stop_control(control)
    first_at, last_at = sink.first_at, sink.last_at

    def table_sent() -> int:
        model = broadcasts.recipients
        if model.broadcast_id != broadcast_id:
            return 0
        return sum(1 for row in model.rows() if row.state == DeliveryState.SENT)

    shown_at_end = table_sent()
    rows_at_end = broadcasts.recipients.rowCount() if broadcasts.recipients.broadcast_id == broadcast_id else 0
    try:
        _wait(app, lambda: table_sent() >= n, 30, "the recipients table")
        caught_up = time.perf_counter() - t_delivered
    except TimeoutError:
        caught_up = None
    with db.read() as session:
        st = broadcast_status(session, broadcast_id)
    services.stop()
    window.close()
    window.deleteLater()
    db.dispose()
    if helper is not None:
        helper.terminate()
        helper.wait(60)
    gaps = beat.gaps
    stalls = sorted(s for _t, s in gaps)

    def phase(when: float) -> str:
        if when <= t_created:
            return "writing the broadcast"
        return "sending"

    worst = sorted(gaps, key=lambda g: g[1], reverse=True)[:5]
    return {
        "beats": len(gaps), "max_stall_ms": stalls[-1] * 1000 if stalls else 0.0,
        "p99_stall_ms": stalls[int(len(stalls) * 0.99) - 1] * 1000 if stalls else 0.0,
        "p50_stall_ms": stalls[len(stalls) // 2] * 1000 if stalls else 0.0,
        "worst": [(s * 1000, t - t_click, phase(t)) for t, s in worst],
        "write_s": t_created - t_click, "total_s": t_delivered - t_click,
        "receiver_rate": n / (last_at - first_at) if last_at > first_at else 0.0,
        "delivered": st.sent, "failed": st.failed, "rows": rows_at_end, "shown_sent_at_end": shown_at_end,
        "caught_up_s": caught_up, "control": control_stalls,
    }


def _start_dispatcher(db_url: str, workers: int) -> subprocess.Popen[str]:
    """`crisis-console dispatch` in its own process (as on a server), until it says it runs."""
    cmd = [sys.executable, "-m", "console", "--db", db_url, "dispatch", "--workers", str(workers)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=child_env())
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "running" not in line:
        proc.kill()
        raise RuntimeError(f"the dispatcher process did not start: {line!r}")
    return proc


# -- report --------------------------------------------------------------------------------

def _report(n: int, workers: int, db_url: str, mode: str, r: dict[str, Any]) -> None:
    backend = db_url.split(":", 1)[0]
    where = ("the app's embedded dispatcher" if mode.startswith("embedded")
             else "a `crisis-console dispatch` process beside the app")
    print(f"\nGUI responsiveness: {n} recipients, {backend}, {where} ({workers} sending threads), "
          f"heartbeat every {HEARTBEAT_MS} ms on the GUI thread")
    print(f"  send click → broadcast written: {r['write_s']:.2f} s; → all {n} mails received: {r['total_s']:.1f} s "
          f"({n / r['total_s']:.0f} msgs/s end to end, {r['receiver_rate']:.0f} msgs/s at the receiver)")
    print(f"  deliveries: {r['delivered']} sent, {r['failed']} failed")
    verdict = "PASS" if r["max_stall_ms"] < GOAL_STALL_MS else "FAIL"
    print(f"  GUI thread stalls over {r['beats']} beats: max {r['max_stall_ms']:.1f} ms, "
          f"p99 {r['p99_stall_ms']:.1f} ms, median {r['p50_stall_ms']:.1f} ms "
          f"(goal: max < {GOAL_STALL_MS:.0f} ms) {verdict}")
    for ms, at, phase in r["worst"]:
        print(f"    {ms:6.1f} ms at +{at:5.2f} s ({phase})")
    if r["control"]:
        print(f"  control, a bare Qt process beating beside the run: max {r['control'][0]:.1f} ms, "
              f"p99 {r['control'][1]:.1f} ms (stalls the machine itself causes)")
    caught = (f"all {n} shown as sent {r['caught_up_s']:.2f} s later" if r["caught_up_s"] is not None
              else "did not catch up within 30 s")
    print(f"  recipients table when the last mail arrived: {r['rows']} rows, {r['shown_sent_at_end']} shown as sent "
          f"of {r['delivered']} delivered; {caught}")


def _report_startups(starts: dict[str, list[float]]) -> None:
    app_s, bare_s = statistics.median(starts["app"]), statistics.median(starts["bare"])
    verdict = "PASS" if app_s < GOAL_START_S else "FAIL"
    print(f"\nCold start to the main window exposed (median of {len(starts['app'])}; "
          "spawn → first exposure painted):")
    print(f"  Crisis Console: {app_s:.2f} s  (runs: {', '.join(f'{t:.2f}' for t in starts['app'])}) "
          f"goal < {GOAL_START_S} s {verdict}")
    print(f"  baseline, a bare QMainWindow: {bare_s:.2f} s  (runs: {', '.join(f'{t:.2f}' for t in starts['bare'])})"
          f"; the console costs {app_s - bare_s:+.2f} s more")
