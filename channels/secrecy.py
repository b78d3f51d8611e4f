"""Which parts of a channel URL are secret, and a privacy form that hides every one of them.

Apprise's own privacy form (``plugin.url(privacy=True)``) masks what each plugin marks as a
secret *token* (passwords, API keys in the host or path), but it writes back in clear:
the user name; every custom ``+header``, ``-param`` and ``:payload`` entry (json://, form://,
xml://, apprise://, ntfy, email ``+headers``…, see each plugin's ``template_kwargs``), whose
values are typically ``Authorization``/``X-Api-Key``/``Cookie``; and the path of generic
webhooks, where services put their tokens. So its output is post-processed here:

- the password is ``****``; the user is ``****`` (or ``f...t`` when 8+ characters long);
- every ``+``/``-``/``:`` query entry, every query entry whose *name* reads as a credential
  (``pass``, ``token``, ``key``, ``secret``, ``auth…``, ``sig…``, ``cookie``, ``hook``, ``user``…)
  and every entry the plugin declares private is ``****``; names stay readable;
- a path segment or query value that looks like a token (12+ URL-safe characters mixing
  letters and digits) is shown as ``f...t``;
- and, as a net under all of that, any value the original URL or the plugin holds as a
  secret (password, the entries above, the plugin's private attributes) is replaced by
  ``****`` wherever it still shows, raw or percent-encoded (a plugin may move a value).

``keep`` names values that must stay readable (the recipient, ``{address}``); they are
matched whole, never as substrings, so a short address cannot unmask anything.

This module imports nothing from Apprise: :func:`seal` also re-masks stored privacy forms
without the key, on the desktop's first window.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, quote_plus, unquote

if TYPE_CHECKING:
    from apprise import NotifyBase

MASK = "****"
# Apprise's custom-entry prefixes (apprise.utils.parse NOTIFY_CUSTOM_*_TOKENS); a "+" that
# was not percent-encoded reaches the plugin as a space.
CUSTOM_PREFIXES = ("+", "-", ":", " ")
# Values shorter than this are not searched for elsewhere in a URL or text: "yes", "1" or
# "json" would garble everything. They are still masked where they stand.
MIN_SEARCHED = 4

_CONTAINS = ("pass", "pwd", "secret", "token", "key", "cookie", "bearer", "credential", "hook", "jwt", "csrf",
             "xsrf", "private", "signature")
_STARTS = ("auth", "sig", "sess", "priv", "login", "cred", "access")
_EXACT = frozenset({"sid", "pin", "otp", "code", "hash", "salt", "user", "username", "account", "pw", "psk",
                    "nonce", "hmac"})
_WORDS_RE = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
TOKEN_MIN = 12
_TOKEN_CHARS_RE = re.compile(rf"^[A-Za-z0-9_\-.~+/=]{{{TOKEN_MIN},}}$")
_OUTER_RE = re.compile(r"^.?\.\.\..?$")  # Apprise's PrivacyMode.Outer: "f...t"
_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")
_SEPARATOR_RE = re.compile(r"[&;]")  # Apprise's parse_qsd splits on both


def _dec(text: str) -> str:
    return unquote(text) if "%" in text else text


def secret_name(name: str, private: Collection[str] = ()) -> bool:
    """Whether a query entry called ``name`` holds a secret: a custom ``+``/``-``/``:`` entry, a
    credential-like name, or one of the plugin's ``private`` names."""
    return name.startswith(CUSTOM_PREFIXES) or is_credential_name(name) or (
        bool(private) and name.lower().strip() in private)


@functools.lru_cache(maxsize=1024)
def is_credential_name(name: str) -> bool:
    """Whether a query entry or header called ``name`` reads as holding a credential."""
    bare = name.lstrip("".join(CUSTOM_PREFIXES)).strip()
    lower = bare.lower()
    if any(part in lower for part in _CONTAINS):
        return True
    words = [w.lower() for w in _WORDS_RE.findall(bare)]
    return any(w in _EXACT or w.startswith(_STARTS) for w in words)


