"""Per-channel text of one broadcast for one recipient.

Every channel carries the same essentials: drills are labelled ``[EXERCISE]`` in the
title and at the start of the body, and the personal answer link appears as a raw URL
on its own line after a short call to action. Email and chat get Markdown; SMS gets a
plain text of at most 160 characters in which the link is never cut (the text is).

Email also says how urgent it is, so that a critical alert does not look like an info
note: ``[CRITICAL]``/``[WARNING]`` in the subject (after ``[EXERCISE]``), the same label
at the top of the body, and headers (:attr:`Rendered.headers`): ``Auto-Submitted:
auto-generated`` on every mail (out-of-office replies stay away, RFC 3834), and
``Importance``/``X-Priority`` for critical. The organisation is the sender's display name.

SMS leads with what a reader needs in the first seconds: the title, the first
instruction (the body's first sentence), the answer link; the rest of the text follows
as far as it fits, whole sentences first.

The link is written as a Markdown autolink, ``<https://…>``: Apprise converts Markdown
to HTML and then HTML to the plain-text part, turning ``<a href=…>words</a>`` into just
"words"; an autolink's text *is* the URL, so the plain part keeps it. A bare URL would
not be safe either: tokens are URL-safe base64, and ``…/a/_abc_`` becomes
``…/a/<em>abc</em>`` in Markdown.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache
from typing import TYPE_CHECKING, Any

from channels.errors import ChannelError
from channels.urls import ADDRESS, SAMPLE_ADDRESSES, fill_address, instantiate
from channels.vocabulary import Severity

if TYPE_CHECKING:
    from apprise import NotifyBase
    from markdown_it import MarkdownIt
    from markdown_it.token import Token
    from markdown_it.utils import EnvType, OptionsDict

# Apprise's NotifyFormat and NotifyType values (str enums; tests hold them equal), written
# out so that rendering and previews do not import Apprise: the desktop starts faster.
TEXT, MARKDOWN, HTML = "text", "markdown", "html"

EXERCISE = "[EXERCISE]"
REMINDER = "Reminder:"
SMS_MAXLEN = 160
SMS_TITLE_MAXLEN = 40
SMS_MIN_TEXT = 40  # below this much message text, list fewer answer options instead
ELLIPSIS = "…"
SMS_MIN_PROSE = 20  # less room than this after the link: the rest of the text is only hinted at ("…")

# The email subject's and body's severity label; info needs none.
SEVERITY_LABELS: dict[Severity, str] = {Severity.WARNING: "WARNING", Severity.CRITICAL: "CRITICAL"}
# Every broadcast mail is machine-sent (RFC 3834): auto-responders must not answer it. The
# second header is what Microsoft Exchange honours for out-of-office replies instead.
AUTO_HEADERS: tuple[tuple[str, str], ...] = (("Auto-Submitted", "auto-generated"),
                                             ("X-Auto-Response-Suppress", "OOF, AutoReply"))
URGENT_HEADERS: tuple[tuple[str, str], ...] = (("Importance", "high"), ("X-Priority", "1 (Highest)"))

# Why critical → FAILURE: Apprise has no "critical" type; its four are info, success,
# warning and failure, and failure is the one services render most urgently (red
# colour, error icon, highest priority where a plugin maps type to priority). SUCCESS
# stays free for an all-clear.
SEVERITIES: dict[Severity, str] = {
    Severity.INFO: "info",
    Severity.WARNING: "warning",
    Severity.CRITICAL: "failure",
}

_MD_LINK = re.compile(r"\[([^\]]+)\]\((\S+?)\)")
_MD_EMPHASIS = re.compile(r"(\*\*|__|`)")
_MD_LINE_MARK = re.compile(r"^\s{0,3}(#{1,6}|>)\s*", re.MULTILINE)

# A first line starting like this is a Markdown block; an inline label would break it.
_MD_BLOCK_START = re.compile(r"^\s*(#|>|[-*+]\s|\d+[.)]\s|```|~~~|\||<)")


@dataclass(frozen=True)
class Rendered:
    """What Apprise is given: title, body and the body's format (an Apprise NotifyFormat value:
    TEXT, MARKDOWN or HTML); for email also extra headers and the sender's display name
    (the Deliverer sets them on Apprise's email plugin; other kinds have none)."""

    title: str
    body: str
    body_format: str
    headers: tuple[tuple[str, str], ...] = ()
    sender_name: str = ""


@dataclass(frozen=True)
class ServiceLimits:
    """Size limits a service's Apprise plugin declares.

    Attributes:
        title_maxlen: 0 when the service has no title (Apprise then puts the title
            into the body, followed by a line break).
        body_maxlen: 0 when unknown/unlimited.
    """

    title_maxlen: int
    body_maxlen: int

    @classmethod
    def from_plugin(cls, plugin: NotifyBase) -> ServiceLimits:
        """Read the limits an instantiated plugin declares (some are per-URL properties)."""
        return cls(title_maxlen=max(0, int(getattr(plugin, "title_maxlen", 0) or 0)),
                   body_maxlen=max(0, int(getattr(plugin, "body_maxlen", 0) or 0)))


def service_limits(url: str, kind: str | None = None) -> ServiceLimits:
    """The limits of the service behind a channel URL (a template is filled with a sample).

    Raises:
        ChannelURLError: Apprise cannot instantiate the URL.
    """
    if ADDRESS in url:
        url = fill_address(url, SAMPLE_ADDRESSES.get(kind or "", SAMPLE_ADDRESSES["email"]))
    return ServiceLimits.from_plugin(instantiate(url))


def notify_type_for(severity: str) -> str:
    """Apprise NotifyType value for a broadcast severity (info, warning, critical)."""
    try:
        return SEVERITIES[Severity(severity)]
    except ValueError:
        raise ChannelError(
            f"unknown severity {severity!r} (expected one of: {', '.join(SEVERITIES)})") from None


def call_to_action(options: Sequence[str]) -> str:
    """'Acknowledge' for one option, 'Answer (I'm safe / I need help)' for several."""
    clean = [" ".join(o.split()) for o in options if o and o.strip()]
    if not clean:
        return "Acknowledge"
    if len(clean) == 1:
        return clean[0]
    return f"Answer ({' / '.join(clean)})"


def _cut(text: str, room: int) -> str:
    """``text`` in at most ``room`` characters, ending in an ellipsis when shortened."""
    if len(text) <= room:
        return text
    if room <= len(ELLIPSIS):
        return ""
    cut = text[: room - len(ELLIPSIS)]
    space = cut.rfind(" ")
    if space >= len(cut) - 15 and space > 0:  # end on a word when that costs little
        cut = cut[:space]
    return cut.rstrip() + ELLIPSIS


def severity_label(severity: str) -> str:
    """``CRITICAL``/``WARNING`` for the email subject and body; "" for info."""
    return SEVERITY_LABELS.get(Severity(severity), "")


def email_headers(severity: str) -> tuple[tuple[str, str], ...]:
    """The extra headers of a broadcast mail of this severity."""
    return AUTO_HEADERS + (URGENT_HEADERS if Severity(severity) is Severity.CRITICAL else ())


def _title(title: str, exercise: bool, reminder: bool, room: int | None, label: str = "") -> str:
    core = " ".join(title.split())
    if reminder:
        core = f"{REMINDER} {core}" if core else REMINDER[:-1]
    prefix = (f"{EXERCISE} " if exercise else "") + (f"[{label}] " if label else "")
    if room is not None:
        core = _cut(core, max(0, room - len(prefix)))
    return (prefix + core).strip()


def render(
    kind: str, *, title: str, body: str, severity: str, exercise: bool, link: str | None,
    options: Sequence[str] = ("Acknowledge",), org_name: str = "", reminder: bool = False,
    service_limits: ServiceLimits | None = None,
) -> Rendered:
    """Render one message for one channel kind.

    Args:
        kind: ``email``, ``chat``, ``group`` (Markdown) or ``sms`` (plain, ≤ 160).
        title, body: as composed (body is Markdown).
        severity: info, warning or critical; checked here, mapped by :func:`notify_type_for`.
        exercise: label the message ``[EXERCISE]`` in the title and the body's first line.
        link: the personal (or group) answer link, or None for a message without one.
        options: the answer options, listed in the call to action.
        org_name: signs Markdown bodies and is an email's sender name; SMS has no room for it.
        reminder: a reminder to someone who has not answered.
        service_limits: the target service's limits, if known; both title and body are
            kept within them by shortening the text, never the link.

    Raises:
        ChannelError: unknown kind or severity, or an SMS whose link alone does not fit.
    """
    notify_type_for(severity)
    if kind == "sms":
        return _render_sms(title=title, body=body, exercise=exercise, link=link, options=options,
                           reminder=reminder, limits=service_limits)
    if kind not in ("email", "chat", "group"):
        raise ChannelError(f"unknown channel kind {kind!r}")
    label = severity_label(severity) if kind == "email" else ""
    rendered = _render_markdown(title=title, body=body, exercise=exercise, link=link, options=options,
                                org_name=org_name, reminder=reminder, limits=service_limits, label=label)
    if kind != "email":
        return rendered
    return replace(rendered, headers=email_headers(severity), sender_name=" ".join(org_name.split()))


def _render_markdown(*, title: str, body: str, exercise: bool, link: str | None,
                     options: Sequence[str], org_name: str, reminder: bool,
                     limits: ServiceLimits | None, label: str = "") -> Rendered:
    title_room = limits.title_maxlen if limits and limits.title_maxlen > 0 else None
    full_title = _title(title, exercise, reminder, title_room, label)

    head_parts = []
    if exercise:
        head_parts.append(EXERCISE)
    text = body.strip()
    if label:  # "CRITICAL:" before a sentence; "CRITICAL" alone above a Markdown block
        alone = not reminder and (not text or _MD_BLOCK_START.match(text))
        head_parts.append(f"**{label}**" if alone else f"**{label}:**")
    if reminder:
        head_parts.append(f"{REMINDER} we have not had your answer yet.")
    head = " ".join(head_parts)

    tail = ""
    if link:
        tail += f"\n\n{call_to_action(options)}:\n<{link}>"
    if org_name.strip():
        tail += f"\n\n— {' '.join(org_name.split())}"

    def assemble(text_part: str) -> str:
        if not head:
            return text_part + tail if text_part else tail.lstrip("\n")
        if not text_part:
            return head + tail
        if reminder or _MD_BLOCK_START.match(text_part):
            return f"{head}\n\n{text_part}{tail}"
        return f"{head} {text_part}{tail}"

    full = assemble(text)
    if limits and limits.body_maxlen > 0:
        room = limits.body_maxlen
        if limits.title_maxlen <= 0 and full_title:
            room -= len(full_title) + 4  # Apprise prepends "# title\n" or "title\r\n"
        if len(full) > room:
            fixed = len(assemble("x")) - 1
            if fixed > room:
                raise ChannelError(f"the service allows {limits.body_maxlen} characters; "
                                   "the label and link alone need more")
            full = assemble(_cut(text, room - fixed))
    return Rendered(full_title, full, MARKDOWN)


_LINKABLE_IMAGE = ("http://", "https://")


def _image_as_text(renderer: Any, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    """An image in an email is a remote fetch when the mail is opened (a tracking pixel):
    show its alt text instead, as a link to the picture for the reader who wants it
    (plain text inside another link, and nothing for an image without alt text)."""
    from markdown_it.common.utils import escapeHtml

    token = tokens[idx]
    alt = escapeHtml(renderer.renderInlineAsText(token.children or [], options, env).strip())
    src = str(token.attrGet("src") or "")
    depth = sum(t.nesting for t in tokens[:idx] if t.type in ("link_open", "link_close"))
    if alt and depth <= 0 and src.lower().startswith(_LINKABLE_IMAGE):
        return f'<a href="{escapeHtml(src)}">{alt}</a>'
    return alt


@cache
def _markdown() -> MarkdownIt:
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False})  # raw HTML in a body is escaped, never passed on
    md.add_render_rule("image", _image_as_text)
    return md


