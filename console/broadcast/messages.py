"""Per-recipient messages without per-recipient rendering.

Within one broadcast only the link differs between recipients on a channel, and
every link has the same length. So a message is rendered once per (broadcast,
channel, kind of link, reminder) with a stand-in link of that length — the
length keeps SMS and service limits honest — converted to HTML once for email,
and each recipient's link is then put in its place.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, replace

from channels import Rendered, ServiceLimits, as_html, render
from console.acks.tokens import TOKEN_LENGTH, ack_link, group_link

_STAND_IN_TOKEN = "Q" * TOKEN_LENGTH
_MAX_TEMPLATES = 512


@dataclass(frozen=True)
class MessageSpec:
    """What decides a broadcast's text on one channel."""

    broadcast_id: int
    channel_kind: str
    title: str
    body: str
    severity: str
    exercise: bool
    options: tuple[str, ...]
    org_name: str
    public_url: str
    group_post: bool
    reminder: bool
    limits: ServiceLimits | None


class MessageCache:
    """Rendered templates, one per MessageSpec; used by one claimer thread."""

    def __init__(self) -> None:
        self._templates: dict[MessageSpec, tuple[Rendered, str]] = {}

    def message(self, spec: MessageSpec, token: str) -> Rendered:
        link = _link(spec, token)
        if len(token) != TOKEN_LENGTH:
            return self._render(spec, link)
        cached = self._templates.get(spec)
        if cached is None:
            if len(self._templates) >= _MAX_TEMPLATES:
                self._templates.clear()
            stand_in = _link(spec, _STAND_IN_TOKEN)
            cached = (self._render(spec, stand_in), stand_in)
            self._templates[spec] = cached
        template, stand_in = cached
        if stand_in not in template.body:  # the renderer reshaped the link: render this one fully
            return self._render(spec, link)
        filled = html.escape(link) if template.body_format == "html" else link
        return replace(template, body=template.body.replace(stand_in, filled))  # headers, sender kept

    @staticmethod
    def _render(spec: MessageSpec, link: str) -> Rendered:
        rendered = render(spec.channel_kind, title=spec.title, body=spec.body, severity=spec.severity,
                          exercise=spec.exercise, link=link, options=spec.options, org_name=spec.org_name,
                          reminder=spec.reminder, service_limits=spec.limits)
        return as_html(rendered) if spec.channel_kind == "email" else rendered


def _link(spec: MessageSpec, token: str) -> str:
    return group_link(spec.public_url, token) if spec.group_post else ack_link(spec.public_url, token)