def looks_like_token(value: str) -> bool:
    """A long URL-safe run mixing letters and digits: an API key, a hex or base64 secret."""
    return bool(_TOKEN_CHARS_RE.match(value)) and any(c.isdigit() for c in value) and any(
        c.isalpha() for c in value)


def is_masked(value: str) -> bool:
    """Already hidden: ``****`` or Apprise's ``f...t`` (its ``...tail`` form shows 4 characters: not hidden)."""
    return MASK in value or bool(_OUTER_RE.match(value))


def outer(value: str) -> str:
    """``f...t`` for a long value (enough to tell two apart), ``****`` for a short one."""
    if len(value) < 8:
        return MASK
    return f"{quote(value[0], safe='')}...{quote(value[-1], safe='')}"


class _Parts:
    """A URL cut where Apprise cuts it: scheme, user, password, host, path segments, query pairs.

    Every piece is kept raw (as written) so the URL can be put back together unchanged
    except where a piece is replaced.
    """

    def __init__(self, url: str) -> None:
        match = _SCHEME_RE.match(url)
        self.scheme = match.group(1) if match else ""
        rest = url[match.end():] if match else url
        before, self.has_query, query = rest.partition("?")
        netloc, slash, path = before.partition("/")
        userinfo, self.at, self.host = netloc.rpartition("@")
        self.user, self.colon, self.password = userinfo.partition(":")
        self.path: list[str] = path.split("/") if slash else []
        chunks = (query.split("&") if ";" not in query else _SEPARATOR_RE.split(query)) if self.has_query else []
        self.seps: list[str] = ["&"] * (len(chunks) - 1) if ";" not in query else _SEPARATOR_RE.findall(query)
        self.query: list[list[str]] = [list(chunk.partition("=")) for chunk in chunks]

    def pairs(self) -> Iterable[tuple[str, str]]:
        """(name, value) of each query entry, percent-decoded as Apprise does (``+`` kept)."""
        for key, eq, value in self.query:
            if key or eq:
                yield _dec(key), _dec(value)

    def text(self) -> str:
        head = f"{self.scheme}://" if self.scheme else ""
        userinfo = f"{self.user}{self.colon}{self.password}{self.at}"
        path = ("/" + "/".join(self.path)) if self.path else ""
        query = self.has_query
        for index, (key, eq, value) in enumerate(self.query):
            query += (self.seps[index - 1] if index else "") + key + eq + value
        return f"{head}{userinfo}{self.host}{path}{query}"


def private_names(plugin_class: type) -> frozenset[str]:
    """Query-entry and attribute names a plugin class declares private (its ``template_args`` and
    ``template_tokens`` with ``private``, and arguments that are aliases of those)."""
    return _private_names(plugin_class)


@functools.cache
def _private_names(plugin_class: type) -> frozenset[str]:
    # uncached entry above: a plugin class is hashable, but mypy reads NotifyBase.__hash__ as
    # the instances' method and refuses type[NotifyBase] for functools.cache's Hashable
    tokens: dict[str, Any] = dict(getattr(plugin_class, "template_tokens", None) or {})
    args: dict[str, Any] = dict(getattr(plugin_class, "template_args", None) or {})
    names = {k.lower() for k, v in tokens.items() if isinstance(v, dict) and v.get("private")}
    for key, spec in args.items():
        if not isinstance(spec, dict):
            continue
        alias = spec.get("alias_of")
        aliases = [alias] if isinstance(alias, str) else list(alias or ())
        if spec.get("private") or any(a.lower() in names for a in aliases if isinstance(a, str)):
            names.add(key.lower())
    return frozenset(names)


def url_secrets(url: str, private: Collection[str] = ()) -> set[str]:
    """The secret values written in ``url``, decoded: the password, custom and credential-named
    (or ``private``) query entries, and token-like path segments and values."""
    parts = _Parts(url.strip())
    found: set[str] = set()
    if parts.colon and parts.password:
        found.add(_dec(parts.password))
    for segment in parts.path:
        value = _dec(segment)
        if looks_like_token(value):
            found.add(value)
    for key, value in parts.pairs():
        if not value:
            continue
        if secret_name(key, private):
            found.update({value, value.strip(), value.replace("+", " ")})
        elif looks_like_token(value):
            found.add(value)
    return found


