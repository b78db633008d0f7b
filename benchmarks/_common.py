"""Helpers shared by the benchmark scripts: timing, the corpus workspace, report lines."""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from corpus import DEFAULT_OUT, ensure


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def median_time(
    fn: Callable[[], object], repeat: int = 5, setup: Callable[[], object] | None = None
) -> float:
    times = []
    for _ in range(repeat):
        if setup is not None:
            setup()
        times.append(timed(fn))
    return statistics.median(times)


def corpus_workspace(count: int = 10_000) -> Path:
    """The benchmark corpus as a workspace root (generated on first use)."""
    return ensure(DEFAULT_OUT, count)


def median_p90_ms(values: list[float]) -> str:
    """`12 / 23 ms`: the median and the 90th percentile of times in seconds."""
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return f"{statistics.median(values) * 1000:.0f} / {p90 * 1000:.0f} ms"


def report(name: str, value: str, baseline: str, verdict: str) -> None:
    print(f"{name:<34} {value:>14}   baseline {baseline:>12}   {verdict}")
