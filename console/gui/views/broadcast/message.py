"""The message half of Compose: template, title, body, severity, answer options, exercise switch,
and when it goes out and how the silent are chased (console.gui.views.broadcast.follow_form)."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QLabel, QLineEdit, QPlainTextEdit, QVBoxLayout, QWidget

from console.broadcast.options import DEFAULT_OPTIONS, PRESETS, preset_of
from console.gui.views.broadcast.follow_form import FollowThroughForm
from console.gui.views.broadcast.help_option import HelpOptionBox
from console.templates import TemplateRow
from console.vocabulary import Severity


class MessageForm(QWidget):
    """What the message says; the answer presets and the options text follow each other.

    Signals:
        edited(): something the preview shows changed.
        template_chosen(object): the id of the template picked in the box (None: no template).
    """

    edited = Signal()
    template_chosen = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.template_box = QComboBox()
        self.template_box.addItem(self.tr("— No template —"), None)
        self.template_box.activated.connect(lambda _i: self.template_chosen.emit(self.template_box.currentData()))
        self.title_edit = QLineEdit()
        self.title_edit.setPlaceholderText(self.tr("What is happening, in a few words"))
        self.title_edit.setMaxLength(300)
        self.body_edit = QPlainTextEdit()
        self.body_edit.setPlaceholderText(self.tr("What people must do now (Markdown: **bold**, lists, links)"))
        self.severity_box = QComboBox()
        for severity, text in zip(Severity, (self.tr("Info"), self.tr("Warning"), self.tr("Critical")), strict=True):
            self.severity_box.addItem(text, severity.value)
        self.preset_box = QComboBox()
        self.preset_box.addItem(self.tr("Acknowledge"), "acknowledge")
        self.preset_box.addItem(self.tr("Safety check (I'm safe / I need help)"), "safety_check")
        self.preset_box.addItem(self.tr("Custom"), "custom")
        self.preset_box.activated.connect(lambda _i: self._apply_preset())
        self.options_edit = QLineEdit("; ".join(DEFAULT_OPTIONS))
        self.options_edit.setToolTip(self.tr("Answer options, separated by ';'"))
        self.options_edit.textEdited.connect(self._options_edited)
        self.help_box = HelpOptionBox()
        self.help_box.set_options(DEFAULT_OPTIONS, [])
        self.help_box.activated.connect(lambda _i: self._options_edited())
        self.exercise_box = QCheckBox(self.tr("Exercise (a drill: labelled [EXERCISE] everywhere)"))
        self.exercise_banner = QLabel(self.tr("EXERCISE — every channel labels this message as a drill."))
        self.exercise_banner.setObjectName("exerciseBanner")
        self.exercise_banner.hide()
        self.exercise_box.toggled.connect(self.exercise_banner.setVisible)
        self.follow = FollowThroughForm()
        form = QFormLayout()
        form.addRow(self.tr("Template"), self.template_box)
        form.addRow(self.tr("Title"), self.title_edit)
        form.addRow(self.tr("Message"), self.body_edit)
        form.addRow(self.tr("Severity"), self.severity_box)
        form.addRow(self.tr("Answers"), self.preset_box)
        form.addRow("", self.options_edit)
        form.addRow(self.tr("Needs help"), self.help_box)
        form.addRow("", self.exercise_box)
        form.addRow(self.tr("Follow-up"), self.follow)
        box = QVBoxLayout(self)
        box.addWidget(self.exercise_banner)
        box.addLayout(form)
        for signal in (self.title_edit.textChanged, self.body_edit.textChanged, self.options_edit.textChanged,
                       self.severity_box.currentIndexChanged, self.exercise_box.toggled):
            signal.connect(self.edited)

    # -- what it says ------------------------------------------------------------------------
    def title(self) -> str:
        return self.title_edit.text()

    def body(self) -> str:
        return self.body_edit.toPlainText()

    def severity(self) -> str:
        return self.severity_box.currentData() or Severity.INFO.value

    def exercise(self) -> bool:
        return self.exercise_box.isChecked()

    # -- templates -------------------------------------------------------------------------
    def set_templates(self, templates: list[TemplateRow]) -> None:
        """Offer these templates; the one chosen stays chosen if it is still there."""
        current = self.template_box.currentData()
        self.template_box.clear()
        self.template_box.addItem(self.tr("— No template —"), None)
        for template in templates:
            self.template_box.addItem(template.name, template.id)
        found = self.template_box.findData(current)
        self.template_box.setCurrentIndex(max(found, 0))

    def fill(self, template: TemplateRow) -> None:
        """Title, body, severity and answers from a template (the text stays editable)."""
        self.title_edit.setText(template.title)
        self.body_edit.setPlainText(template.body)
        self.severity_box.setCurrentIndex(max(self.severity_box.findData(template.severity), 0))
        self.set_options(template.options, template.help_options)

    # -- options ---------------------------------------------------------------------------
    def options(self) -> list[str]:
        return [o.strip() for o in self.options_edit.text().split(";") if o.strip()]

    def help_options(self) -> list[str]:
        """The options that mean "needs help" (chosen in the box below the options)."""
        return [h for h in self.help_box.help_options() if h in self.options()]

    def set_options(self, options: Sequence[str], help_options: Sequence[str] = ()) -> None:
        self.options_edit.setText("; ".join(options))
        self.help_box.set_options(self.options(), help_options)
        self._options_edited()

    def _apply_preset(self) -> None:
        preset = PRESETS.get(self.preset_box.currentData())
        if preset is not None:
            self.options_edit.setText("; ".join(preset.options))
            self.help_box.set_options(preset.options, preset.help_options)

    def _options_edited(self) -> None:
        self.help_box.set_options(self.options())
        self.preset_box.setCurrentIndex(self.preset_box.findData(preset_of(self.options(), self.help_options())))
