"""Chart geometry for the KPI page, drawn as plain SVG by ``templates/_charts.html``. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None  # a share 0..1, or None when nothing was decided
    y: int
    width: float  # pixels


@dataclass(frozen=True)
class BarChart:
    bars: list[Bar]
    width: int
    height: int
    label_width: int
    plot_width: int
    target_x: float | None  # a vertical target line (e.g. 90 %)


def bar_chart(items: Sequence[tuple[str, float | None]], *, width: int = 640,
              label_width: int = 220, row: int = 26, target: float | None = 0.9) -> BarChart:
    plot = width - label_width - 60
    bars = [Bar(label, value, 8 + i * row, 0.0 if value is None else max(0.0, min(value, 1.0))
                * plot) for i, (label, value) in enumerate(items)]
    return BarChart(bars, width, 16 + row * max(len(items), 1), label_width, plot,
                    None if target is None else label_width + target * plot)


@dataclass(frozen=True)
class LinePoint:
    label: str
    value: float | None
    x: float
    y: float | None


@dataclass(frozen=True)
class LineChart:
    points: list[LinePoint]
    segments: list[str]  # "x,y x,y ..." runs between gaps (weeks with nothing finished)
    width: int
    height: int
    top: int
    bottom: int
    left: int
    ticks: list[tuple[float, str]]  # (y, label)


def line_chart(items: Sequence[tuple[str, float | None]], *, width: int = 640, height: int = 220,
               maximum: float = 1.0, tick_labels: Sequence[str] = ("0%", "50%", "100%"),
               ) -> LineChart:
    """A line over weekly values 0..``maximum``; a week without a value breaks the line."""
    left, right, top, bottom = 48, 16, 12, height - 34
    span = max(len(items) - 1, 1)
    step = (width - left - right) / span
    points: list[LinePoint] = []
    for i, (label, value) in enumerate(items):
        y = None if value is None else bottom - (min(value, maximum) / maximum) * (bottom - top)
        points.append(LinePoint(label, value, left + i * step, y))
    segments: list[str] = []
    run: list[str] = []
    for point in points:
        if point.y is None:
            if run:
                segments.append(" ".join(run))
            run = []
        else:
            run.append(f"{point.x:.1f},{point.y:.1f}")
    if run:
        segments.append(" ".join(run))
    n = len(tick_labels)
    ticks = [(bottom - i / max(n - 1, 1) * (bottom - top), text)
             for i, text in enumerate(tick_labels)]
    return LineChart(points, segments, width, height, top, bottom, left, ticks)
