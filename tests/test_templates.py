"""Templates service: CRUD with the same checks as a broadcast, each change audited."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from console import audit
from console.models import AuditEntry
from console.storage import Database, open_database
from console.templates import PRESETS, TemplateError, delete_template, get_template, list_templates, save_template


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = open_database(db_url)
    yield database
    database.dispose()


def _actions(db: Database) -> list[tuple[str, str]]:
    with db.read() as s:
        return [(a, subj) for a, subj in s.execute(select(AuditEntry.action, AuditEntry.subject)
                                                   .order_by(AuditEntry.seq))]


def test_create_edit_delete_is_audited(db: Database) -> None:
    with db.write() as s:
        row = save_template(s, "ops", title="Fire  alarm", body="Leave the building now.\n", severity="critical",
                            options=list(PRESETS["safety_check"].options))
    assert (row.name, row.title, row.body, row.severity) == ("Fire alarm", "Fire alarm",
                                                             "Leave the building now.", "critical")
    assert row.options == ("I'm safe", "I need help")
    assert row.help_options == ("I need help",)  # the preset's flag, stored with the options

    with db.write() as s:
        edited = save_template(s, "ops", name="Fire (site)", title="Fire alarm", body="Evacuate.",
                               severity="warning", options=["  Acknowledge  ", ""], template_id=row.id)
    assert edited.id == row.id
    assert (edited.name, edited.severity, edited.options) == ("Fire (site)", "warning", ("Acknowledge",))
    assert edited.help_options == ()
    with db.read() as s:
        assert [t.name for t in list_templates(s)] == ["Fire (site)"]
        assert get_template(s, row.id).body == "Evacuate."

    with db.write() as s:
        delete_template(s, "ops", row.id)
    with db.read() as s:
        assert list_templates(s) == []
        assert audit.verify(s).ok
    assert _actions(db) == [("templates.add", "Fire alarm"), ("templates.edit", "Fire (site)"),
                            ("templates.delete", "Fire (site)")]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"title": " ", "body": "b"}, "title: a template needs a title"),
    ({"title": "t", "body": "  "}, "body: a template needs a message body"),
    ({"title": "t", "body": "b", "severity": "panic"}, "severity: 'panic' is not one of info, warning, critical"),
    ({"title": "t", "body": "b", "options": ["Yes", "Yes"]}, "options: the same answer option is given twice"),
    ({"title": "t", "body": "b", "options": ["x" * 61]}, "longer than 60 characters"),
    ({"title": "x" * 301, "body": "b"}, "title: longer than 300 characters"),
])
def test_bad_input_writes_nothing(db: Database, kwargs: dict, message: str) -> None:
    with pytest.raises(TemplateError, match=message.replace("(", r"\(").replace(")", r"\)")):
        with db.write() as s:
            save_template(s, "ops", **kwargs)
    with db.read() as s:
        assert list_templates(s) == []
    assert _actions(db) == []


def test_duplicate_name_and_unknown_ids(db: Database) -> None:
    with db.write() as s:
        first = save_template(s, "ops", title="Storm", body="Stay home.")
        save_template(s, "ops", title="Outage", body="Systems down.")
    with pytest.raises(TemplateError, match="a template named 'Storm' already exists"):
        with db.write() as s:
            save_template(s, "ops", name="Storm", title="Outage", body="x")
    with db.write() as s:  # saving under its own name is not a clash
        save_template(s, "ops", title="Storm", body="Stay at home.", template_id=first.id)
    with pytest.raises(TemplateError, match="no template with id 999"):
        with db.write() as s:
            delete_template(s, "ops", 999)
    with pytest.raises(TemplateError, match="no template with id 999"):
        with db.write() as s:
            save_template(s, "ops", title="t", body="b", template_id=999)
    with db.read() as s:
        assert [t.name for t in list_templates(s)] == ["Outage", "Storm"]


def test_custom_options_carry_the_needs_help_flag_the_officer_chose(db: Database) -> None:
    with db.write() as s:
        row = save_template(s, "ops", title="Flood", body="Move upstairs.",
                            options=["Upstairs", "Trapped", "Not in the building"], help_options=["Trapped"])
    assert row.help_options == ("Trapped",)
    with db.read() as s:
        assert get_template(s, row.id).help_options == ("Trapped",)
        assert json.loads(s.scalars(select(AuditEntry.details).order_by(AuditEntry.seq.desc())).first() or "{}")[
            "help_options"] == ["Trapped"]


@pytest.mark.parametrize(("options", "helps", "words"), [
    (["Safe", "Trapped"], ["Lost"], "is not one of the answer options"),
    (["Trapped"], ["Trapped"], "at least one answer must not mean"),
])
def test_a_needs_help_flag_must_name_one_of_the_options(db: Database, options: list[str], helps: list[str],
                                                        words: str) -> None:
    with db.write() as s, pytest.raises(TemplateError, match=words):
        save_template(s, "ops", title="Flood", body="Move upstairs.", options=options, help_options=helps)