def as_html(rendered: Rendered) -> Rendered:
    """The same message with its Markdown body turned into HTML.

    For a fan-out the dispatcher converts a broadcast's body once and fills in
    each recipient's link, so Apprise's email plugin does not run its Markdown
    converter per message (about a quarter of the CPU of one email here).
    Apprise still writes the text/plain part from this HTML, links as bare URLs.
    No image is rendered (see :func:`_image_as_text`): a remote one is a tracking pixel.
    """
    if rendered.body_format != MARKDOWN:
        return rendered
    return replace(rendered, body=_markdown().render(rendered.body), body_format=HTML)


def _plain(markdown: str) -> str:
    """One line of plain text from Markdown, for SMS: no markers, links as "text (url)"."""
    text = _MD_LINK.sub(r"\1 (\2)", markdown)
    text = _MD_LINE_MARK.sub("", text)
    text = _MD_EMPHASIS.sub("", text)
    return " ".join(text.split())


_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=[\"'(]?[^\W_a-z])")  # not before a lower-case word
_MD_LIST_MARK = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")


def _sentences(text: str) -> list[str]:
    return [part for part in _SENTENCE_END.split(text) if part]


def _instruction(markdown: str) -> tuple[str, str]:
    """The first instruction (the first sentence of the first paragraph, heading or list item)
    and the rest of the text, both as plain text."""
    blocks: list[list[str]] = []
    for line in markdown.strip().splitlines():
        if not line.strip():
            blocks.append([])
        elif not blocks or _MD_BLOCK_START.match(line) or _MD_LIST_MARK.match(line):
            blocks.append([_MD_LIST_MARK.sub("", line)])
        else:
            blocks[-1].append(line)
    texts = [t for t in (_plain("\n".join(b)) for b in blocks) if t]
    if not texts:
        return "", ""
    first = _sentences(texts[0])
    rest = first[1:] + [t if t[-1] in ".!?…:;," else f"{t};" for t in texts[1:-1]] + texts[1:][-1:]
    return first[0], " ".join(rest)


