"""What a run tells its caller as it goes (the CLI prints them, the TUI posts them as messages)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from studylog.protocol import Columns
from studylog.store.runs import RunEnd


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
    """New points of a running run, as they arrived (a batch may hold many thousands)."""

    run_id: int
    names: dict[int, str]  # the run's metric keys
    batches: list[Columns]

    @property
    def count(self) -> int:
        return sum(len(b) for b in self.batches)

    def latest(self) -> dict[str, tuple[int, float]]:
        """The last (step, value) of each metric in these points."""
        last: dict[str, tuple[int, float]] = {}
        for batch in self.batches:
            for i in range(len(batch) - 1, -1, -1):
                name = self.names.get(batch.key[i], f"#{batch.key[i]}")
                if name not in last:
                    last[name] = (batch.step[i], batch.value[i])
                if len(last) == len(self.names):
                    break
        return last

    def by_name(self) -> dict[str, list[tuple[int, float]]]:
        """Every point, by metric name: [(step, value), ...] in order."""
        out: dict[str, list[tuple[int, float]]] = {}
        for batch in self.batches:
            for key, step, value in zip(batch.key, batch.step, batch.value, strict=True):
                out.setdefault(self.names.get(key, f"#{key}"), []).append((step, value))
        return out


@dataclass(kw_only=True)
class RunFinished(RunEnd):
    """How a run ended (a RunEnd), once it is recorded: which run, of which snippet of
    which note."""

    run_id: int
    note_path: str
    snippet: str
    warnings: list[str]
    # Metric channel messages, points, params and metric names that did not reach the store
    # (the warnings say which and why): `studylog run` then exits non-zero.
    lost: int = 0


RunEvent = RunStarted | OutputLine | MetricPoints | RunFinished
EventCallback = Callable[[RunEvent], None]
