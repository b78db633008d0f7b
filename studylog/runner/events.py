"""What a run tells its caller as it goes (the CLI prints them, the TUI posts them as messages)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class RunStarted:
    run_id: int
    note_path: str
    snippet: str


@dataclass(frozen=True)
class OutputLine:
    run_id: int
    stream: str
    line: str


@dataclass(frozen=True)
class MetricPoints:
    """New points of a running run, by metric name: [(step, value), ...] in order."""

    run_id: int
    points: dict[str, list[tuple[int, float]]]


@dataclass(frozen=True)
class RunFinished:
    run_id: int
    status: str
    duration: float
    exit_code: int | None
    signal: str | None
    last_error: str | None
    warnings: list[str]


RunEvent = RunStarted | OutputLine | MetricPoints | RunFinished
EventCallback = Callable[[RunEvent], None]
