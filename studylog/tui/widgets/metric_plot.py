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
# Nice tick steps: these times a power of ten.
NICE_STEPS = (1.0, 2.0, 2.5, 5.0, 10.0)
# Rows the plot spends on things other than data: title, frame top and bottom, x tick
# labels, x label; a y tick every this many data rows at most.
PLOT_CHROME_ROWS = 5
ROWS_PER_Y_TICK = 2
# Shorter plots leave out the x label ("step": the ticks say so).
SHORT_PLOT_ROWS = 12
# Columns a step tick label takes, with its gap.
COLUMNS_PER_X_TICK = 9


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


def nice_ticks(
    low: float, high: float, count: int, *, integer: bool = False, loose: bool = False
) -> tuple[list[float], tuple[float, float]]:
    """About `count` ticks at round values (1, 2, 2.5 or 5 times a power of ten) for an
    axis from `low` to `high`, and the range to draw. `integer`: whole numbers only (steps).
    `loose`: the range grows to the ticks around it, so both ends are labelled (a loss that
    reaches 0 shows its 0); else the ticks are those within the range."""
    if high < low:
        low, high = high, low
    if high == low:  # one value: a range around it
        pad = 1.0 if integer or low == 0 else abs(low) / 10
        low, high = low - pad, high + pad
    raw = (high - low) / max(count, 1)
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in NICE_STEPS if m * magnitude >= raw * (1 - 1e-9))
    if integer:
        step = max(1.0, float(math.ceil(step)))
        if step > 2 and step % 5 and step % 2:  # 2.5 × 10^n, 3 …: the next round one
            step = float(next(m for m in (2, 5, 10, 20, 25, 50) if m >= step))
    first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
    if not loose:
        first, last = math.ceil(low / step - 1e-9), math.floor(high / step + 1e-9)
    ticks = [float(f"{i * step:.12g}") for i in range(first, last + 1)]
    shown = (min(low, ticks[0]), max(high, ticks[-1])) if loose and ticks else (low, high)
    return ticks, shown


def short_number(value: float, digits: int = 3) -> str:
    """A tick label: 0, 0.25, 12, 1.2k, 3.4M, 3e-4 (at most `digits` significant digits
    where the value allows)."""
    if value == 0:
        return "0"
    size = abs(value)
    if size < 1e-2:
        mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
        if "." in mantissa:
            mantissa = mantissa.rstrip("0").rstrip(".")
        return f"{mantissa}e{int(exponent)}"
    limit, suffix = next(
        (
            (lim, suf)
            for lim, suf in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))
            if size >= lim
        ),
        (1.0, ""),
    )
    scaled = value / limit
    text = f"{scaled:.{max(digits, len(str(int(abs(scaled)))))}g}"
    if "e" in text and suffix != "T":  # 999.9 rounds to 1e+03: the next unit's 1k
        return short_number(float(text) * limit, digits)
    return text + suffix


def tick_labels(ticks: Sequence[float]) -> list[str]:
    """Short labels for `ticks`, with as many digits as it takes to tell them apart."""
    labels = [short_number(t) for t in ticks]
    for digits in range(4, 10):
        if len(set(labels)) == len(labels):
            break
        labels = [short_number(t, digits) for t in ticks]
    return labels


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

    def __init__(self, *, id: str | None = None, hide_when_empty: bool = False) -> None:
        super().__init__(id=id)
        # No curve to draw: hidden (its rows go to its neighbours) until points arrive.
        self.hide_when_empty = hide_when_empty
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

    def on_resize(self) -> None:
        self.draw()  # the ticks and the x label follow the plot's size

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
        if self.hide_when_empty:
            self.display = any(self.curves.values())
        self.draw()

    def extend(self, new: dict[str, Points]) -> None:
        """Live points of the running run."""
        for label, points in new.items():
            self.curves.setdefault(label, []).extend(points)
            if len(self.curves[label]) > 20 * MAX_POINTS:  # keep memory flat on long runs
                self.curves[label] = thin(self.curves[label], 4 * MAX_POINTS)
        self._dirty = True
        if self.hide_when_empty and not self.display and any(self.curves.values()):
            self.display = True

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
        if self.size.height >= SHORT_PLOT_ROWS:  # a short plot's rows go to the curve
            plt.xlabel("step")
        if self.step_range is not None:
            plt.xlim(*self.step_range)
        self._set_ticks(shown, scale)
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

    def _set_ticks(self, shown: dict[str, Points], scale: float) -> None:
        """Round ticks with short labels: whole steps on x; on y, a range grown to the ticks
        around the values, so both ends have one (plotext's own land on whatever rows there
        are: fractional steps, a lost 0.0 in a short plot)."""
        xs = [p[0] for points in shown.values() for p in points]
        ys = [p[1] / scale for points in shown.values() for p in points]
        if not xs:
            return
        width, height = self.size
        x_low, x_high = self.step_range or (min(xs), max(xs))
        x_count = max(2, min(8, (width - 8) // COLUMNS_PER_X_TICK))
        x_ticks, x_range = nice_ticks(x_low, x_high, x_count, integer=True)
        y_low, y_high = min(ys), max(ys)
        if not math.isfinite(y_high - y_low):
            return  # ±1e100 at once: plotext's own ticks
        y_count = max(1, min(5, (height - PLOT_CHROME_ROWS) // ROWS_PER_Y_TICK))
        y_ticks, y_range = nice_ticks(y_low, y_high, y_count, loose=True)
        self.plt.xlim(*x_range)
        self.plt.xticks(x_ticks, tick_labels(x_ticks))
        self.plt.ylim(*y_range)
        self.plt.yticks(y_ticks, tick_labels(y_ticks))
