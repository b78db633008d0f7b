"""How runs read as plain text, the same everywhere: status marks, durations, numbers,
times. The CLI and the TUI add colour (the style names here); exports use the text."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping

# How often a running run's streamed output is drawn, at most (the CLI's status line and the
# TUI's run log alike); a flood is drawn in chunks, a line after a quiet spell at once.
DRAW_SECONDS = 0.05

# Group and field names for notes without a topic or a date (trees, exports, daily views).
NO_TOPIC = "No topic"
UNDATED = "Undated"

# The statuses of DESIGN.md, and the two a snippet can have besides (never run, stale).
MARKS = {
    "succeeded": "✔",
    "failed": "✘",
    "timed_out": "⏱",
    "cancelled": "■",
    "out_of_memory": "✘",
    "crashed": "✘",
    "interrupted": "✘",
    "running": "…",
    "stale": "≠",
    "never run": "·",
}
STYLES = {  # Rich style names
    "succeeded": "green",
    "failed": "red",
    "timed_out": "yellow",
    "cancelled": "yellow",
    "out_of_memory": "red",
    "crashed": "red",
    "interrupted": "magenta",
    "running": "cyan",
    "stale": "yellow",
    "never run": "dim",
}


def plural(count: int, noun: str) -> str:
    """`noun` in the number `count` asks for: `file` for 1, `files` otherwise (nouns that
    take an s: every count this app shows). The caller writes the number its own way:
    f"{n:,} {plural(n, 'point')}"."""
    return noun if count == 1 else f"{noun}s"


def status_text(status: str) -> str:
    """`succeeded`, `timed out`, `never run`: a status in words."""
    return status.replace("_", " ")


def status_label(status: str) -> str:
    """`✔ succeeded`, `⏱ timed out`, `· never run`."""
    return f"{MARKS.get(status, '✘')} {status_text(status)}"


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes} min {secs:02d} s"


def number_text(value: float | None) -> str:
    if value is None:
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.4g}"


def metrics_text(metrics: Mapping[str, float | None], limit: int | None = None) -> str:
    """Final values as one line, `loss 0.1234  acc 0.9`: the first `limit` (None: all)."""
    shown = list(metrics.items())[:limit]
    return "  ".join(f"{name} {number_text(value)}" for name, value in shown)


# Plotting libraries take differences of values for ranges, margins and ticks, which overflow
# to inf or NaN past about 1e308: curves beyond this are drawn in units of a power of ten.
PLOT_SAFE = 1e100


def plot_scale(values: Iterable[float | None]) -> tuple[float, str]:
    """What to divide the finite `values` by before drawing them, and the note for the axis
    that says so: `(1.0, "")` for ordinary values, `(1e308, "×1e308")` for huge ones."""
    largest = max((abs(v) for v in values if v is not None and math.isfinite(v)), default=0.0)
    if largest <= PLOT_SAFE:
        return 1.0, ""
    exponent = math.floor(math.log10(largest))
    return 10.0**exponent, f"×1e{exponent}"


def fraction(value: float, low: float, high: float) -> float:
    """Where `value` lies between `low` and `high`, 0 to 1, without the overflow of
    `high - low` when they are ±1e308 (finite values; 0 when low == high)."""
    if high <= low:
        return 0.0
    if max(abs(low), abs(high)) > PLOT_SAFE:  # halved, no difference of finite floats overflows
        value, low, high = value / 2, low / 2, high / 2
    return min(1.0, max(0.0, (value - low) / (high - low)))


def started_text(started: str, *, short: bool = False) -> str:
    """2026-11-26T09:04:55.951+09:00 → `2026-11-26 09:04`; short: `11-26 09:04` this year,
    the date alone in another."""
    if not short:
        return started[:16].replace("T", " ")
    if started[:4] != str(dt.date.today().year):
        return started[:10]
    return started[5:16].replace("T", " ")
