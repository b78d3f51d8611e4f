"""The acknowledgement web service as a plain WSGI app.

Routes: `/a/{token}` (personal link), `/g/{token}` (group link: asks for the
work email), `/healthz`, `/static/ack.css`. GET and HEAD only read: mail
scanners open (and script-run) every link before the person does, so only a
POST from the page's own form records an answer. Every response carries the
same strict security headers; a bad or unknown token gets the same bare 404
whatever the reason, and counts towards the client address's limit.

Limits never stand between a person and their own link: an address blocked
for spraying invalid tokens is refused only its invalid requests. What a valid
token can be abused for is limited per token (a replay loop on a personal
link) and, for group links (anyone with the link can type anyone's email), per
link and per address. The group page answers byte for byte the same for a
member's email and a stranger's, and takes as long (console.acks.answers has
the rules that make its answers self-reports).
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from console.acks import pages
from console.acks.answers import NOTE_MAX, clean_note
from console.acks.errors import RecipientGone, RecorderUnavailable
from console.acks.formcheck import FormCheck, load_form_check
from console.acks.http import MAX_BODY, SECURITY_HEADERS, BadRequest, BodyTooLarge, Request, Response, StartResponse
from console.acks.limits import FailureLimiter, RequestLimiter, client_key
from console.acks.lookup import BroadcastView, Lookup, RecipientView
from console.acks.recorder import AnswerRecorder, AnswerRequest, GroupCommitRecorder, LinkRequest, Outcome
from console.acks.tokens import hash_token, well_formed
from console.settings import DEFINITIONS
from console.storage import Database
from console.vocabulary import AnswerSource

log = logging.getLogger("console.acks")

_ROUTE = re.compile(r"/([ag])/([^/]*)")
_READ = ("GET", "HEAD")
HEALTH_TTL = 2.0
"""Seconds a /healthz result is reused: its write probe must not become a load of its own."""


@dataclass(frozen=True)
class Limits:
    """What a valid token may be used for, per window (see the module docstring).

    Args:
        per_token: POSTs through one personal link.
        per_group_link: POSTs through one group link, from everyone.
        per_group_client: POSTs through one group link from one address (or IPv6 /64).
        window: seconds the counts above are taken over.
    """

    per_token: int = 20
    per_group_link: int = 1000
    per_group_client: int = 60
    window: float = 60.0


class AckApp:
    """The WSGI application; call `close()` to stop its writer.

    Args:
        db: the database.
        recorder: the write path (default: a started GroupCommitRecorder).
        limiter: invalid-token limiting (default: 30 failures a minute blocks for 5 minutes).
        limits: what a valid token may be used for per window (default: `Limits()`).
        lookup: the read path (default: Lookup over `db`).
        max_body: request bodies over this many bytes get 413.
        record_timeout: seconds a request waits for its answer to commit before 503.
    """

    def __init__(self, db: Database, *, recorder: AnswerRecorder | None = None,
                 limiter: FailureLimiter | None = None, limits: Limits | None = None,
                 lookup: Lookup | None = None, max_body: int = MAX_BODY, record_timeout: float = 30.0) -> None:
        self.lookup = lookup or Lookup(db)
        self.limiter = limiter or FailureLimiter()
        self.limits = limits = limits or Limits()
        self._per_token = RequestLimiter(limits.per_token, limits.window)
        self._per_group_link = RequestLimiter(limits.per_group_link, limits.window)
        self._per_group_client = RequestLimiter(limits.per_group_client, limits.window)
        self._health_cache: tuple[float, Response] | None = None
        self._health_lock = threading.Lock()
        self.form_check: FormCheck = load_form_check(db)
        self.max_body = max_body
        self.record_timeout = record_timeout
        self._css = pages.stylesheet()
        self.recorder: AnswerRecorder = recorder or GroupCommitRecorder(db)
        self.recorder.start()

    def close(self) -> None:
        """Commit the answers already queued, stop the writer, close the read connections."""
        self.recorder.stop()
        self.lookup.close()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        try:
            response = self.handle(request)
        except Exception:
            log.exception("the acknowledgement service failed on a %s request", request.method)
            response = self._problem(request, HTTPStatus.INTERNAL_SERVER_ERROR, "Something went wrong",
                                     "The answer page failed. Please try again in a minute.")
        status = HTTPStatus(response.status)
        headers = [*SECURITY_HEADERS, ("Content-Type", response.content_type),
                   ("Content-Length", str(len(response.body))), *response.headers]
        start_response(f"{status.value} {status.phrase}", headers)
        return [b"" if request.method == "HEAD" else response.body]

    # --- routing ------------------------------------------------------------------

    def handle(self, req: Request) -> Response:
        if req.path == "/healthz":
            return self._only_reads(req) or self._health()
        if req.path == f"/static/{pages.STYLESHEET}":
            return self._only_reads(req) or Response(200, self._css, "text/css; charset=utf-8")
        match = _ROUTE.fullmatch(req.path)
        if match is None:
            return self._not_found(req)
        if req.method not in ("GET", "HEAD", "POST"):
            return self._page(req, 405, "Not allowed", "This page only opens in a browser.",
                              headers=(("Allow", "GET, HEAD, POST"),))
        try:
            if req.method == "POST" and (req.declared_length() or 0) > self.max_body:
                raise BodyTooLarge
            kind, token = match.groups()
            digest = hash_token(token) if well_formed(token) else None
            return self._personal(req, digest) if kind == "a" else self._group(req, digest)
        except BodyTooLarge:
            return self._page(req, 413, "Too much data", "The request was larger than an answer can be.")
        except BadRequest as exc:
            return self._page(req, 400, "Answer not recorded", str(exc), back=True)
        except RecipientGone:
            return self._not_found(req)
        except RecorderUnavailable as exc:
            log.error("an answer could not be recorded: %s", exc)
            return self._page(req, 503, "Answer not recorded", "The service is busy or being restarted. "
                              "Please go back and press your answer again in a minute.", back=True,
                              headers=(("Retry-After", "30"),))

    def _personal(self, req: Request, digest: str | None) -> Response:
        recipient = self.lookup.recipient(digest) if digest else None
        broadcast = self.lookup.broadcast(recipient.broadcast_id) if recipient else None
        if digest is None or recipient is None or broadcast is None:
            return self._invalid(req)
        if req.method in _READ:
            return Response(200, pages.answer_page(self._ctx(req), broadcast, check=self.form_check.value(digest),
                                                   current=recipient, ask_email=False).encode())
        wait = self._per_token.hit(digest)
        if wait:
            return self._too_many(req, wait, "This answer was sent many times in a short while. "
                                             "Please wait a minute and press your answer again.")
        fields = self._form(req, digest)
        answer = self._option(fields, broadcast)
        note = self._note(fields)
        outcome = (None if note else self._unchanged(recipient, answer)) or self._record(
            AnswerRequest(recipient.id, answer, req.client, AnswerSource.PERSONAL, note))
        return Response(200, pages.confirmation_page(self._ctx(req), broadcast, outcome, back_url=req.url).encode())

    def _group(self, req: Request, digest: str | None) -> Response:
        broadcast_id = self.lookup.group_broadcast(digest) if digest else None
        broadcast = self.lookup.broadcast(broadcast_id) if broadcast_id is not None else None
        if digest is None or broadcast is None:
            return self._invalid(req)
        check = self.form_check.value(digest)
        offer_link = self.lookup.email_channel() is not None
        if req.method in _READ:
            return Response(200, pages.answer_page(self._ctx(req), broadcast, check=check, current=None,
                                                   ask_email=True, offer_link=offer_link).encode())
        wait = self._per_group_client.hit(f"{client_key(req.client)} {digest}") or self._per_group_link.hit(digest)
        if wait:
            return self._too_many(req, wait, "Many answers came through this group link in a short while. "
                                             "Please wait a minute, or answer through the personal link sent to you.")
        fields = self._form(req, digest)
        email = fields.get("email", "").strip().lower()
        if not email or len(email) > 320 or "@" not in email:
            raise BadRequest("Please enter your work email address.")
        recipient = self.lookup.recipient_by_email(broadcast.id, email)
        ctx = self._ctx(req)
        if fields.get("action") == "send_link":
            channel = self.lookup.email_channel()
            if recipient is not None and channel is not None:
                self._record(LinkRequest(recipient.id, channel, req.client))
            else:
                self.recorder.barrier(self.record_timeout)
            return Response(200, pages.link_sent_page(ctx, broadcast, back_url=req.url).encode())
        answer = self._option(fields, broadcast)
        note = self._note(fields)
        if recipient is not None:
            self._record(AnswerRequest(recipient.id, answer, req.client, AnswerSource.GROUP, note))
        else:
            self.recorder.barrier(self.record_timeout)
        return Response(200, pages.self_report_page(ctx, broadcast, answer=answer, check=check,
                                                    offer_link=offer_link, back_url=req.url).encode())

    def _form(self, req: Request, digest: str) -> dict[str, str]:
        """The posted form, once its check field shows this service rendered it."""
        fields = req.form(self.max_body)
        if not self.form_check.matches(digest, fields.get("check")):
            raise BadRequest("This page is out of date. Please open the link again and choose your answer.")
        return fields

    @staticmethod
    def _option(fields: dict[str, str], broadcast: BroadcastView) -> str:
        answer = fields.get("answer")
        if answer not in broadcast.options:
            raise BadRequest("Please choose one of the answers on the page.")
        return answer

    @staticmethod
    def _note(fields: dict[str, str]) -> str | None:
        """The optional note, cleaned; over NOTE_MAX characters it is refused (the field's own limit
        keeps a browser under it, so only a hand-made request gets here)."""
        note = clean_note(fields.get("note"))
        if note is not None and len(note) > NOTE_MAX:
            raise BadRequest(f"Your note is longer than {NOTE_MAX} characters. Please shorten it and "
                             "press your answer again; nothing was recorded.")
        return note

    @staticmethod
    def _unchanged(recipient: RecipientView, answer: str) -> Outcome | None:
        """The person's own answer given again: nothing to write (the writer would find the same)."""
        if recipient.answer != answer or recipient.source is not AnswerSource.PERSONAL:
            return None
        return Outcome(recipient.id, recipient.broadcast_id, answer, answer, recipient.answered_at, False, None,
                       changed=False, source=AnswerSource.PERSONAL)

    def _record(self, request: AnswerRequest | LinkRequest) -> Outcome:
        outcome = self.recorder.record(request, self.record_timeout)
        if isinstance(request, LinkRequest):
            log.info("personal link requested: broadcast %d, recipient %d%s, from %s", outcome.broadcast_id,
                     outcome.recipient_id, "" if outcome.changed else " (sent recently: not again)", request.client)
        elif outcome.changed:
            log.info("answer recorded: broadcast %d, recipient %d, %r (previously %r)%s, via %s%s, from %s",
                     outcome.broadcast_id, outcome.recipient_id, request.answer, outcome.previous,
                     ", LATE" if outcome.late else "", request.via, "" if outcome.applied else " (kept as a "
                     "self-report; the answer in force stays)", request.client)
        return outcome

    # --- the rest -----------------------------------------------------------------

    def _health(self) -> Response:
        """Healthy only if answers can be committed right now: a read, and a write probe through the
        writer (a full disk or a read-only database fails it). Reused for HEALTH_TTL seconds."""
        with self._health_lock:
            cached = self._health_cache
            if cached is not None and time.monotonic() - cached[0] < HEALTH_TTL and self.recorder.alive:
                return cached[1]
            response = self._check_health()
            self._health_cache = (time.monotonic(), response)
            return response

    def _check_health(self) -> Response:
        try:
            self.lookup.ping()
            database = "ok"
        except Exception as exc:  # noqa: BLE001 - any failure to reach it is "unreachable", logged
            log.warning("health check: the database is unreachable: %s", exc.__class__.__name__)
            database = "unreachable"
        writer = "running" if self.recorder.alive else "stopped"
        if writer == "running":
            try:
                self.recorder.probe(min(5.0, self.record_timeout))
            except RecorderUnavailable as exc:
                log.warning("health check: answers cannot be committed: %s", exc)
                writer = "cannot commit"
        ok = database == "ok" and writer == "running"
        body = json.dumps({"status": "ok" if ok else "unavailable", "database": database, "writer": writer})
        return Response(200 if ok else 503, body.encode(), "application/json")

    def _only_reads(self, req: Request) -> Response | None:
        if req.method in _READ:
            return None
        return self._page(req, 405, "Not allowed", "This address only answers GET.",
                          headers=(("Allow", "GET, HEAD"),))

    def _invalid(self, req: Request) -> Response:
        """Unknown or malformed token: counted, and the same bare 404 either way (429 once the
        address sent too many)."""
        wait = self.limiter.retry_after(req.client)
        if wait:
            return self._too_many(req, wait, "Too many invalid links came from your network. "
                                             "Please wait a few minutes and open the link again.")
        self.limiter.failure(req.client)
        return self._not_found(req)

    def _too_many(self, req: Request, wait: float, text: str) -> Response:
        return self._page(req, 429, "Too many attempts", text, headers=(("Retry-After", str(math.ceil(wait))),))

    def _not_found(self, req: Request) -> Response:
        return self._page(req, 404, "Link not found", "This link is not valid. If you copied it from a message, "
                                                      "check that it was copied completely.")

    def _page(self, req: Request, status: int, heading: str, text: str, *, back: bool = False,
              headers: tuple[tuple[str, str], ...] = ()) -> Response:
        body = pages.error_page(self._ctx(req), heading=heading, text=text, back_url=req.url if back else None)
        return Response(status, body.encode(), headers=headers)

    def _problem(self, req: Request, status: HTTPStatus, heading: str, text: str) -> Response:
        try:
            return self._page(req, status.value, heading, text)
        except Exception:  # noqa: BLE001 - even the error page failed (a broken resource): plain words
            return Response(status.value, f"{heading}. {text}".encode(), "text/plain; charset=utf-8")

    def _ctx(self, req: Request) -> pages.PageContext:
        try:
            org, zone = self.lookup.org_name(), self.lookup.org_timezone()
        except Exception:  # noqa: BLE001 - the database is down: the error page still needs a name
            org, zone = str(DEFINITIONS["org.name"].default), str(DEFINITIONS["org.timezone"].default)
        return pages.PageContext(org=org, root=req.root, timezone=zone)


def make_app(db: Database, **options: Any) -> AckApp:
    """The acknowledgement WSGI app over `db` (options: see AckApp)."""
    return AckApp(db, **options)
