"""The messages a run session's events become in the run area (posted from the session's
callback, handled by `RunArea` as `on_run_area_…`): one each, so the area draws what it is
told, on its own turn of the loop. Output and points wait in the area's buffer and one
message stands for them all (they replace each other while queued)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from studylog.runner.events import RunFinished
    from studylog.runner.session import Queue, SnippetHistory


class Starting(Message, namespace="run_area"):
    def __init__(self, snippet: str, note_path: str) -> None:
        super().__init__()
        self.snippet, self.note_path = snippet, note_path


class Started(Message, namespace="run_area"):
    def __init__(self, run_id: int, snippet: str) -> None:
        super().__init__()
        self.run_id, self.snippet = run_id, snippet


class OutputArrived(Message, namespace="run_area"):
    """New lines wait in the area's buffer (one such message stands for them all)."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, OutputArrived)


class PointsArrived(Message, namespace="run_area"):
    """New metric points wait in the area's buffer."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, PointsArrived)


class QueueChanged(Message, namespace="run_area"):
    """Snippets joined or left the queue (the session's `queue` is what waits now)."""


class Ended(Message, namespace="run_area"):
    def __init__(self, finished: RunFinished) -> None:
        super().__init__()
        self.finished = finished


class Refused(Message, namespace="run_area"):
    def __init__(self, snippet: str, message: str) -> None:
        super().__init__()
        self.snippet, self.message = snippet, message


class BatchOver(Message, namespace="run_area"):
    def __init__(self, finished: list[RunFinished], dropped: Queue) -> None:
        super().__init__()
        self.finished, self.dropped = finished, dropped


class Loaded(Message, namespace="run_area"):
    """A note's snippet states and one snippet's history, read in the session's
    thread (`snippets`: redraw the snippet rows too)."""

    def __init__(
        self,
        note_id: int | None,
        snippet: str | None,
        history: SnippetHistory | None,
        final: bool,
        snippets: bool = True,
        chosen: bool = False,
    ) -> None:
        super().__init__()
        self.note_id, self.snippet, self.history = note_id, snippet, history
        self.final, self.snippets, self.chosen = final, snippets, chosen
