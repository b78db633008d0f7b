"""Curves of one or more runs in one plot, with a legend (textual-plotext). Live points are
appended as they arrive and the plot is redrawn at most a few times a second. On the focused
plot, `+` `-` zoom into and out of a range of steps around its middle, `[` `]` move it and
`0` shows every step again; a curve read from the store is read again for that range, from
the finest of its stored levels (in a worker: no SQL on the UI's loop). Teammates' runs
(remote) are drawn apart from your own: your curves as fine braille lines in the theme's
colours, theirs as lines of "•" in the magenta family with "(remote)" in the legend."""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

from textual import work
from textual.binding import Binding
from textual_plotext import PlotextPlot

from studylog.labels import plot_scale
from studylog.safe_text import visible

# Redraw a live plot at most this often.
REDRAW_SECONDS = 0.25
# Points per curve drawn; longer curves are thinned to their min and max per bucket.
MAX_POINTS = 400
# Your runs: fine braille lines in the theme's colour sequence (blue, green, red, yellow, …).
OWN_MARKER = "braille"
# Teammates' runs: lines of whole "•" cells, plainly coarser than braille, in the magenta
# family (not among the theme's first colours), and "(remote)" after the name in the legend.
REMOTE_MARKER = "•"
REMOTE_COLORS = ((255, 0, 255), (255, 150, 230), (190, 120, 255))

