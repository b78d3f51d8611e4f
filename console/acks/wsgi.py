"""The acknowledgement web service as a plain WSGI app.

Routes: `/a/{token}` (personal link), `/g/{token}` (group link: asks for the
work email), `/healthz`, `/static/ack.css`. GET and HEAD only read: mail
scanners open (and script-run) every link before the person does, so only a
POST from the page's own form records an answer. Every response carries the
same strict security headers; a bad or unknown token gets the same bare 404
whatever the reason, and counts towards the client address's limit.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

from console.acks import pages
from console.acks.errors import RecipientGone, RecorderUnavailable
from console.acks.formcheck import FormCheck, load_form_check
from console.acks.http import (
    MAX_BODY,
    SECURITY_HEADERS,
    BadRequest,
    BodyTooLarge,
    Request,
    Response,
    StartResponse,
)
from console.acks.limits import FailureLimiter
from console.acks.lookup import BroadcastView, Lookup
from console.acks.recorder import AnswerRecorder, AnswerRequest, GroupCommitRecorder, Outcome
from console.acks.tokens import hash_token, well_formed
from console.settings import DEFINITIONS
from console.storage import Database

log = logging.getLogger("console.acks")

_ROUTE = re.compile(r"/([ag])/([^/]*)")
_READ = ("GET", "HEAD")


class AckApp:
    """The WSGI application; call `close()` to stop its writer.

    Args:
        db: the database.
        recorder: the write path (default: a started GroupCommitRecorder).
        limiter: invalid-token limiting (default: 30 failures a minute blocks for 5 minutes).
        lookup: the read path (default: Lookup over `db`).
        max_body: request bodies over this many bytes get 413.
        record_timeout: seconds a request waits for its answer to commit before 503.
    """

    def __init__(self, db: Database, *, recorder: AnswerRecorder | None = None,
                 limiter: FailureLimiter | None = None, lookup: Lookup | None = None,
                 max_body: int = MAX_BODY, record_timeout: float = 30.0) -> None:
        self.lookup = lookup or Lookup(db)
        self.limiter = limiter or FailureLimiter()
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
        wait = self.limiter.retry_after(req.client)
        if wait:
            return self._page(req, 429, "Too many attempts", "Too many invalid links came from your network. "
                              "Please wait a few minutes and open the link again.",
                              headers=(("Retry-After", str(math.ceil(wait))),))
        try:
            if req.method == "POST" and (req.declared_length() or 0) > self.max_body:
                raise BodyTooLarge
            kind, token = match.groups()
            if not well_formed(token):
                return self._invalid(req)
            digest = hash_token(token)
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

    def _personal(self, req: Request, digest: str) -> Response:
        recipient = self.lookup.recipient(digest)
        broadcast = self.lookup.broadcast(recipient.broadcast_id) if recipient else None
        if recipient is None or broadcast is None:
            return self._invalid(req)
        if req.method in _READ:
            return Response(200, pages.answer_page(self._ctx(req), broadcast, check=self.form_check.value(digest),
                                                   current=recipient, ask_email=False).encode())
        answer, _fields = self._answer(req, digest, broadcast)
        outcome = self._record(AnswerRequest(recipient.id, answer, req.client, "link"))
        return Response(200, pages.confirmation_page(self._ctx(req), broadcast, outcome, back_url=req.url).encode())

    def _group(self, req: Request, digest: str) -> Response:
        broadcast_id = self.lookup.group_broadcast(digest)
        broadcast = self.lookup.broadcast(broadcast_id) if broadcast_id is not None else None
        if broadcast is None:
            return self._invalid(req)
        if req.method in _READ:
            return Response(200, pages.answer_page(self._ctx(req), broadcast, check=self.form_check.value(digest),
                                                   current=None, ask_email=True).encode())
        answer, fields = self._answer(req, digest, broadcast)
        email = fields.get("email", "").strip().lower()
        if not email or len(email) > 320 or "@" not in email:
            raise BadRequest("Please enter your work email address.")
        recipient = self.lookup.recipient_by_email(broadcast.id, email)
        if recipient is None:
            self.limiter.failure(req.client)
            return self._page(req, 404, "Answer not recorded",
                              "We could not record an answer for this address. Check that it is your work email "
                              "address, or answer through the personal link sent to you.", back=True)
        outcome = self._record(AnswerRequest(recipient.id, answer, req.client, "group link"))
        return Response(200, pages.confirmation_page(self._ctx(req), broadcast, outcome, back_url=req.url,
                                                     email=email).encode())

    def _answer(self, req: Request, digest: str, broadcast: BroadcastView) -> tuple[str, dict[str, str]]:
        """The chosen option and the whole form, once the check field and the option are valid."""
        fields = req.form(self.max_body)
        if not self.form_check.matches(digest, fields.get("check")):
            raise BadRequest("This page is out of date. Please open the link again and choose your answer.")
        answer = fields.get("answer")
        if answer not in broadcast.options:
            raise BadRequest("Please choose one of the answers on the page.")
        return answer, fields

    def _record(self, request: AnswerRequest) -> Outcome:
        outcome = self.recorder.record(request, self.record_timeout)
        log.info("answer recorded: broadcast %d, recipient %d, %r (previously %r)%s, via %s, from %s",
                 outcome.broadcast_id, outcome.recipient_id, outcome.answer, outcome.previous,
                 ", LATE" if outcome.late else "", request.via, request.client)
        return outcome

    # --- the rest -----------------------------------------------------------------

    def _health(self) -> Response:
        try:
            self.lookup.ping()
            database = "ok"
        except Exception as exc:
            log.warning("health check: the database is unreachable: %s", exc.__class__.__name__)
            database = "unreachable"
        writer = "running" if self.recorder.alive else "stopped"
        ok = database == "ok" and writer == "running"
        body = json.dumps({"status": "ok" if ok else "unavailable", "database": database, "writer": writer})
        return Response(200 if ok else 503, body.encode(), "application/json")

    def _only_reads(self, req: Request) -> Response | None:
        if req.method in _READ:
            return None
        return self._page(req, 405, "Not allowed", "This address only answers GET.",
                          headers=(("Allow", "GET, HEAD"),))

    def _invalid(self, req: Request) -> Response:
        """Unknown or malformed token: counted, and the same bare 404 either way."""
        self.limiter.failure(req.client)
        return self._not_found(req)

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
        except Exception:  # even the error page failed (a broken resource): plain words
            return Response(status.value, f"{heading}. {text}".encode(), "text/plain; charset=utf-8")

    def _ctx(self, req: Request) -> pages.PageContext:
        try:
            org = self.lookup.org_name()
        except Exception:  # the database is down: the error page still needs a name
            org = str(DEFINITIONS["org.name"].default)
        return pages.PageContext(org=org, root=req.root)


def make_app(db: Database, **options: Any) -> AckApp:
    """The acknowledgement WSGI app over `db` (options: see AckApp)."""
    return AckApp(db, **options)
