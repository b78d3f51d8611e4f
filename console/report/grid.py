"""Long tables for a report, fast: cells are plain text wrapped here once, not Paragraphs.

A 2,000-person incident has ~40,000 cells in its people and audit tables. As ReportLab
Paragraphs they were measured and wrapped again at every page split (20 s for one report);
as text wrapped once to the column's width they cost a string each (see the README's figures).
Text is never markup here, so nobody's name can inject any.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from reportlab.lib import colors
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import LongTable, TableStyle

PAD = 3.0
HEAD = colors.HexColor("#e8eaed")
RULE = colors.HexColor("#b0b4ba")
STRIPE = colors.HexColor("#f6f7f8")


@dataclass(frozen=True)
class Column:
    """A column: its heading, its share of the table's width, and whether it is set in the mono font."""

    title: str
    share: float
    mono: bool = False


@dataclass(frozen=True)
class Fonts:
    regular: str
    bold: str
    mono: str
    size: float = 7.0
    mono_size: float = 5.8

    @property
    def leading(self) -> float:
        return self.size * 1.22


class Wrapper:
    """Greedy line breaking by measured width; a word wider than the column is cut where it must be."""

    def __init__(self, font: str, size: float) -> None:
        self.font, self.size = font, size
        self._widths: dict[str, float] = {}
        self.space = stringWidth(" ", font, size)

    def width(self, word: str) -> float:
        found = self._widths.get(word)
        if found is None:
            found = self._widths[word] = stringWidth(word, self.font, self.size)
        return found

    def lines(self, value: str, width: float) -> list[str]:
        out: list[str] = []
        for paragraph in value.split("\n"):
            line, used = "", 0.0
            for word in paragraph.split(" "):
                w = self.width(word)
                if line and used + self.space + w <= width:
                    line, used = f"{line} {word}", used + self.space + w
                    continue
                if line:
                    out.append(line)
                line, used = word, w
                while used > width and len(line) > 1:
                    cut = self._fit(line, width)
                    out.append(line[:cut])
                    line = line[cut:]
                    used = self.width(line)
            out.append(line)
        return out

    def _fit(self, word: str, width: float) -> int:
        """How many leading characters of `word` fit in `width` (at least one), ending after an `@`,
        `.`, `-`, `_` or `/` when one fits, so an address breaks where a reader expects."""
        used = 0.0
        for index, char in enumerate(word):
            used += self.width(char)
            if used > width:
                soft = max(word.rfind(mark, 0, index) for mark in "@.-_/")
                return soft + 1 if soft > 0 else max(index, 1)
        return len(word)


def grid(columns: Sequence[Column], rows: Iterable[Sequence[str]], width: float, fonts: Fonts,
         bold: Sequence[tuple[int, int]] = ()) -> LongTable:
    """A table `width` wide whose heading repeats on every page; `bold`: (column, row) cells, row 1 = first."""
    widths = [c.share / sum(c.share for c in columns) * width for c in columns]
    plain, mono = Wrapper(fonts.regular, fonts.size), Wrapper(fonts.mono, fonts.mono_size)
    data = [[c.title for c in columns]]
    for row in rows:
        data.append(["\n".join((mono if c.mono else plain).lines(value, w - 2 * PAD))
                     for c, value, w in zip(columns, row, widths, strict=True)])
    style = [("FONT", (0, 0), (-1, -1), fonts.regular, fonts.size, fonts.leading),
             ("FONT", (0, 0), (-1, 0), fonts.bold, fonts.size, fonts.leading),
             ("VALIGN", (0, 0), (-1, -1), "TOP"), ("LINEBELOW", (0, 0), (-1, -1), 0.25, RULE),
             ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
             ("LEFTPADDING", (0, 0), (-1, -1), PAD), ("RIGHTPADDING", (0, 0), (-1, -1), PAD),
             ("BACKGROUND", (0, 0), (-1, 0), HEAD),
             ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, STRIPE])]
    style += [("FONT", (i, 1), (i, -1), fonts.mono, fonts.mono_size, fonts.leading)
              for i, c in enumerate(columns) if c.mono]
    style += [("FONT", (col, row), (col, row), fonts.bold, fonts.size, fonts.leading) for col, row in bold]
    table = LongTable(data, colWidths=widths, repeatRows=1, hAlign="LEFT")
    table.setStyle(TableStyle(style))
    return table
