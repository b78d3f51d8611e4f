"""Template use cases: list, save, delete pre-approved messages."""

from __future__ import annotations

from collections.abc import Sequence

from console import templates as domain
from console.storage import Database
from console.templates import TemplateError, TemplateRow
from console.vocabulary import Severity

__all__ = ["TemplateError", "TemplateRow", "delete_template", "get_template", "list_templates", "save_template"]


def list_templates(db: Database) -> list[TemplateRow]:
    with db.read() as session:
        return domain.list_templates(session)


def get_template(db: Database, template_id: int) -> TemplateRow:
    with db.read() as session:
        return domain.get_template(session, template_id)


def save_template(
    db: Database, actor: str, *, title: str, body: str, severity: str = Severity.INFO, name: str | None = None,
    options: Sequence[str] | None = None, help_options: Sequence[str] | None = None,
    template_id: int | None = None,
) -> TemplateRow:
    """Add (template_id None) or edit a template; checked and audited by console.templates."""
    with db.write() as session:
        return domain.save_template(session, actor, name=name, title=title, body=body, severity=severity,
                                    options=options, help_options=help_options, template_id=template_id)


def delete_template(db: Database, actor: str, template_id: int) -> None:
    with db.write() as session:
        domain.delete_template(session, actor, template_id)
