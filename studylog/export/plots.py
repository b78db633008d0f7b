"""Loss curves as PNG images (matplotlib, Agg: no display), one figure per metric group."""

from __future__ import annotations

import io
import math
import re
from collections.abc import Mapping, Sequence

from studylog.labels import plot_scale

# Fonts tried in order, so Korean labels draw where a Korean font is installed.
FONTS = ["DejaVu Sans", "Noto Sans CJK KR", "NanumGothic", "Malgun Gothic", "AppleGothic"]


def groups(names: Sequence[str]) -> dict[str, list[str]]:
    """Metric names by group: loss_sgd, loss_adam and loss in "loss"; accuracy alone."""
    out: dict[str, list[str]] = {}
    for name in names:
        out.setdefault(re.split(r"[/_.]", name, maxsplit=1)[0] or name, []).append(name)
    return out


def curve_png(curves: Mapping[str, Sequence[tuple[int, float]]], title: str, ylabel: str) -> bytes:
    """One figure with a line per curve and a legend; the same data gives the same bytes."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.figure import Figure

    with plt.rc_context(
        {"font.family": "sans-serif", "font.sans-serif": FONTS, "svg.hashsalt": "studylog"}
    ):
        figure = Figure(figsize=(6.4, 3.6), dpi=100)
        axes = figure.add_subplot()
        # NaN and inf are left out; huge values are drawn in units of a power of ten, since
        # matplotlib's limits and ticks overflow near 1e308.
        finite = {
            label: [(s, v) for s, v in points if v is not None and math.isfinite(v)]
            for label, points in curves.items()
        }
        scale, unit = plot_scale(v for kept in finite.values() for _, v in kept)
        for label, kept in finite.items():
            axes.plot(
                [s for s, _ in kept], [v / scale for _, v in kept], label=label, linewidth=1.5
            )
        axes.set_title(title)
        axes.set_xlabel("step")
        axes.set_ylabel(f"{ylabel} ({unit})" if unit else ylabel)
        axes.grid(True, alpha=0.3)
        if len(curves) > 1:
            axes.legend()
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def comparison_pngs(
    curves: Mapping[str, Sequence[tuple[int, float]]], run_ids: Sequence[int]
) -> dict[str, bytes]:
    """The compare screen's figures: curves labelled `#3 sgd · loss`, one figure per metric
    group (as an export draws a run), by file name `compare-3-5-loss.png`."""
    ids = "-".join(str(i) for i in run_ids)
    by_metric: dict[str, list[str]] = {}
    for label in curves:
        by_metric.setdefault(label.rsplit(" · ", 1)[-1], []).append(label)
    out: dict[str, bytes] = {}
    for group, names in groups(list(by_metric)).items():
        labels = [label for name in names for label in by_metric[name]]
        title = f"runs {ids.replace('-', ', ')}: {group}"
        figure = curve_png({lb: curves[lb] for lb in labels}, title, group)
        out[f"compare-{ids}-{group}.png"] = figure
    return out