def _fit_prose(text: str, room: int) -> str:
    """As much of ``text`` as fits in ``room``: whole sentences, then part of the next one if
    that says something, else an ellipsis telling the reader there is more."""
    if len(text) <= room:
        return text
    kept = ""
    for sentence in _sentences(text):
        longer = f"{kept} {sentence}" if kept else sentence
        if len(longer) > room - 2:  # keep room for " …"
            break
        kept = longer
    left = room - (len(kept) + 1 if kept else 0)
    if left >= SMS_MIN_PROSE:
        return (f"{kept} " if kept else "") + _cut(text[len(kept):].strip(), left)
    if room < len(ELLIPSIS):
        return ""
    return f"{kept} {ELLIPSIS}" if kept else ELLIPSIS


def _render_sms(*, title: str, body: str, exercise: bool, link: str | None, options: Sequence[str],
                reminder: bool, limits: ServiceLimits | None) -> Rendered:
    """Title, first instruction, answer link, then the rest of the text as far as it fits."""
    limit = SMS_MAXLEN
    if limits and limits.body_maxlen > 0:
        limit = min(limit, limits.body_maxlen)
    merged = limits is None or limits.title_maxlen <= 0
    title_room = SMS_TITLE_MAXLEN
    if not merged and limits is not None:
        title_room = min(title_room, limits.title_maxlen)

    prefix = f"{EXERCISE} " if exercise else ""
    instruction, prose = _instruction(body)
    lead = prefix + instruction
    link_lines = [""] if not link else [
        f"{call_to_action(options)}: {link}",
        f"{'Answer' if len([o for o in options if o.strip()]) > 1 else call_to_action(options)}: {link}",
        link,
    ]
    link_lines = list(dict.fromkeys(link_lines))

    titles = list(dict.fromkeys((_title(title, exercise, reminder, title_room), prefix.strip())))
    # Most complete first: full title, then the shorter calls to action, then a bare title.
    layouts = []
    for sms_title in titles:
        title_cost = len(sms_title) + 2 if merged and sms_title else 0
        for link_line in link_lines:
            room = limit - title_cost - (1 if link_line else 0) - len(link_line)
            if room >= len(prefix.strip()):
                layouts.append((sms_title, link_line, room, title_cost))
    if not layouts:
        raise ChannelError(f"the answer link is too long for a {limit}-character SMS")
    # The whole instruction under the full title (a shorter call to action if need be); else
    # enough of it to be useful; else the most room there is.
    wanted = len(prefix) + min(len(instruction), SMS_MIN_TEXT)
    sms_title, link_line, room, title_cost = next(
        (lay for lay in layouts if lay[0] == titles[0] and lay[2] >= len(lead.strip())),
        next((lay for lay in layouts if lay[2] >= wanted), max(layouts, key=lambda lay: lay[2])))
    first = _cut(lead, room) if instruction else prefix.strip()
    if exercise and not first.startswith(EXERCISE):
        first = prefix.strip()
    if instruction and first != lead:  # the instruction itself was cut: no room for more
        prose = ""
    parts = [part for part in (first, link_line) if part]
    used = title_cost + len("\n".join(parts))
    rest = _fit_prose(prose, limit - used - (1 if parts else 0)) if prose else ""
    return Rendered(sms_title, "\n".join([*parts, rest] if rest else parts), TEXT)
