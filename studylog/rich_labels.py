"""labels.py as Rich text, one look for the CLI and the TUI: a run's status badge, its
final metrics in a cell, and the status line of a run going now."""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text

from studylog.labels import (
    STYLES,
    duration_text,
    metrics_text,
    number_text,
    plural,
    status_label,
)
from studylog.safe_text import visible

# Final values shown in a table cell; a run may log thousands of metrics.
CELL_METRICS = 6


def badge(status: str) -> Text:
    """`✔ succeeded` in green, `⏱ timed out` in yellow: a status as its mark, words, colour."""
    return Text(status_label(status), style=STYLES.get(status, ""))


def metrics_cell(metrics: Mapping[str, float | None], limit: int | None = CELL_METRICS) -> Text:
    """Final values as a cell, `loss 0.1234  acc 0.9`: text, never markup, names' control
    characters shown; past `limit` metrics (None: no limit) a dim `+N more`."""
    text = Text(visible(metrics_text(metrics, limit)))
    if limit is not None and len(metrics) > limit:
        text.append(f"  +{len(metrics) - limit:,} more", style="dim")
    return text


def live_status(
    snippet: str,
    elapsed: float,
    latest: Mapping[str, tuple[int, float]],
    *,
    metrics: int = 4,
    points: int = 0,
    queued: int = 0,
    hint: str = "  Ctrl-C cancels",
) -> Text:
    """The line under a run going now: `▶ train  12.3 s · 2 queued  loss 0.25 @40 …`, how
    many runs wait (when `queued`), the latest value of its first `metrics` metrics, how many
    points came (when `points`), then `hint`."""
    text = Text.assemble(("▶ ", "cyan"), (visible(snippet), "bold"), f"  {duration_text(elapsed)}")
    if queued:
        text.append(f" · {queued} queued", style="cyan")
    for name, (step, value) in list(latest.items())[:metrics]:
        text.append(f"  {visible(name)} ", style="dim")
        text.append(number_text(value))
        text.append(f" @{step}", style="dim")
    if points:
        text.append(f"  ({points} {plural(points, 'point')})", style="dim")
    text.append(hint, style="dim")
    return text
