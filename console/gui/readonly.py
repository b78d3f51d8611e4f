"""Read-only mode in the desktop: write controls tagged by their views, then taken away.

A view marks each control that sends or changes something with `mark_writes`, and each
field whose only use is to be saved (a template's text, a setting's value) with `mark_edits`
(Qt properties, so they can be found by walking the widgets). In read-only mode the app calls
`lock` on every page as it is made: tagged buttons and actions are disabled and hidden,
tagged shortcuts disabled, tagged fields made read-only (text stays selectable) or disabled,
and a guard keeps them so when the view's own logic enables them again (on a selection
change, say). The database opened read-only is the backstop
behind all of this: a write that still got through is refused there, in words.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt
from PySide6.QtGui import QAction, QShortcut
from PySide6.QtWidgets import QLabel, QLineEdit, QPlainTextEdit, QTextEdit, QWidget

WRITES = "writes"
"""The property a view sets on a control that sends or changes something."""
EDITS = "edits"
"""The property a view sets on a field that is only there to be saved."""

BADGE_NAME = "readOnlyBadge"

Control = QWidget | QAction | QShortcut


def _tr(text: str) -> str:
    return QCoreApplication.translate("readonly", text)


def mark_writes(*controls: Control) -> None:
    """Tag controls that send or change something: read-only mode takes them away."""
    for control in controls:
        control.setProperty(WRITES, True)


def mark_edits(*fields: QWidget) -> None:
    """Tag fields that are only there to be saved: read-only mode shows them, not for editing."""
    for field in fields:
        field.setProperty(EDITS, True)


def writes(control: QObject) -> bool:
    return bool(control.property(WRITES))


def edits(field: QObject) -> bool:
    return bool(field.property(EDITS))


class _Guard(QObject):
    """Keeps locked widgets disabled and hidden whatever their view does later."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if isinstance(watched, QWidget):
            if event.type() == QEvent.Type.EnabledChange and watched.isEnabled():
                watched.setEnabled(False)
            elif (event.type() in (QEvent.Type.ShowToParent, QEvent.Type.Show) and writes(watched)
                  and not watched.isHidden()):
                watched.hide()
        return False


def _lock_action(action: QAction) -> None:
    def keep_off() -> None:
        if action.isEnabled():
            action.setEnabled(False)
        if action.isVisible():
            action.setVisible(False)

    keep_off()
    action.changed.connect(keep_off)


def lock(root: QWidget) -> QWidget:
    """Disable and hide every tagged control under (and including) `root`; returns `root`.

    Idempotent: a control already locked is left as it is.
    """
    guard = root.findChild(_Guard, "readOnlyGuard", Qt.FindChildOption.FindDirectChildrenOnly)
    if guard is None:
        guard = _Guard(root)
        guard.setObjectName("readOnlyGuard")
    widgets = [root, *root.findChildren(QWidget)]
    for widget in widgets:
        if writes(widget) and not widget.property("readOnlyLocked"):
            widget.setProperty("readOnlyLocked", True)
            widget.setEnabled(False)
            widget.hide()
            widget.installEventFilter(guard)
    for field in widgets:
        if edits(field) and not field.property("readOnlyLocked"):
            field.setProperty("readOnlyLocked", True)
            if isinstance(field, QLineEdit | QPlainTextEdit | QTextEdit):
                field.setReadOnly(True)
            else:
                field.setEnabled(False)
                field.installEventFilter(guard)
    for action in root.findChildren(QAction):
        if writes(action) and not action.property("readOnlyLocked"):
            action.setProperty("readOnlyLocked", True)
            _lock_action(action)
    for shortcut in root.findChildren(QShortcut):
        if writes(shortcut):
            shortcut.setEnabled(False)
    return root


def badge(parent: QWidget | None = None) -> QLabel:
    """The "read-only" badge (styled in resources/qss as QLabel#readOnlyBadge): always in sight."""
    label = QLabel(_tr("read-only"), parent)
    label.setObjectName(BADGE_NAME)
    label.setToolTip(_tr("Read-only mode: nothing can be sent or changed; no dispatcher or answer service runs here."))
    return label
