"""Channel URLs: checking them, filling in a recipient, and showing them safely.

A channel is an Apprise URL. A *personal* channel is a template holding ``{address}``
(filled with one contact's email, phone or chat handle); a *group* channel is a plain
URL posted once. URLs hold passwords and tokens, so everything shown to a person, a log
or the audit trail is a privacy form: Apprise's own (``plugin.url(privacy=True)``) with
what Apprise leaves in clear hidden as well (:mod:`channels.secrecy`: the user, custom
``+header``/``-param``/``:payload`` entries, credential-named entries, token-like parts),
and error texts are scrubbed of every URL part that privacy form hides.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from typing import TYPE_CHECKING
from urllib.parse import quote, quote_plus, unquote

from channels.errors import ChannelAddressError, ChannelURLError
from channels.secrecy import MASK, privacy_form, seal, url_secrets
from channels.vocabulary import ChannelKind

if TYPE_CHECKING:
    import apprise
    from apprise import NotifyBase

# Apprise is imported where a URL is first checked or masked, not with this module: the
# desktop's first window needs the helpers here but no plugin.

log = logging.getLogger("channels.urls")

KINDS: tuple[ChannelKind, ...] = tuple(ChannelKind)

ADDRESS = "{address}"

# Filled in to check a template; chosen so they cannot be mistaken for real people
# (RFC 2606 domain, NANP fictional 555-01xx number).
SAMPLE_ADDRESSES: dict[str, str] = {
    "email": "sample.recipient@example.com",
    "sms": "+15555550100",
    "chat": "samplerecipient",
}

_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")
_PLACEHOLDER_RE = re.compile(r"\{[^{}/?&=]*\}")
# A header value such as "Bearer x", "sid=x; theme=y" is quoted in part by error texts.
_VALUE_WORDS = re.compile(r"[\s=;,&]+")
# Apprise splits target lists on these (and on whitespace): an address holding one
# would become two recipients.
_LIST_SEPARATORS = frozenset(",;")
# RFC 3986 allows these in a path segment; Apprise's own url() leaves them readable.
_PATH_SAFE = "@+:"


def scheme_of(url: str) -> str:
    """Return the lower-case scheme of ``url``, or raise ChannelURLError."""
    match = _SCHEME_RE.match(url.strip())
    if match is None:
        raise ChannelURLError("not an Apprise URL: it must start with scheme:// (e.g. mailtos://)")
    return match.group(1).lower()


def _position(template: str, index: int) -> str:
    """Name the URL part that the character at ``index`` sits in."""
    start = template.find("://")
    if start < 0 or index < start + 3:
        return "scheme"
    before = template[start + 3:index]
    if "?" in before:
        return "query"
    if "/" in before:
        return "path"
    return "authority"


def _check_address(address: str) -> str:
    if not isinstance(address, str) or not address.strip():
        raise ChannelAddressError("the recipient address is empty")
    clean = address.strip()
    for ch in clean:
        if ch in _LIST_SEPARATORS or ch.isspace() or unicodedata.category(ch).startswith("C"):
            raise ChannelAddressError(
                f"the recipient address contains {ch!r}, which Apprise would read as a "
                "separator between several recipients")
    return clean


def fill_address(template: str, address: str) -> str:
    """Put ``address`` into every ``{address}`` of ``template``, quoted for its place.

    Apprise unquotes each URL part before reading it, so the address is percent-encoded
    for the part it lands in: in the query (``?to={address}``) everything reserved is
    encoded (``+`` would otherwise risk becoming a space, ``&``/``=``/``#`` would end the
    value); in the path ``/``, ``?``, ``#`` and ``%`` are encoded while ``@``, ``+`` and ``:``
    stay readable (RFC 3986 path characters, as Apprise writes them itself); in the
    user/host part everything reserved is encoded.

    Raises:
        ChannelURLError: the template has no ``{address}`` or has it in the scheme.
        ChannelAddressError: the address is empty or holds a list separator/whitespace.
    """
    if ADDRESS not in template:
        raise ChannelURLError("the URL has no {address} placeholder to fill in")
    clean = _check_address(address)
    parts: list[str] = []
    pos = 0
    while (index := template.find(ADDRESS, pos)) >= 0:
        where = _position(template, index)
        if where == "scheme":
            raise ChannelURLError("{address} cannot stand in the scheme of the URL")
        safe = _PATH_SAFE if where == "path" else ""
        parts.append(template[pos:index])
        parts.append(quote(clean, safe=safe))
        pos = index + len(ADDRESS)
    parts.append(template[pos:])
    return "".join(parts)


def instantiate(url: str, asset: apprise.AppriseAsset | None = None) -> NotifyBase:
    """Build the Apprise plugin for ``url`` or raise ChannelURLError saying why.

    The reason Apprise gives is scrubbed of the URL's secrets before it is shown.
    """
    import apprise

    scheme = scheme_of(url)
    if scheme not in apprise.NotificationManager():
        raise ChannelURLError(f"unknown Apprise scheme '{scheme}://' (no plugin handles it)")
    try:
        plugin = apprise.Apprise.instantiate(url, asset=asset, suppress_exceptions=False)
    except Exception as exc:  # noqa: BLE001 - any plugin may raise anything on bad input
        reason = redact(one_line(str(exc)), secret_parts(url, ""))
        raise ChannelURLError(
            f"Apprise cannot use this {scheme}:// URL" + (f": {reason}" if reason else "")) from None
    if plugin is None:
        raise ChannelURLError(
            f"Apprise cannot use this {scheme}:// URL (malformed, or the service is disabled here)")
    return plugin


def target_count(plugin: NotifyBase) -> int:
    """How many recipients one notification through ``plugin`` reaches.

    ``len(plugin)`` is targets × (retry + 1) in Apprise 2.2. An email plugin also sends
    to its cc and bcc lists, which ``len`` does not count.
    """
    retry = int(getattr(plugin, "retry", 0) or 0)
    count = len(plugin) // (retry + 1)
    for extra in ("cc", "bcc"):
        count += len(getattr(plugin, extra, None) or ())
    return count


def _reads_as_recipient(plugin: NotifyBase, sample: str, shown_in_privacy_form: bool) -> bool:
    """Whether the plugin took ``sample`` as a recipient (not, say, as a sender name).

    Apprise has no common attribute for recipients: email keeps ``targets``, Matrix
    ``users``/``rooms``, Slack ``channels``. Email is judged by its ``targets`` alone (its
    ``from_addr`` may hold a name); other plugins by any list-like attribute holding the
    sample, or else by the sample showing in the privacy form.
    """
    wanted = {sample.lower(), sample.lstrip("+").lower()}

    def holds(value: object) -> bool:
        if isinstance(value, str):
            return any(w in value.lower() for w in wanted)
        if isinstance(value, (list, tuple, set, frozenset)):
            return any(holds(v) for v in value)
        return False

    from apprise.plugins.email import NotifyEmail

    if isinstance(plugin, NotifyEmail):
        return holds(plugin.targets)
    return shown_in_privacy_form or any(
        holds(v) for k, v in vars(plugin).items()
        if isinstance(v, (list, tuple, set, frozenset)) and not k.startswith("_"))


def _placeholder_back(masked: str, sample: str) -> str:
    variants = {sample, quote(sample, safe=""), quote(sample, safe=_PATH_SAFE), quote(sample, safe="+"),
                quote(sample, safe="@")}
    if sample.startswith("+"):
        variants.add(sample[1:])
    for variant in sorted(variants, key=len, reverse=True):
        masked = masked.replace(variant, ADDRESS)
    return masked


def _check_placeholders(url: str) -> None:
    for found in _PLACEHOLDER_RE.findall(url):
        if found != ADDRESS:
            raise ChannelURLError(f"unknown placeholder {found}: only {ADDRESS} is filled in")


def validate_channel_url(kind: str, url: str) -> str:
    """Check a channel URL for ``kind`` and return its privacy (masked) form.

    Personal kinds need exactly one ``{address}`` that Apprise reads as the one
    recipient (a template that also mails a fixed cc would leak every personal link);
    the group kind must not have one. The URL is instantiated through Apprise with a
    sample address so unknown schemes and malformed URLs are caught now, not at 3 a.m.

    Returns:
        Apprise's privacy form, with ``{address}`` shown where the sample went.

    Raises:
        ChannelURLError: what is wrong, naming the scheme, never echoing a secret.
    """
    if kind not in KINDS:
        raise ChannelURLError(f"unknown channel kind {kind!r} (expected one of: {', '.join(KINDS)})")
    if not isinstance(url, str) or not url.strip():
        raise ChannelURLError("the URL is empty")
    url = url.strip()
    scheme = scheme_of(url)
    _check_placeholders(url)
    count = url.count(ADDRESS)
    if kind == "group":
        if count:
            raise ChannelURLError(
                f"a group channel is posted once for the whole group: remove {ADDRESS} from the URL")
        return privacy_form(instantiate(url), url)
    if count != 1:
        raise ChannelURLError(
            f"{kind} channel URLs need exactly one {ADDRESS} where the recipient goes"
            + (f" (found {count})" if count else ""))
    sample = SAMPLE_ADDRESSES[kind]
    filled = fill_address(url, sample)
    plugin = instantiate(filled)
    reached = target_count(plugin)
    if reached != 1:
        raise ChannelURLError(
            f"{kind} channels must reach exactly one recipient per message; this {scheme}:// URL "
            f"reaches {reached} (remove fixed recipients, cc and bcc)")
    masked = privacy_form(plugin, filled, keep=(sample,))
    shown = _placeholder_back(masked, sample)
    if not _reads_as_recipient(plugin, sample, shown != masked):
        raise ChannelURLError(
            f"Apprise does not use {ADDRESS} as the recipient where it stands in this {scheme}:// URL")
    return shown


def mask_url(url: str) -> str:
    """Apprise's privacy form of ``url`` (a template keeps ``{address}`` visible).

    Never raises: a URL Apprise cannot read is shown as ``scheme://****``, since which
    parts of it are secret cannot be known.
    """
    try:
        scheme = scheme_of(url)
    except ChannelURLError:
        return MASK
    if ADDRESS not in url:
        try:
            return privacy_form(instantiate(url), url)
        except ChannelURLError:
            return f"{scheme}://{MASK}"
    fallback = f"{scheme}://{MASK}"
    for sample in SAMPLE_ADDRESSES.values():
        try:
            filled = fill_address(url, sample)
            masked = privacy_form(instantiate(filled), filled, keep=(sample,))
        except (ChannelURLError, ChannelAddressError):
            continue
        shown = _placeholder_back(masked, sample)
        if shown != masked:
            return shown
        fallback = masked if fallback.endswith(MASK) else fallback
    return fallback


def _url_parts(url: str) -> tuple[set[str], set[str]]:
    """(password-like parts, other parts) of an Apprise URL, raw and unquoted."""
    after = url.split("://", 1)[-1]
    before_query, _, query = after.partition("?")
    netloc, _, path = before_query.partition("/")
    userinfo, _, hostport = netloc.rpartition("@")
    private: set[str] = set()
    other: set[str] = set()
    if userinfo:
        user, _, password = userinfo.partition(":")
        other.update({user, unquote(user)})
        if password:
            private.update({password, unquote(password)})
    other.update({hostport, unquote(hostport)})
    other.update(hostport.split(":"))
    for segment in re.split(r"[/#]", path):
        other.update({segment, unquote(segment)})
        other.update(re.split(r"[@:]", unquote(segment)))  # tokens written token_a@token_b, id:secret
    for pair in re.split(r"[&;]", query):
        _, _, value = pair.partition("=")
        other.update({value, unquote(value)})
    return private, other


def secret_parts(url: str, masked: str) -> frozenset[str]:
    """The parts of ``url`` that its privacy form ``masked`` does not show.

    Whatever the privacy form hides is treated as secret (the password always, even
    when short), and so is every value :func:`channels.secrecy.url_secrets` finds (a
    header such as ``Bearer%20xyz`` or ``sid=xyz`` also word by word, raw and
    percent-encoded, since an error text may quote it in part or either way); parts shorter than 3 characters are left
    alone otherwise, as scrubbing them would garble every message.
    """
    shown = unquote(masked)
    private, other = _url_parts(url)
    secrets = {p for p in private if p}
    for value in url_secrets(url):
        if len(value) >= 3:
            secrets.update({value, quote(value, safe=""), quote_plus(value)})
            secrets.update(word for word in _VALUE_WORDS.split(value) if len(word) >= 4 and word not in masked)
    secrets.update(p for p in other if len(p) >= 3 and p not in masked and p not in shown)
    return frozenset(secrets)


def remask(masked: str) -> str:
    """A privacy form stored earlier with everything hidden that this version hides.

    Needs neither the key nor Apprise (it works on the stored text), so a list of
    channels never shows what an older version left in clear. Idempotent.
    """
    return seal(masked, keep=(ADDRESS,))


def redact(text: str, secrets: frozenset[str]) -> str:
    """Replace every secret in ``text`` with ``****`` (longest first)."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def one_line(text: str, limit: int = 300) -> str:
    """Collapse whitespace to single spaces and cap the length (for error columns)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
