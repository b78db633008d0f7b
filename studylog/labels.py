"""How runs read as plain text, the same everywhere: status marks, durations, numbers,
times. The CLI and the TUI add colour (the style names here); exports use the text."""

from __future__ import annotations

import datetime as dt
import math

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


def status_label(status: str) -> str:
    """`✔ succeeded`, `⏱ timed out`, `· never run`."""
    return f"{MARKS.get(status, '✘')} {status.replace('_', ' ')}"


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


def started_text(started: str, *, short: bool = False) -> str:
    """2026-11-26T09:04:55.951+09:00 → `2026-11-26 09:04`; short: `11-26 09:04` this year,
    the date alone in another."""
    if not short:
        return started[:16].replace("T", " ")
    if started[:4] != str(dt.date.today().year):
        return started[:10]
    return started[5:16].replace("T", " ")
