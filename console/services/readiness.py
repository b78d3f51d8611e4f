"""Would the answers come back? Warnings for two mistakes a send does not show by itself.

Links that point at this machine (the default `http://127.0.0.1:8765`) sent to
people elsewhere open nothing on their phones; and with no answer service
behind `ack.public_url` every answer button fails. The send itself succeeds in
both cases, so nothing else would say so. Both are warnings only: a send in a
crisis is never blocked by them. Both faces call these (the CLI after `send` /
`remind` and in `status`, Compose in a worker).
"""

from __future__ import annotations

import ipaddress
import json
import socket
import ssl
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from console import settings
from console.broadcast.audience import resolve
from console.broadcast.errors import BroadcastError
from console.broadcast.send import existing_broadcast
from console.models import Channel, Delivery, Recipient
from console.storage import Database

DEFAULT_TIMEOUT = 2.0
"""Seconds the /healthz probe waits to connect, and again for the answer."""


class ServiceState(StrEnum):
    """What `GET {ack.public_url}/healthz` said."""

    OK = "ok"
    UNREACHABLE = "unreachable"  # no connection, no answer in time, or a name that does not resolve
    UNHEALTHY = "unhealthy"  # answered, but not "ok" (503: answers cannot be committed; or not the service)


class WarningCode(StrEnum):
    LOOPBACK_LINKS = "loopback_links"
    ANSWER_SERVICE_UNREACHABLE = "answer_service_unreachable"
    ANSWER_SERVICE_UNHEALTHY = "answer_service_unhealthy"


@dataclass(frozen=True)
class AnswerService:
    """The answer service as seen from here: `url` is the health URL that was probed."""

    url: str
    state: ServiceState
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.state is ServiceState.OK

    def as_json(self) -> dict[str, Any]:
        return {"url": self.url, "state": self.state.value, "reason": self.reason}


@dataclass(frozen=True)
class ReadinessWarning:
    """One thing that would make answers fail; `message` is one line for a person."""

    code: WarningCode
    message: str

    def as_json(self) -> dict[str, str]:
        return {"code": self.code.value, "message": self.message}


@dataclass(frozen=True)
class LinkCheck:
    """Where the links of a send point, and how many of its people are not on this machine."""

    public_url: str
    loopback: bool
    people: int
    remote: int

    def warning(self) -> ReadinessWarning | None:
        if not (self.loopback and self.remote):
            return None
        return ReadinessWarning(WarningCode.LOOPBACK_LINKS, (
            f"links point at {self.public_url}, which only this machine can open, but {self.remote} of "
            f"{self.people} people are elsewhere: their answer links will not work; set ack.public_url to an "
            "address they can reach (crisis-console settings set ack.public_url https://…)"))


# --- what counts as "this machine" -------------------------------------------------------

def _local_host(host: str) -> bool:
    host = host.strip().lower().rstrip(".")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    host = host.removeprefix("ipv6:")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return ip.is_loopback or ip.is_unspecified


def is_loopback_url(url: str) -> bool:
    """True when a link to `url` opens only on the machine it is opened on (127.0.0.0/8, ::1, localhost)."""
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return False
    return host is not None and _local_host(host)


def is_local_address(address: str, field: str) -> bool:
    """True when the person at `address` reads their messages on this machine.

    Email: a domain of localhost (or *.localhost, or a loopback IP literal). A Matrix id
    (`@user:server`) whose server is local. A phone number or any other chat id: never.
    """
    address = address.strip()
    if field == "email":
        user, at, domain = address.rpartition("@")
        return bool(at and user) and _local_host(domain)
    if field == "chat" and address.startswith("@") and ":" in address:
        server = address.split(":", 1)[1]
        host, _colon, port = server.rpartition(":")
        return _local_host(host if _colon and port.isdigit() else server)
    return False


def _count_remote(people: Iterable[tuple[str, Sequence[tuple[str, str]]]]) -> tuple[int, int]:
    """(people, of them not local): a person with routes is judged by every route, else by their email."""
    total = remote = 0
    for email, routes in people:
        total += 1
        local = (all(is_local_address(a, f) for a, f in routes) if routes
                 else is_local_address(email, "email"))
        remote += not local
    return total, remote


# --- the two checks ----------------------------------------------------------------------

def _public_url(db: Database) -> str:
    with db.read() as session:
        return str(settings.get(session, "ack.public_url"))


def check_links_for_audience(db: Database, groups: list[str], contact_ids: list[int],
                             channels: list[str] | None) -> LinkCheck:
    """The link check for a send not written yet (Compose): the audience resolved as sending would.

    An audience that does not resolve gives no warning: the count already says what is wrong.
    """
    with db.read() as session:
        public_url = str(settings.get(session, "ack.public_url"))
        if not is_loopback_url(public_url):
            return LinkCheck(public_url, False, 0, 0)
        try:
            audience = resolve(session, groups, contact_ids, channels)
        except BroadcastError:
            return LinkCheck(public_url, True, 0, 0)
    people, remote = _count_remote((email, [(r.address, r.field) for r in routes])
                                   for _name, email, routes in audience.people.values())
    return LinkCheck(public_url, True, people, remote)


