"""Horizontal bar charts as plain SVG geometry; `templates/ops/_charts.html` draws them (no JavaScript)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

LABEL_W, BAR_W, VALUE_W, ROW_H, BAR_H, GAP = 160, 300, 120, 26, 14, 2


@dataclass(frozen=True)
class Bar:
    y: float
    width: float
    series: int
    value_text: str
    height: float = BAR_H


@dataclass(frozen=True)
class Row:
    label: str
    y: float
    bars: tuple[Bar, ...]


@dataclass(frozen=True)
class Chart:
    title: str
    rows: tuple[Row, ...]
    legend: tuple[str, ...]
    width: int = LABEL_W + BAR_W + VALUE_W
    empty: str = "No data yet"

    @property
    def height(self) -> int:
        return max(ROW_H, ROW_H * len(self.rows)) + (20 if len(self.legend) > 1 else 0) + 6

    @property
    def bar_x(self) -> int:
        return LABEL_W

    @property
    def value_x(self) -> int:
        return LABEL_W + BAR_W + 6

    @property
    def legend_y(self) -> int:
        return ROW_H * len(self.rows) + 14


Point = tuple[str, Sequence[float | None], Sequence[str]]


def bar_chart(title: str, points: Sequence[Point], legend: Sequence[str] = (), scale: float | None = None) -> Chart:
    """One row per label, one bar per series; bars scale to `scale` (default: the largest value)."""
    values = [v for _, series, _ in points for v in series if v is not None]
    top = scale or max(values, default=0.0) or 1.0
    rows = []
    for i, (label, series, texts) in enumerate(points):
        n = max(1, len(series))
        height = BAR_H if n == 1 else 8
        top_y = i * ROW_H + (ROW_H - (n * height + (n - 1) * GAP)) / 2
        bars = tuple(Bar(y=top_y + j * (height + GAP), width=BAR_W * min(v or 0, top) / top, series=j,
                         value_text=texts[j], height=height) for j, v in enumerate(series))
        rows.append(Row(label[:24], i * ROW_H, bars))
    return Chart(title, tuple(rows), tuple(legend))
