"""A note's snippets as runnable things: their code now, and where each stands against its
latest run (never run, its status, or stale when the code changed since)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from studylog.store.history import RunSummary, latest_runs
from studylog.store.runs import code_hash

if TYPE_CHECKING:
    import sqlite_utils

    from studylog.notes.model import Snippet
    from studylog.paths import Workspace
    from studylog.store.queries import NoteDetail


class RunError(Exception):
    """A run could not start (its file is missing, the store refused it): the message says
    which file and why."""


def snippet_code(workspace: Workspace, snippet: Snippet) -> str:
    """The code a snippet runs now: the fence's text, or the linked file's."""
    if snippet.code is not None:
        return snippet.code
    assert snippet.path is not None
    path = workspace.root / snippet.path
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RunError(f"{snippet.path}: the snippet's file does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RunError(f"{snippet.path}: cannot read the snippet's file ({exc})") from exc


def fence_timeout(snippet: Snippet) -> tuple[float | None, str | None]:
    """The snippet's own `timeout=` in seconds (None when it has none), and a warning when
    that value is not a positive number (then it is ignored)."""
    raw = snippet.attrs.get("timeout")
    if raw is None:
        return None, None
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    if math.isfinite(seconds) and seconds > 0:
        return seconds, None
    return None, (
        f"snippet {snippet.name}: timeout={raw} is not a positive number of seconds; "
        "the timeout of studylog.toml applies"
    )


_TRUE = ("true", "yes", "1", "on")
_FALSE = ("false", "no", "0", "off")


def fence_system_metrics(snippet: Snippet) -> tuple[bool | None, str | None]:
    """The snippet's own `system_metrics=` (None when it has none), and a warning when that
    value is not true or false (then it is ignored)."""
    raw = snippet.attrs.get("system_metrics")
    if raw is None:
        return None, None
    if raw.lower() in _TRUE:
        return True, None
    if raw.lower() in _FALSE:
        return False, None
    return None, (
        f"snippet {snippet.name}: system_metrics={raw} is neither true nor false; "
        "the system_metrics of studylog.toml applies"
    )


@dataclass
class SnippetState:
    snippet: Snippet
    latest: RunSummary | None  # its latest run, if any
    stale: bool  # its code changed since the latest run
    problem: str | None = None  # its code cannot be read (a missing file)

    @property
    def badge(self) -> str:
        """never run | running | stale | the latest run's status"""
        if self.latest is None:
            return "never run"
        if self.latest.status == "running":
            return "running"
        return "stale" if self.stale else self.latest.status

    def to_json(self) -> dict[str, object]:
        return {
            "status": self.badge,
            "stale": self.stale,
            "latest_run": self.latest.id if self.latest else None,
            "problem": self.problem,
        }


def snippet_states(
    db: sqlite_utils.Database, workspace: Workspace, note: NoteDetail
) -> list[SnippetState]:
    """Each snippet of `note` with its latest run and whether that run is stale."""
    latest = latest_runs(db, note.summary.id)
    states = []
    for snippet in note.snippets:
        run = latest.get(snippet.name)
        problem = None
        try:
            current = code_hash(snippet_code(workspace, snippet))
        except RunError as exc:
            current, problem = None, str(exc)
        stale = run is not None and current is not None and run.code_hash != current
        states.append(SnippetState(snippet, run, stale, problem))
    return states
