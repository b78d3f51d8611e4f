"""Answers over time: one line per answer option, cumulative, from recipients.answered_at."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from PySide6.QtCharts import QChart, QChartView, QDateTimeAxis, QLineSeries, QValueAxis
from PySide6.QtCore import QDateTime, QPointF, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QVBoxLayout, QWidget


class AnswersChart(QWidget):
    """A QChartView with a line per answer option.

    Signals: none (it only shows what `show_series` is given).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.chart = QChart()
        self.chart.setTitle(self.tr("Answers over time"))
        self.chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
        self.x_axis = QDateTimeAxis()
        self.x_axis.setFormat("HH:mm:ss")
        self.y_axis = QValueAxis()
        self.y_axis.setLabelFormat("%d")
        self.y_axis.setTitleText(self.tr("People"))
        self.view = QChartView(self.chart, self)
        self.view.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        self.view.setMinimumHeight(220)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        self._lines: dict[str, QLineSeries] = {}
        self._shown: tuple[object, ...] = ()

    def series_names(self) -> list[str]:
        return list(self._lines)

    def points(self, name: str) -> list[tuple[float, float]]:
        return [(p.x(), p.y()) for p in self._lines[name].points()]

    def clear(self) -> None:
        for line in self._lines.values():
            self.chart.removeSeries(line)
        for axis in self.chart.axes():
            self.chart.removeAxis(axis)  # an axis laid out without a series is never drawn later
        self._lines.clear()
        self._shown = ()

    def show_series(self, start: dt.datetime, end: dt.datetime, series: dict[str, list[tuple[float, int]]],
                    people: int, alarm: Collection[str] = ()) -> None:
        """Replace the lines (only what changed) and fit the axes to the broadcast's time and size;
        the `alarm` answers (those that mean "needs help") are drawn red."""
        key = (start, end, people, tuple(sorted(alarm)),
               tuple((n, len(p), p[-1] if p else None) for n, p in series.items()))
        if key == self._shown:
            return
        self._shown = key
        if list(series) != list(self._lines):
            self.clear()
            self.chart.addAxis(self.x_axis, Qt.AlignmentFlag.AlignBottom)
            self.chart.addAxis(self.y_axis, Qt.AlignmentFlag.AlignLeft)
            for name in series:
                line = QLineSeries()
                line.setName(name)
                self.chart.addSeries(line)
                line.attachAxis(self.x_axis)
                line.attachAxis(self.y_axis)
                if name in alarm:
                    pen = line.pen()
                    pen.setColor(Qt.GlobalColor.red)
                    line.setPen(pen)
                self._lines[name] = line
        top = 1
        for name, points in series.items():
            self._lines[name].replace([QPointF(x, y) for x, y in points])
            top = max([top, *(y for _x, y in points)])
        self.x_axis.setRange(QDateTime.fromMSecsSinceEpoch(int(start.timestamp() * 1000)),
                             QDateTime.fromMSecsSinceEpoch(int(max(end, start + dt.timedelta(seconds=60))
                                                              .timestamp() * 1000)))
        self.y_axis.setRange(0, max(top, people, 1))
