"""What every command shares: options, the session (workspace, settings, store), indexing,
JSON and console output."""

from __future__ import annotations

import json
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


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print only JSON on stdout.")(func)


def console(stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def fail(message: str) -> click.ClickException:
    from studylog.safe_text import visible  # a message may name a hostile note or snippet

    return click.ClickException(visible(message))


@dataclass
class Session:
    """What a command works on: the workspace, its settings and the open store."""

    workspace: Workspace
    settings: Settings
    db: sqlite_utils.Database


@contextmanager
def session(workspace_arg: Path | None) -> Iterator[Session]:
    from studylog.paths import WorkspaceError, find_workspace
    from studylog.settings import SettingsError, load_settings
    from studylog.store.db import StoreError, open_store

    try:
        workspace = find_workspace(workspace_arg)
        settings = load_settings(workspace.settings_file)
        db = open_store(workspace.db_path)
    except (WorkspaceError, SettingsError, StoreError) as exc:
        raise fail(str(exc)) from exc
    try:
        yield Session(workspace, settings, db)
    finally:
        db.close()


def index_notes_now(s: Session, *, full: bool = False) -> IndexReport:
    """Bring the index up to date, with a progress bar on a terminal when there is much to read."""
    import sqlite3

    from studylog.store.index import index_notes

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
        report = index_notes(s.db, s.workspace, s.settings, full=full, progress=progress)
    except sqlite3.OperationalError as exc:
        raise fail(f"{s.workspace.db_path}: cannot update the note index ({exc})") from exc
    finally:
        if bar:
            bar["p"].stop()
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
