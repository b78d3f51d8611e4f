"""`serve-acks`: the acknowledgement web service on its own (a server, or beside a proxy)."""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from console.acks.affinity import CpuChoice, choose_cpu, parse_cpu
from console.cli.base import actor, add_common, open_db
from console.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    serve = sub.add_parser(
        "serve-acks", help="run the acknowledgement web service (answer links); stops on SIGTERM/SIGINT",
        description="Serves the pages behind the links in every message (/a/TOKEN, /g/TOKEN) and /healthz. "
                    "Several instances may run against one PostgreSQL database.")
    add_common(serve, top=False)
    serve.add_argument("--host", metavar="H", help="address to listen on (default: setting ack.host)")
    serve.add_argument("--port", type=_port, metavar="P",
                       help="TCP port, 0 = any free port (default: setting ack.port)")
    serve.add_argument("--threads", type=_threads, metavar="N", help="request threads (default: 16)")
    serve.add_argument("--cpu", type=_cpu, metavar="CPU",
                       help="run the service's threads on this CPU number, 'auto' (one CPU, picked) or 'all' "
                            "(default: setting ack.cpu; one CPU serves faster, run one instance per CPU)")
    serve.add_argument("--trusted-proxy", metavar="ADDR",
                       help="address of a reverse proxy whose X-Forwarded-For header names the real client")
    serve.set_defaults(handler=serve_acks)


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {value!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} is not in 0-65535")
    return port


def _cpu(value: str) -> CpuChoice:
    try:
        return parse_cpu(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value!r}: {exc}") from None


def _threads(value: str) -> int:
    try:
        count = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not 1 <= count <= 1000:
        raise argparse.ArgumentTypeError(f"{count} threads: choose 1-1000")
    return count


def serve_acks(args: argparse.Namespace) -> int:
    from console.acks.server import DEFAULT_THREADS, AckServer
    from console.services import acks, settings

    logging.getLogger("console.acks").setLevel(logging.INFO)  # one line per answer
    db = open_db(args)
    values = settings.get_all(db)
    host = args.host or values["ack.host"]
    port = values["ack.port"] if args.port is None else args.port
    public = values["ack.public_url"]
    cpu = values["ack.cpu"] if args.cpu is None else args.cpu
    try:
        choose_cpu(cpu)
    except ValueError as exc:
        raise UserError(f"{'--cpu' if args.cpu is not None else 'setting ack.cpu'} {cpu}: {exc}") from None
    server = AckServer(db, host, port, threads=args.threads or DEFAULT_THREADS, trusted_proxy=args.trusted_proxy,
                       cpu=cpu)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    url = server.start()
    try:
        acks.record_serving(db, actor(args), url, public)
        where = "all CPUs" if server.cpu is None else f"CPU {server.cpu}"
        guard = server.guard
        print(f"acknowledgement service on {url} (links point to {public}; database {db.display_url}; {where}; "
              f"up to {guard.max_connections} connections, a request must arrive within {guard.header_timeout:g} s)",
              flush=True)
        while not stop.wait(1.0):
            pass
        print("stopping: finishing answers in flight", flush=True)
    finally:
        server.stop()
    print("acknowledgement service stopped", flush=True)
    return 0
