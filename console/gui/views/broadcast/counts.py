"""The counts of one broadcast: bars in people, a line in people, a line in messages, the answers."""

from __future__ import annotations

from PySide6.QtWidgets import QGridLayout, QLabel, QProgressBar, QVBoxLayout, QWidget

from console.services.broadcasts import BroadcastStatus


class CountsPanel(QWidget):
    """Every bar counts people (a person sent two messages counts once); `messages_label` counts messages."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bars: dict[str, QProgressBar] = {}
        grid = QGridLayout()
        labels = (("delivered", self.tr("Reached"), self.tr("%v of %m people reached")),
                  ("failed", self.tr("Failed"), self.tr("%v of %m people failed")),
                  ("pending", self.tr("Pending"), self.tr("%v of %m people pending")),
                  ("answered", self.tr("Answered"), self.tr("%v of %m people answered")))
        for row, (key, text, fmt) in enumerate(labels):
            bar = QProgressBar()
            bar.setObjectName(f"{key}Bar")
            bar.setFormat(fmt)
            bar.setRange(0, 1)
            bar.setValue(0)
            self.bars[key] = bar
            grid.addWidget(QLabel(text), row, 0)
            grid.addWidget(bar, row, 1)
        self.people_label = QLabel()
        self.people_label.setObjectName("peopleCounts")
        self.messages_label = QLabel()
        self.messages_label.setObjectName("messageCounts")
        self.answers_label = QLabel()
        self.answers_label.setWordWrap(True)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.people_label)
        box.addLayout(grid)
        box.addWidget(self.messages_label)
        box.addWidget(self.answers_label)

    def show_status(self, st: BroadcastStatus | None) -> None:
        if st is None:
            for bar in self.bars.values():
                self._set_bar(bar, 0, 1)
            self.answers_label.clear()
            self.people_label.clear()
            self.messages_label.clear()
            return
        people = st.people
        self._set_bar(self.bars["delivered"], people.reached, people.total)
        self._set_bar(self.bars["failed"], people.failed, people.total)
        self._set_bar(self.bars["pending"], people.pending, people.total)
        self._set_bar(self.bars["answered"], st.acknowledged, st.recipients)
        self.people_label.setText(
            self.tr("{n} people: all {n} reached").format(n=people.total) if not people.not_reached else
            self.tr("{n} people: {reached} reached, {rest} not reached yet").format(
                n=people.total, reached=people.reached, rest=people.not_reached))
        self.messages_label.setText(
            self.tr("{m} messages: {sent} sent, {failed} failed, {pending} pending").format(
                m=st.messages, sent=st.sent, failed=st.failed, pending=st.pending)
            + (self.tr(", {c} cancelled").format(c=st.cancelled) if st.cancelled else ""))
        parts = [f"{answer}: {count}" for answer, count in st.answers.items()]
        if st.unreachable:
            parts.append(self.tr("unreachable: {n}").format(n=st.unreachable))
        self.answers_label.setText("   ".join(parts))

    @staticmethod
    def _set_bar(bar: QProgressBar, value: int, maximum: int) -> None:
        if bar.maximum() == max(maximum, 1) and bar.value() == value:
            return
        # QProgressBar.setValue repaints at once, which paints the whole window's pending
        # updates (the recipients table too) there and then; let the event loop paint once.
        bar.setUpdatesEnabled(False)
        try:
            bar.setRange(0, max(maximum, 1))
            bar.setValue(value)
        finally:
            bar.setUpdatesEnabled(True)