Points = list[tuple[int, float]]


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
    """`curves` maps a label (a metric, or run · metric) to its points. `sources` names the
    stored series (run id, metric name) of the labels read from the store at `store`: those
    are read again when the plot zooms. Labels in `remote` are teammates' runs."""

    can_focus = True

    BINDINGS = [
        Binding("plus,equals_sign", "zoom(0.5)", "Zoom in"),
        Binding("minus", "zoom(2)", "Zoom out"),
        Binding("left_square_bracket", "pan(-1)", "Earlier", show=False),
        Binding("right_square_bracket", "pan(1)", "Later", show=False),
        Binding("0", "reset_zoom", "All steps", show=False),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.curves: dict[str, Points] = {}
        self.title = ""
        self.sources: dict[str, tuple[int, str]] = {}
        self.store: Path | None = None
        self.remote: frozenset[str] = frozenset()
        self.step_range: tuple[int, int] | None = None  # the steps shown; None: all
        self.detail: dict[str, Points] = {}  # the stored curves re-read for `detail_range`
        self.detail_range: tuple[int, int] | None = None
        # What the last draw showed, by label: (legend text, marker, colour; None: the
        # theme's next colour).
        self.drawn: dict[str, tuple[str, str, tuple[int, int, int] | None]] = {}
        self._dirty = False

    def on_mount(self) -> None:
        self.set_interval(REDRAW_SECONDS, self._redraw_if_dirty)
        self.draw()

    def show(
        self,
        curves: dict[str, Points],
        title: str = "",
        *,
        sources: Mapping[str, tuple[int, str]] | None = None,
        store: Path | None = None,
        remote: Collection[str] = (),
    ) -> None:
        """Other curves: the zoom starts again from every step."""
        self.curves = {label: list(points) for label, points in curves.items()}
        self.title = title
        self.sources = dict(sources or {})
        self.store = store
        self.remote = frozenset(remote)
        self.step_range, self.detail, self.detail_range = None, {}, None
        self.draw()

    def extend(self, new: dict[str, Points]) -> None:
        """Live points of the running run."""
        for label, points in new.items():
            self.curves.setdefault(label, []).extend(points)
            if len(self.curves[label]) > 20 * MAX_POINTS:  # keep memory flat on long runs
                self.curves[label] = thin(self.curves[label], 4 * MAX_POINTS)
        self._dirty = True

    # -- zoom -------------------------------------------------------------------------------

    def extent(self) -> tuple[int, int] | None:
        """The first and last step of all curves."""
        steps = [p[0] for points in self.curves.values() for p in (points[:1] + points[-1:])]
        return (min(steps), max(steps)) if steps else None

    def action_zoom(self, factor: float) -> None:
        """Show `factor` times the steps shown now, around the same middle."""
        whole = self.extent()
        if whole is None:
            return
        first, last = self.step_range or whole
        middle, half = (first + last) / 2, (last - first) * factor / 2
        if factor < 1 and last - first < 4:
            return  # a handful of steps: nothing finer to show
        wanted = (math.floor(middle - half), math.ceil(middle + half))
        self._go_to(wanted, whole)

    def action_pan(self, direction: int) -> None:
        """Move the range shown by half its width, earlier (-1) or later (1)."""
        whole = self.extent()
        if whole is None or self.step_range is None:
            return
        first, last = self.step_range
        shift = max(1, (last - first) // 2) * direction
        shift = max(whole[0] - first, min(whole[1] - last, shift))
        self._go_to((first + shift, last + shift), whole)

    def action_reset_zoom(self) -> None:
        if self.step_range is not None:
            self._go_to(None, None)

    def _go_to(self, wanted: tuple[int, int] | None, whole: tuple[int, int] | None) -> None:
        if wanted is not None and whole is not None:
            wanted = (max(wanted[0], whole[0]), min(wanted[1], whole[1]))
            if wanted == whole:
                wanted = None
        if wanted == self.step_range:
            return
        self.step_range = wanted
        self.draw()
        if wanted is not None and self.sources and self.store is not None:
            self._read_range(self.store, dict(self.sources), wanted)

    @work(thread=True, exclusive=True, group="zoom", exit_on_error=False)
    def _read_range(
        self, store: Path, sources: dict[str, tuple[int, str]], steps: tuple[int, int]
    ) -> None:
        """The stored curves again for `steps`, from the finest level that fits the plot."""
        from studylog.store.db import connect
        from studylog.store.history import series

        try:
            db = connect(store)
            try:
                detail = {
                    label: series(db, run_id, name, MAX_POINTS, step_range=steps)
                    for label, (run_id, name) in sources.items()
                }
            finally:
                db.close()
        except (sqlite3.Error, OSError) as exc:
            self.app.call_from_thread(
                self.notify, visible(f"{store}: {exc}"), title="Zoom", severity="warning"
            )
            return
        self.app.call_from_thread(self._show_detail, steps, detail)

    def _show_detail(self, steps: tuple[int, int], detail: dict[str, Points]) -> None:
        if steps != self.step_range:
            return  # the zoom moved on while this was read
        self.detail, self.detail_range = detail, steps
        self.draw()

    # -- drawing ----------------------------------------------------------------------------

    def _redraw_if_dirty(self) -> None:
        if self._dirty:
            self._dirty = False
            self.draw()

    def _shown(self) -> dict[str, Points]:
        """Each curve's points in the range shown, thinned to what the plot can show."""
        if self.step_range is None:
            return {label: thin(points) for label, points in self.curves.items()}
        first, last = self.step_range
        shown = {}
        for label, points in self.curves.items():
            if self.detail_range == self.step_range and label in self.detail:
                points = self.detail[label]
            shown[label] = thin([p for p in points if first <= p[0] <= last])
        return shown

    def draw(self) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        shown = self._shown()
        # plotext's ranges overflow near 1e308: huge values are drawn in units of 10^n.
        scale, unit = plot_scale(v for points in shown.values() for _, v in points)
        # Titles and labels name metrics and snippets: their control characters are shown.
        title = visible(self.title or ("no metrics yet" if not self.curves else ""))
        if self.step_range is not None:
            title += f" · steps {self.step_range[0]:,}–{self.step_range[1]:,}"
        plt.title(f"{title} ({unit})" if unit else title)
        plt.xlabel("step")
        if self.step_range is not None:
            plt.xlim(*self.step_range)
        self.drawn = {}
        remote = 0
        for label, points in shown.items():
            style: tuple[str, str, tuple[int, int, int] | None]
            if label in self.remote:
                color = REMOTE_COLORS[remote % len(REMOTE_COLORS)]
                style = (f"{visible(label)} (remote)", REMOTE_MARKER, color)
                remote += 1
            else:
                style = (visible(label), OWN_MARKER, None)
            self.drawn[label] = style
            if points:
                plt.plot(
                    [p[0] for p in points],
                    [p[1] / scale for p in points],
                    label=style[0],
                    marker=style[1],
                    color=style[2],  # None: the theme's sequence, as before
                )
        self.refresh()
