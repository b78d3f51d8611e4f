"""Pre-approved messages: list, save and delete templates, each change audited.

A template is what a comms team agrees on before the crisis (title, body,
severity, answer options), so the person on duty picks one instead of writing
under pressure. The same checks as a broadcast apply, so a template can always
be sent as it stands.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from console import audit
from console.broadcast.errors import BroadcastError
from console.broadcast.options import DEFAULT_OPTIONS, PRESETS, preset_help_options, preset_of
from console.broadcast.options import clean_options as clean_broadcast_options
from console.broadcast.send import SEVERITIES
from console.errors import UserError
from console.models import Template

__all__ = ["PRESETS", "TemplateError", "TemplateRow", "clean_options", "delete_template", "get_template",
           "list_templates", "preset_of", "save_template"]

MAX_TITLE = 300


class TemplateError(UserError):
    """A template that cannot be saved or deleted as asked."""


@dataclass(frozen=True)
class TemplateRow:
    id: int
    name: str
    title: str
    body: str
    severity: str
    options: tuple[str, ...]
    help_options: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "title": self.title, "body": self.body,
                "severity": self.severity, "options": list(self.options), "help_options": list(self.help_options)}


def _row(t: Template) -> TemplateRow:
    return TemplateRow(t.id, t.name, t.title, t.body, t.severity, tuple(t.options or DEFAULT_OPTIONS),
                       tuple(t.help_options or ()))


def list_templates(session: Session) -> list[TemplateRow]:
    return [_row(t) for t in session.scalars(select(Template).order_by(Template.name))]


def get_template(session: Session, template_id: int) -> TemplateRow:
    found = session.get(Template, template_id)
    if found is None:
        raise TemplateError(f"no template with id {template_id}")
    return _row(found)


def clean_options(options: Sequence[str] | None,
                  help_options: Sequence[str] | None = None) -> tuple[list[str], list[str]]:
    """Blank lines dropped, then the checks of a broadcast's options (a template must be sendable).

    `help_options` None: the preset's "needs help" flags when the options are a preset, else none.
    """
    cleaned = [o for o in (" ".join(o.split()) for o in (options or ())) if o] or list(DEFAULT_OPTIONS)
    if help_options is None:
        help_options = preset_help_options(cleaned)
    try:
        return clean_broadcast_options(cleaned, help_options, field="options")
    except BroadcastError as exc:
        raise TemplateError(str(exc).replace("--help-option", "needs help")) from None


def save_template(
    session: Session, actor: str, *, title: str, body: str, severity: str = "info",
    options: Sequence[str] | None = None, help_options: Sequence[str] | None = None, name: str | None = None,
    template_id: int | None = None,
) -> TemplateRow:
    """Create (template_id None) or edit a template; the name defaults to the title."""
    clean_title = " ".join(title.split())
    clean_body = body.strip()
    clean_name = " ".join((name or "").split()) or clean_title
    if not clean_title:
        raise TemplateError("title: a template needs a title")
    if len(clean_title) > MAX_TITLE:
        raise TemplateError(f"title: longer than {MAX_TITLE} characters")
    if not clean_body:
        raise TemplateError("body: a template needs a message body")
    if severity not in SEVERITIES:
        raise TemplateError(f"severity: {severity!r} is not one of {', '.join(SEVERITIES)}")
    if len(clean_name) > 200:
        raise TemplateError("name: longer than 200 characters")
    clean_opts, clean_helps = clean_options(options, help_options)
    clash = session.scalar(select(Template.id).where(Template.name == clean_name))
    if clash is not None and clash != template_id:
        raise TemplateError(f"name: a template named {clean_name!r} already exists")
    if template_id is None:
        template = Template()
        session.add(template)
        action = "templates.add"
    else:
        found = session.get(Template, template_id)
        if found is None:
            raise TemplateError(f"no template with id {template_id}")
        template, action = found, "templates.edit"
    template.name, template.title, template.body = clean_name, clean_title, clean_body
    template.severity, template.options, template.help_options = severity, clean_opts, clean_helps
    session.flush()
    row = _row(template)
    audit.append(session, actor, action, clean_name, row.as_json())
    return row


def delete_template(session: Session, actor: str, template_id: int) -> None:
    found = session.get(Template, template_id)
    if found is None:
        raise TemplateError(f"no template with id {template_id}")
    details = _row(found).as_json()
    session.delete(found)
    audit.append(session, actor, "templates.delete", found.name, details)
