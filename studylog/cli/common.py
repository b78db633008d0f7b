"""What every command shares: options, the session (workspace, settings, store), indexing,
JSON and console output."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    import sqlite_utils
    from rich.console import Console

    from studylog.paths import Workspace
    from studylog.settings import Settings
    from studylog.store.index import IndexReport
    from studylog.store.queries import NoteDetail
    from studylog.store.runs import Interrupted

F = TypeVar("F", bound=Callable[..., Any])

# Show a progress bar when indexing reads at least this many files.
PROGRESS_THRESHOLD = 200


def workspace_option(func: F) -> F:
    return click.option(
        "--workspace",
        "-w",
        "workspace",
        type=click.Path(file_okay=False, path_type=Path),
        envvar="STUDYLOG_WORKSPACE",
        help="The workspace folder (default: the nearest folder up with notes/ or studylog.toml).",
    )(func)


class PositiveSeconds(click.ParamType):
    """A number of seconds above zero (FloatRange lets NaN through: every comparison is false)."""

    name = "seconds"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        import math

        try:
            seconds = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        if not math.isfinite(seconds) or seconds <= 0:
            self.fail(f"{value!r} is not a positive number of seconds", param, ctx)
        return seconds


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print only JSON on stdout.")(func)


def console(stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


# Piped listings are as wide as their rows: a script reading `studylog runs | grep …` gets
# whole names and metrics, not the 80 columns Rich assumes without a terminal.
PIPED_WIDTH = 10_000


def listing_console() -> Console:
    """The console for listings (tables, trees): at a terminal, the terminal's width;
    piped or redirected, no width limit, so that no row is cut or wrapped (`COLUMNS`, when
    set, still wins)."""
    out = console()
    if not out.is_terminal and not os.environ.get("COLUMNS"):
        out.width = PIPED_WIDTH
    return out


def piped(out: Console) -> bool:
    """Whether `out` is a listing console without a width limit (tables drop their caps)."""
    return out.width >= PIPED_WIDTH


def fail(message: str) -> click.ClickException:
    from studylog.safe_text import visible  # a message may name a hostile note or snippet

    return click.ClickException(visible(message))


@dataclass
class Session:
    """What a command works on: the workspace, its settings and the open store."""

    workspace: Workspace
    settings: Settings
    db: sqlite_utils.Database
    # Why the store cannot be written (a read-only workspace), for a command that only reads.
    read_only: str | None = None


@contextmanager
def session(workspace_arg: Path | None, *, writes: bool = False) -> Iterator[Session]:
    """The workspace, settings and store for one command. A command that only reads works on
    a read-only workspace (`writes=False`); one that `writes` fails up front there. A store
    that fails midway (damaged, disk full, locked too long) ends the command with a message
    that names the file, never a traceback."""
    import sqlite3

    from studylog.paths import WorkspaceError, find_workspace
    from studylog.procctl import end_leftovers
    from studylog.settings import SettingsError, load_settings
    from studylog.store.db import (
        StoreError,
        describe_store_error,
        open_store,
        open_store_for_reading,
    )

    def end_interrupted(interrupted: Interrupted) -> None:
        end_leftovers(interrupted.owner_tags)  # a studylog that died: what its runs left

    try:
        workspace = find_workspace(workspace_arg)
        settings = load_settings(workspace.settings_file)
        if writes:
            db = open_store(workspace.db_path, on_interrupted=end_interrupted)
            read_only = None
        else:
            db, read_only = open_store_for_reading(
                workspace.db_path, on_interrupted=end_interrupted
            )
    except (WorkspaceError, SettingsError, StoreError) as exc:
        raise fail(str(exc)) from exc
    try:
        yield Session(workspace, settings, db, read_only)
    except sqlite3.DatabaseError as exc:
        raise fail(describe_store_error(workspace.db_path, exc)) from exc
    finally:
        db.close()


def note_detail(s: Session, note: str) -> NoteDetail:
    """The note NOTE names (a path, a title, ...), indexed first; a clear failure when none."""
    from studylog.store.queries import NoteNotFound, get_note, resolve_note

    index_notes_now(s)
    try:
        return get_note(s.db, resolve_note(s.db, note, s.workspace), s.workspace)
    except NoteNotFound as exc:
        raise fail(str(exc)) from exc


def index_notes_now(s: Session, *, full: bool = False) -> IndexReport:
    """Bring the index up to date, with a progress bar on a terminal when there is much to
    read. On a read-only store, say on stderr that the index could not be refreshed."""
    from studylog.store.index import IndexReport, index_notes
    from studylog.store.locks import retry_locked

    if s.read_only is not None and s.db.conn.execute("PRAGMA query_only").fetchone()[0]:
        from rich.text import Text

        console(stderr=True).print(Text(f"⚠ {s.read_only}", style="yellow"), soft_wrap=True)
        return IndexReport()

    bar: dict[str, Any] = {}

    def progress(done: int, total: int) -> None:
        if total < PROGRESS_THRESHOLD or not sys.stderr.isatty():
            return
        if not bar:
            from rich.progress import Progress

            bar["p"] = Progress(console=console(stderr=True), transient=True)
            bar["p"].start()
            bar["task"] = bar["p"].add_task("Indexing notes", total=total)
        bar["p"].update(bar["task"], completed=done)

    try:
        # Indexing again after a lock is safe: it picks up where the last batch committed.
        report = retry_locked(
            lambda: index_notes(s.db, s.workspace, s.settings, full=full, progress=progress)
        )
    finally:
        if bar:
            bar["p"].stop()
    if s.read_only is not None:  # indexed into memory: say that nothing is kept
        from rich.text import Text

        console(stderr=True).print(Text(f"⚠ {s.read_only}", style="yellow"), soft_wrap=True)
    return report


def print_json(data: object) -> None:
    # Indented for a person at a terminal, compact for a pipe (10,000 notes print 3× faster).
    indent = 2 if sys.stdout.isatty() else None
    click.echo(json.dumps(data, ensure_ascii=False, indent=indent))


def folder_warnings(report: IndexReport) -> None:
    """Problems that are not a note (a folder link loop, an unreadable folder) go to stderr;
    notes' own warnings show with the note."""
    folders = [w for w in report.warnings if not w.split(": ", 1)[0].lower().endswith(".md")]
    if not folders:
        return
    from rich.text import Text

    from studylog.safe_text import visible

    err = console(stderr=True)
    for warning in folders:
        err.print(Text(visible(f"⚠ {warning}"), style="yellow"))


def ws_of(ctx: click.Context, workspace: Path | None) -> Path | None:
    """--workspace given to the subcommand, else to the group."""
    return workspace if workspace is not None else ctx.obj
