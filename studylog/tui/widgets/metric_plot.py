"""Curves of one or more runs in one plot, with a legend (textual-plotext). Live points are
appended as they arrive and the plot is redrawn at most a few times a second."""

from __future__ import annotations

import math
from collections.abc import Sequence

from textual_plotext import PlotextPlot

from studylog.labels import plot_scale
from studylog.safe_text import visible

# Redraw a live plot at most this often.
REDRAW_SECONDS = 0.25
# Points per curve drawn; longer curves are thinned to their min and max per bucket.
MAX_POINTS = 400


def thin(points: Sequence[tuple[int, float]], limit: int = MAX_POINTS) -> list[tuple[int, float]]:
    """Keep the lowest and highest point of each of `limit` buckets, in order, so a curve of
    any length draws quickly and its spikes survive. NaN and inf are left out."""
    finite = [(s, v) for s, v in points if v is not None and math.isfinite(v)]
    if len(finite) <= 2 * limit:
        return finite
    size = math.ceil(len(finite) / limit)
    out: list[tuple[int, float]] = []
    for start in range(0, len(finite), size):
        bucket = finite[start : start + size]
        low = min(range(len(bucket)), key=lambda i: bucket[i][1])
        high = max(range(len(bucket)), key=lambda i: bucket[i][1])
        out.extend(bucket[i] for i in sorted({low, high}))
    return out


class MetricPlot(PlotextPlot):
    """`curves` maps a label (a metric, or run · metric) to its points."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.curves: dict[str, list[tuple[int, float]]] = {}
        self.title = ""
        self._dirty = False

    def on_mount(self) -> None:
        self.set_interval(REDRAW_SECONDS, self._redraw_if_dirty)
        self.draw()

    def show(self, curves: dict[str, list[tuple[int, float]]], title: str = "") -> None:
        self.curves = {label: list(points) for label, points in curves.items()}
        self.title = title
        self.draw()

    def extend(self, new: dict[str, list[tuple[int, float]]]) -> None:
        """Live points of the running run."""
        for label, points in new.items():
            self.curves.setdefault(label, []).extend(points)
            if len(self.curves[label]) > 20 * MAX_POINTS:  # keep memory flat on long runs
                self.curves[label] = thin(self.curves[label], 4 * MAX_POINTS)
        self._dirty = True

    def _redraw_if_dirty(self) -> None:
        if self._dirty:
            self._dirty = False
            self.draw()

    def draw(self) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        shown = {label: thin(points) for label, points in self.curves.items()}
        # plotext's ranges overflow near 1e308: huge values are drawn in units of 10^n.
        scale, unit = plot_scale(v for points in shown.values() for _, v in points)
        # Titles and labels name metrics and snippets: their control characters are shown.
        title = visible(self.title or ("no metrics yet" if not self.curves else ""))
        plt.title(f"{title} ({unit})" if unit else title)
        plt.xlabel("step")
        for label, points in shown.items():
            if points:
                plt.plot(
                    [p[0] for p in points],
                    [p[1] / scale for p in points],
                    label=visible(label),
                    marker="braille",
                )
        self.refresh()
