"""Lazy TLS contexts for Apprise's SMTP code: plain SMTP stops paying for TLS.

Apprise 2.2 opens every SMTP session with ``context = ssl.create_default_context()``
(``apprise/plugins/email/smtp.py``, ``AppriseSMTPController.__enter__``) before it knows
whether the session will use TLS at all. Building a default context loads the system CA
store (``set_default_verify_paths``): ~18 ms of CPU on an idle 2-core machine, ~40 ms
when it is busy, thrown away on a plain ``mode=insecure`` relay. That one call caps
Apprise email fan-out at ~42 messages/s (idle) whatever the thread count: it holds the GIL.

The fix keeps delivery inside Apprise's own plugin: the SMTP module's ``ssl`` name is
pointed at a shim module whose ``create_default_context`` returns a
:class:`LazySSLContext` -- a proxy that records what is set on it and only builds the
real context (then replays the settings) when a handshake needs it: ``wrap_socket``
from ``SMTP.starttls()`` or ``SMTP_SSL``. So STARTTLS and SMTPS still verify (or not)
exactly as Apprise configured them, and plain SMTP never builds one.

Safety:
- Only the ``ssl`` reference inside ``apprise.plugins.email.smtp`` is replaced, once,
  under a lock (:func:`install`, idempotent); the process-wide ``ssl`` module, requests,
  urllib3 and every other Apprise plugin are untouched.
- The shim is lazy only inside :func:`lazy_tls` (a context variable, so per thread and
  copied into Apprise's worker threads with the context); any other Apprise use in the
  process, such as :func:`channels.baseline.send_raw_apprise`, gets stock behaviour.
- Each call gets its own proxy; no context object is ever shared between sessions.
- If a future Apprise stops calling ``ssl.create_default_context`` through that name,
  :func:`install` logs it and changes nothing: delivery stays correct, only slower.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import logging
import ssl
import threading
import types
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

log = logging.getLogger("channels.fast")

SMTP_MODULE = "apprise.plugins.email.smtp"

_lazy_active: ContextVar[bool] = ContextVar("channels_lazy_tls", default=False)
_install_lock = threading.Lock()
_installed = False

# Methods that only configure a context and return None: safe to record and replay.
_CONFIG_METHODS = frozenset(
    name for name in (
        "load_cert_chain", "load_default_certs", "load_dh_params", "load_verify_locations",
        "set_alpn_protocols", "set_ciphers", "set_default_verify_paths", "set_ecdh_curve",
        "set_npn_protocols",
    ) if hasattr(ssl.SSLContext, name))


class LazySSLContext:
    """Stands in for ``ssl.create_default_context(...)`` until a handshake needs it.

    Attribute writes and configuration calls made before then are recorded and
    replayed, in order, on the real context; reads of something written return what
    was written; any other read, and ``wrap_socket``/``wrap_bio``, build the real
    context first. One proxy belongs to one SMTP session (one thread): it is not
    meant to be shared, and nothing shares it.
    """

    __slots__ = ("_lazy_args", "_lazy_ops", "_lazy_shadow", "_lazy_real")

    def __init__(self, purpose: ssl.Purpose = ssl.Purpose.SERVER_AUTH, *, cafile: Any = None,
                 capath: Any = None, cadata: Any = None) -> None:
        object.__setattr__(self, "_lazy_args",
                           (purpose, {"cafile": cafile, "capath": capath, "cadata": cadata}))
        object.__setattr__(self, "_lazy_ops", [])
        # A default client context checks host names; mirror that for the CERT_NONE rule.
        object.__setattr__(self, "_lazy_shadow",
                           {"check_hostname": purpose == ssl.Purpose.SERVER_AUTH})
        object.__setattr__(self, "_lazy_real", None)

    @property
    def materialized(self) -> bool:
        """Whether the real context has been built."""
        return self._lazy_real is not None

    def real(self) -> ssl.SSLContext:
        """The real context, built (and configured by replay) on first use."""
        if self._lazy_real is None:
            purpose, kwargs = self._lazy_args
            # Looked up at call time, so tests (and anyone) may wrap the real factory.
            context = ssl.create_default_context(purpose, **kwargs)
            for op, name, args, kwargs2 in self._lazy_ops:
                if op == "set":
                    setattr(context, name, args[0])
                else:
                    getattr(context, name)(*args, **kwargs2)
            self._lazy_ops.clear()
            object.__setattr__(self, "_lazy_real", context)
            log.debug("built a real TLS context for a handshake")
        real: ssl.SSLContext = self._lazy_real
        return real

    def wrap_socket(self, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        return self.real().wrap_socket(*args, **kwargs)

    def wrap_bio(self, *args: Any, **kwargs: Any) -> ssl.SSLObject:
        return self.real().wrap_bio(*args, **kwargs)

    def _record_call(self, name: str, *args: Any, **kwargs: Any) -> None:
        self._lazy_ops.append(("call", name, args, kwargs))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_lazy_"):
            raise AttributeError(name)
        if self._lazy_real is None:
            if name in self._lazy_shadow and any(op[1] == name for op in self._lazy_ops):
                return self._lazy_shadow[name]
            if name in _CONFIG_METHODS:
                return functools.partial(self._record_call, name)
        return getattr(self.real(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        if self._lazy_real is not None:
            setattr(self._lazy_real, name, value)
            return
        if not hasattr(ssl.SSLContext, name):
            raise AttributeError(f"'SSLContext' object has no attribute {name!r}")
        if name == "verify_mode" and value == ssl.CERT_NONE and self._lazy_shadow.get("check_hostname"):
            # The same refusal a real context gives, at the same moment.
            raise ValueError("Cannot set verify_mode to CERT_NONE when check_hostname is enabled.")
        self._lazy_ops.append(("set", name, (value,), {}))
        self._lazy_shadow[name] = value

    def __repr__(self) -> str:
        state = "built" if self.materialized else "not built"
        return f"<LazySSLContext ({state})>"


def create_default_context(purpose: ssl.Purpose = ssl.Purpose.SERVER_AUTH, *, cafile: Any = None,
                           capath: Any = None, cadata: Any = None) -> Any:
    """``ssl.create_default_context`` that is lazy inside :func:`lazy_tls`, stock outside."""
    if _lazy_active.get():
        return LazySSLContext(purpose, cafile=cafile, capath=capath, cadata=cadata)
    return ssl.create_default_context(purpose, cafile=cafile, capath=capath, cadata=cadata)


class _SSLModuleShim(types.ModuleType):
    """What ``ssl`` means inside Apprise's SMTP module: the real module, one name changed."""

    create_default_context = staticmethod(create_default_context)

    def __init__(self) -> None:
        super().__init__("ssl", "channels.fast shim over the ssl module (lazy default contexts)")

    def __getattr__(self, name: str) -> Any:
        return getattr(ssl, name)


