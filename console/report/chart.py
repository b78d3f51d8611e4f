"""The answers-over-time chart of a report, drawn as vector graphics (ReportLab's graphics shapes).

The same lines as the desktop's chart (console.services.live / incident_live): for each answer,
how many people stood by it as time went on. People change answer only at the points given, so
each line is drawn as steps; answers meaning "needs help" are red, as on the screen.
"""

from __future__ import annotations

import datetime as dt
import math

from reportlab.graphics.shapes import Drawing, Line, PolyLine, Rect, String
from reportlab.lib import colors

PALETTE = (colors.HexColor("#2e7d32"), colors.HexColor("#1565c0"), colors.HexColor("#6a1b9a"),
           colors.HexColor("#ef6c00"), colors.HexColor("#00838f"), colors.HexColor("#5d4037"))
ALARM = colors.HexColor("#c62828")
GRID = colors.HexColor("#d0d0d0")
INK = colors.HexColor("#333333")


def answers_chart(series: dict[str, list[tuple[float, int]]], alarm: tuple[str, ...], start: dt.datetime,
                  end: dt.datetime, width: float, height: float, font: str) -> Drawing:
    """A drawing `width` × `height` points: axes in people and UTC time, one step line per answer, a legend."""
    drawing = Drawing(width, height)
    legend_h = 14 * math.ceil(max(len(series), 1) / 3)
    left, bottom, right, top = 36.0, 22.0 + legend_h, width - 8.0, height - 14.0
    t0, t1 = start.timestamp() * 1000.0, max(end.timestamp() * 1000.0, start.timestamp() * 1000.0 + 60_000)
    peak = max([n for line in series.values() for _t, n in line] + [1])
    step = _nice_step(peak)
    top_value = step * math.ceil(peak / step)

    def x(t: float) -> float:
        return left + (min(max(t, t0), t1) - t0) / (t1 - t0) * (right - left)

    def y(n: float) -> float:
        return bottom + n / top_value * (top - bottom)

    drawing.add(Rect(left, bottom, right - left, top - bottom, strokeColor=GRID, fillColor=None, strokeWidth=0.5))
    value = 0.0
    while value <= top_value + 1e-9:
        drawing.add(Line(left, y(value), right, y(value), strokeColor=GRID, strokeWidth=0.4))
        drawing.add(String(left - 4, y(value) - 3, f"{value:g}", fontName=font, fontSize=7, fillColor=INK,
                           textAnchor="end"))
        value += step
    for when, label in _time_ticks(t0, t1):
        drawing.add(Line(x(when), bottom, x(when), bottom - 3, strokeColor=INK, strokeWidth=0.5))
        drawing.add(String(x(when), bottom - 12, label, fontName=font, fontSize=7, fillColor=INK,
                           textAnchor="middle"))
    drawing.add(String(left, top + 5, "people", fontName=font, fontSize=7, fillColor=INK, textAnchor="middle"))
    others = iter(PALETTE * (len(series) // len(PALETTE) + 1))
    for index, (name, line) in enumerate(series.items()):
        color = ALARM if name in alarm else next(others)
        points: list[float] = []
        last = 0
        for when, people in line:
            if points:
                points += [x(when), y(last)]
            points += [x(when), y(people)]
            last = people
        if len(points) >= 4:
            drawing.add(PolyLine(points, strokeColor=color, strokeWidth=1.4))
        col, row = index % 3, index // 3
        lx, ly = left + col * (right - left) / 3, 4 + (legend_h - 14) - row * 14
        drawing.add(Rect(lx, ly, 9, 6, fillColor=color, strokeColor=None))
        final = line[-1][1] if line else 0
        drawing.add(String(lx + 13, ly, f"{_short(name)}: {final}", fontName=font, fontSize=7.5, fillColor=INK))
    if not series:
        drawing.add(String((left + right) / 2, (bottom + top) / 2, "no answers offered", fontName=font,
                           fontSize=8, fillColor=INK, textAnchor="middle"))
    return drawing


def _nice_step(peak: float) -> float:
    """A grid step of 1, 2 or 5 × 10^n giving four to eight lines."""
    raw = peak / 5
    magnitude = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    for factor in (1, 2, 5, 10):
        if raw <= factor * magnitude:
            return max(float(factor * magnitude), 1.0)
    return float(10 * magnitude)


_TICK_CHOICES_S = (60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800)


def _time_ticks(t0: float, t1: float) -> list[tuple[float, str]]:
    """Round UTC times for the x axis (about six), as HH:MM, or dates when the span is days."""
    span = (t1 - t0) / 1000
    every = next((s for s in _TICK_CHOICES_S if span / s <= 6), _TICK_CHOICES_S[-1])
    first = math.ceil(t0 / 1000 / every) * every
    ticks = []
    moment = first
    while moment * 1000 <= t1:
        when = dt.datetime.fromtimestamp(moment, dt.UTC)
        ticks.append((moment * 1000.0, when.strftime("%d %b" if every >= 86400 else "%H:%M")))
        moment += every
    return ticks


def _short(text: str, limit: int = 28) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"