def plugin_secrets(plugin: NotifyBase) -> set[str]:
    """String values the plugin holds under the names its class declares private, and its
    custom headers' values."""
    found: set[str] = set()

    def collect(value: object, depth: int = 0) -> None:
        if isinstance(value, str):
            found.add(value)
        elif isinstance(value, (list, tuple, set, frozenset)) and depth < 2:
            for item in value:
                collect(item, depth + 1)

    for name in private_names(type(plugin)):
        collect(vars(plugin).get(name))
    headers = vars(plugin).get("headers")
    if isinstance(headers, dict):
        collect(list(headers.values()))
    return found


@functools.lru_cache(maxsize=4096)
def _searched_forms(secret: str) -> tuple[str, ...]:
    """``secret`` as written raw or percent-encoded in the ways Apprise and urllib write it, longest first."""
    forms = {secret, quote(secret, safe=""), quote(secret, safe="/"), quote(secret, safe="@+:"), quote_plus(secret)}
    return tuple(sorted((f for f in forms if f), key=len, reverse=True))


def seal(shown: str, *, secrets: Iterable[str] = (), keep: Collection[str] = (),
         private: Collection[str] = ()) -> str:
    """Hide every secret-bearing part of a privacy form ``shown`` (see the module text).

    Args:
        shown: Apprise's privacy form of a URL, or a privacy form stored earlier.
        secrets: values known to be secret, hidden wherever they still appear.
        keep: values that stay readable where they stand whole (the recipient, ``{address}``).
        private: query-entry names the plugin declares private.
    """
    kept = set(keep)

    def held(raw: str) -> bool:
        if not raw or raw in kept:
            return True
        value = _dec(raw)
        return value in kept or is_masked(value)

    def token(raw: str) -> bool:
        return len(raw) >= TOKEN_MIN and looks_like_token(_dec(raw))

    parts = _Parts(shown)
    if parts.at and not held(parts.user):
        parts.user = outer(_dec(parts.user))
    if parts.colon and parts.password and parts.password != MASK:
        parts.password = MASK
    if "." not in parts.host and ":" not in parts.host and token(parts.host) and not held(parts.host):
        parts.host = outer(_dec(parts.host))
    parts.path = [outer(_dec(segment)) if token(segment) and not held(segment) else segment
                  for segment in parts.path]
    for pair in parts.query:
        key, eq, value = pair
        if not eq or not value or value == MASK:
            continue
        if (secret_name(_dec(key), private) or token(value)) and not held(value):
            pair[2] = MASK
    text = parts.text()
    searched = sorted({s for s in secrets if len(s) >= MIN_SEARCHED and s not in kept}, key=len, reverse=True)
    if not searched:
        return text
    # Kept values are set aside while secrets are searched for: a secret that happens to be
    # part of the recipient's address must not cut the address up.
    guards: dict[str, str] = {}
    for value in sorted(kept, key=len, reverse=True):
        for form in _searched_forms(value):
            if form in text:
                guard = f"\x00{len(guards)}\x00"
                guards[guard] = form
                text = text.replace(form, guard)
    for secret in searched:
        for form in _searched_forms(secret):
            if form in text:
                text = text.replace(form, MASK)
    for guard, form in guards.items():
        text = text.replace(guard, form)
    return text


def privacy_form(plugin: NotifyBase, url: str, keep: Collection[str] = ()) -> str:
    """The privacy form of ``plugin`` (built from ``url``) with every secret hidden."""
    private = private_names(type(plugin))
    secrets = url_secrets(url, private) | plugin_secrets(plugin)
    return seal(str(plugin.url(privacy=True)), secrets=secrets, keep=keep, private=private)