def install() -> bool:
    """Point ``apprise.plugins.email.smtp.ssl`` at the shim; idempotent and thread-safe.

    Returns:
        True when the lazy path is in place, False when this Apprise does not look
        like 2.2 (then nothing was changed and TLS contexts stay eager).
    """
    global _installed
    if _installed:
        return True
    with _install_lock:
        if _installed:
            return True
        try:
            module = importlib.import_module(SMTP_MODULE)
        except ImportError:
            log.warning("%s not found: lazy TLS contexts not installed", SMTP_MODULE)
            return False
        current = getattr(module, "ssl", None)
        if not isinstance(current, _SSLModuleShim):
            if current is not ssl or not hasattr(module, "AppriseSMTPController"):
                log.warning("%s no longer uses ssl.create_default_context through its `ssl` "
                            "name: lazy TLS contexts not installed (delivery stays correct)",
                            SMTP_MODULE)
                return False
            module.ssl = _SSLModuleShim()  # type: ignore[attr-defined]
            log.debug("lazy TLS contexts installed in %s", SMTP_MODULE)
        _installed = True
        return True


def installed() -> bool:
    """Whether :func:`install` has put the shim in place."""
    return _installed


@contextlib.contextmanager
def lazy_tls() -> Iterator[None]:
    """Make Apprise's SMTP contexts lazy for the Apprise calls made inside this block."""
    token = _lazy_active.set(True)
    try:
        yield
    finally:
        _lazy_active.reset(token)