def check_links_for_broadcast(db: Database, broadcast_id: int) -> LinkCheck:
    """The link check for a written broadcast (its reminders use the links as set now)."""
    with db.read() as session:
        existing_broadcast(session, broadcast_id)
        public_url = str(settings.get(session, "ack.public_url"))
        if not is_loopback_url(public_url):
            return LinkCheck(public_url, False, 0, 0)
        routes: dict[int, list[tuple[str, str]]] = {}
        for rid, address, field in session.execute(
                select(Delivery.recipient_id, Delivery.address, Channel.address_field)
                .join(Channel, Channel.id == Delivery.channel_id)
                .where(Delivery.broadcast_id == broadcast_id, Delivery.recipient_id.is_not(None),
                       Delivery.address.is_not(None)).distinct()):
            if rid is not None and address is not None:
                routes.setdefault(rid, []).append((address, field or "email"))
        emails = session.execute(select(Recipient.id, Recipient.email)
                                 .where(Recipient.broadcast_id == broadcast_id)).all()
    people, remote = _count_remote((email, routes.get(rid, [])) for rid, email in emails)
    return LinkCheck(public_url, True, people, remote)


def answer_service_reachable(db: Database, timeout: float = DEFAULT_TIMEOUT) -> AnswerService:
    """GET `{ack.public_url}/healthz`: ok, unreachable (and why) or unhealthy (503, and why)."""
    return probe_answer_service(_public_url(db), timeout)


def probe_answer_service(public_url: str, timeout: float = DEFAULT_TIMEOUT) -> AnswerService:
    """GET `{public_url}/healthz` within about 2 × `timeout` seconds, name lookup included."""
    import requests  # here: the desktop imports this module before its first window, and requests is slow to load

    url = public_url.rstrip("/") + "/healthz"
    outcome: list[tuple[int, bytes] | BaseException] = []

    def probe() -> None:
        try:
            with requests.get(url, timeout=(timeout, timeout), allow_redirects=False,
                              headers={"Accept": "application/json"}) as response:
                outcome.append((response.status_code, response.content[:4096]))
        except Exception as exc:  # noqa: BLE001 - every failure is an answer: "unreachable, because …"
            outcome.append(exc)

    worker = threading.Thread(target=probe, name="healthz-probe", daemon=True)
    worker.start()
    worker.join(2 * timeout + 0.5)  # a name lookup has no timeout of its own
    if not outcome:
        return AnswerService(url, ServiceState.UNREACHABLE, f"no answer within {2 * timeout:g} s")
    result = outcome[0]
    if isinstance(result, BaseException):
        return AnswerService(url, ServiceState.UNREACHABLE, _reason(result, urlsplit(url).hostname or "", timeout))
    status, body = result
    try:
        health = json.loads(body)
    except ValueError:
        health = None
    if not isinstance(health, dict) or "status" not in health:
        return AnswerService(url, ServiceState.UNHEALTHY,
                             f"HTTP {status}, not a Crisis Console answer service (no health report)")
    if status == 200 and health["status"] == "ok":
        return AnswerService(url, ServiceState.OK)
    details = ", ".join(f"{k} {health[k]}" for k in ("database", "writer") if k in health)
    return AnswerService(url, ServiceState.UNHEALTHY, f"HTTP {status}: {health['status']}"
                         + (f" ({details})" if details else ""))


def _reason(exc: BaseException, host: str, timeout: float) -> str:
    """The root cause in a few words (requests wraps it three levels deep)."""
    import requests  # loaded already: the probe used it

    seen: set[int] = set()
    stack = [exc]
    while stack:
        e = stack.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, socket.gaierror):
            return f"the name {host} does not resolve"
        if isinstance(e, ConnectionRefusedError):
            return "connection refused (nothing listens there)"
        if isinstance(e, TimeoutError | requests.Timeout):
            return f"no answer within {timeout:g} s"
        if isinstance(e, ssl.SSLError):
            return f"TLS failed: {e.reason or e}"
        stack.extend(n for n in (e.__cause__, e.__context__, getattr(e, "reason", None), *e.args)
                     if isinstance(n, BaseException))
    return type(exc).__name__


def service_warning(service: AnswerService) -> ReadinessWarning | None:
    """The warning a probe result calls for (None when the service is fine)."""
    if service.state is ServiceState.UNREACHABLE:
        return ReadinessWarning(WarningCode.ANSWER_SERVICE_UNREACHABLE, (
            f"no answer service is reachable at {service.url} ({service.reason}): answers cannot be recorded; "
            "run `crisis-console serve-acks` or the desktop app, or set ack.public_url"))
    if service.state is ServiceState.UNHEALTHY:
        return ReadinessWarning(WarningCode.ANSWER_SERVICE_UNHEALTHY, (
            f"the answer service at {service.url} is not healthy ({service.reason}): answers may not be recorded"))
    return None


def broadcast_warnings(db: Database, broadcast_id: int,
                       timeout: float = DEFAULT_TIMEOUT) -> tuple[ReadinessWarning, ...]:
    """Everything that would keep the answers to a written broadcast from coming back."""
    found = (check_links_for_broadcast(db, broadcast_id).warning(),
             service_warning(answer_service_reachable(db, timeout)))
    return tuple(w for w in found if w is not None)


def audience_warnings(db: Database, groups: list[str], contact_ids: list[int], channels: list[str] | None,
                      timeout: float = DEFAULT_TIMEOUT) -> tuple[ReadinessWarning, ...]:
    """The same for a send being composed (an audience, not yet a broadcast)."""
    found = (check_links_for_audience(db, groups, contact_ids, channels).warning(),
             service_warning(answer_service_reachable(db, timeout)))
    return tuple(w for w in found if w is not None)
