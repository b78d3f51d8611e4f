"""The "Needs help" choice of an answer set: which option, if any, asks for help.

Compose and the template editor both offer it under their answer options; the
choice is stored as the broadcast's or template's `help_options` (a flag, not
a match on the words of an answer).
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import QComboBox, QWidget


class HelpOptionBox(QComboBox):
    """Offers "none" and each current option; keeps the chosen text while the options change.

    Signals: QComboBox's own (`currentIndexChanged`).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("helpOptionBox")
        self.setToolTip(self.tr("The answer that means the person needs help: it opens a help request "
                                "and is shown first"))
        self.set_options([], [])

    def set_options(self, options: Sequence[str], help_options: Sequence[str] | None = None) -> None:
        """Offer `options`; choose `help_options[0]` (None: keep the current choice if still offered)."""
        keep = self.currentData() if help_options is None else (help_options[0] if help_options else None)
        self.blockSignals(True)
        self.clear()
        self.addItem(self.tr("None of the answers"), None)
        for option in options:
            self.addItem(option, option)
        self.setCurrentIndex(max(self.findData(keep), 0) if keep is not None else 0)
        self.blockSignals(False)

    def help_options(self) -> list[str]:
        chosen = self.currentData()
        return [chosen] if chosen else []
