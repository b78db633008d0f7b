"""The command line: a click group whose commands are a few lines over notes, store and views."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from studylog import __version__

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


def _console(stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def _fail(message: str) -> click.ClickException:
    return click.ClickException(message)


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
        raise _fail(str(exc)) from exc
    try:
        yield Session(workspace, settings, db)
    finally:
        db.close()


def _index(s: Session, *, full: bool = False) -> IndexReport:
    """Bring the index up to date, with a progress bar on a terminal when there is much to read."""
    import sqlite3

    from studylog.store.index import index_notes

    bar: dict[str, Any] = {}

    def progress(done: int, total: int) -> None:
        if total < PROGRESS_THRESHOLD or not sys.stderr.isatty():
            return
        if not bar:
            from rich.progress import Progress

            bar["p"] = Progress(console=_console(stderr=True), transient=True)
            bar["p"].start()
            bar["task"] = bar["p"].add_task("Indexing notes", total=total)
        bar["p"].update(bar["task"], completed=done)

    try:
        report = index_notes(s.db, s.workspace, s.settings, full=full, progress=progress)
    except sqlite3.OperationalError as exc:
        raise _fail(f"{s.workspace.db_path}: cannot update the note index ({exc})") from exc
    finally:
        if bar:
            bar["p"].stop()
    return report


def _print_json(data: object) -> None:
    # Indented for a person at a terminal, compact for a pipe (10,000 notes print 3× faster).
    indent = 2 if sys.stdout.isatty() else None
    click.echo(json.dumps(data, ensure_ascii=False, indent=indent))


def _folder_warnings(report: IndexReport) -> None:
    """Problems that are not a note (a folder link loop, an unreadable folder) go to stderr;
    notes' own warnings show with the note."""
    folders = [w for w in report.warnings if not w.split(": ", 1)[0].lower().endswith(".md")]
    if not folders:
        return
    from rich.text import Text

    err = _console(stderr=True)
    for warning in folders:
        err.print(Text(f"⚠ {warning}", style="yellow"))


class _Group(click.Group):
    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_paragraph()
        formatter.write_text("Example: studylog list --by date")


@click.group(cls=_Group, invoke_without_command=True)
@workspace_option
@click.version_option(__version__, prog_name="studylog")
@click.pass_context
def cli(ctx: click.Context, workspace: Path | None) -> None:
    """studylog: browse, search and run your deep-learning study notes.

    With no command, shows your notes by topic (the TUI arrives in a later release).
    """
    ctx.obj = workspace
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_cmd, workspace=workspace, by="topic", as_json=False)
        _console().print("\n[dim]studylog show NOTE · studylog search QUERY · studylog --help[/]")


def _ws(ctx: click.Context, workspace: Path | None) -> Path | None:
    """--workspace given to the subcommand, else to the group."""
    return workspace if workspace is not None else ctx.obj


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=".")
def init(directory: Path) -> None:
    """Make a new workspace in DIRECTORY with the sample course's notes and experiments.

    Example: studylog init ~/my-studies
    """
    from studylog.paths import EXPERIMENTS_DIR, NOTES_DIR, SETTINGS_FILE, STATE_DIR, sample_course

    target = directory.expanduser().resolve()
    if target.exists() and not target.is_dir():
        raise _fail(f"{target} exists and is not a folder")
    for name in (NOTES_DIR, EXPERIMENTS_DIR, SETTINGS_FILE):
        if (target / name).exists():
            raise _fail(f"{target / name} already exists; {target} is already a workspace")
    source = sample_course()
    try:
        target.mkdir(parents=True, exist_ok=True)
        for name in (NOTES_DIR, EXPERIMENTS_DIR):
            shutil.copytree(
                source / name, target / name, ignore=shutil.ignore_patterns("__pycache__")
            )
        (target / SETTINGS_FILE).write_text(SETTINGS_TEMPLATE, encoding="utf-8")
        gitignore = target / ".gitignore"
        if not gitignore.exists():
            gitignore.write_text(f"{STATE_DIR}/\n", encoding="utf-8")
    except OSError as exc:
        raise _fail(f"cannot make a workspace in {target}: {exc}") from exc
    click.echo(f"Made a workspace in {target} with the sample course.")
    click.echo(f"Next: cd {target} && studylog")


SETTINGS_TEMPLATE = """\
# studylog settings. Every key is optional; these are the defaults.

[notes]
# How to read two-digit-year dates like 22.01.25: "year-first" (2022-01-25, as Korean
# notes write them) or "day-first" (22 January 2025).
date_order = "year-first"

[run]
timeout = 120          # seconds a snippet may run
memory_limit_mb = 4096 # memory a snippet may use
seed = 0               # seed for random, NumPy and torch before each run
"""


@cli.command()
@click.option("--full", is_flag=True, help="Re-read every file, changed or not.")
@workspace_option
@click.pass_context
def index(ctx: click.Context, full: bool, workspace: Path | None) -> None:
    """Index the notes (incremental: only changed files are read).

    Example: studylog index --full
    """
    from rich.text import Text

    from studylog.store.queries import list_notes

    with session(_ws(ctx, workspace)) as s:
        report = _index(s, full=full)
        notes = list_notes(s.db)
    # Every note's standing warnings, not only those found by this run.
    _folder_warnings(report)
    err = _console(stderr=True)
    for note in notes:
        for warning in note.warnings:
            err.print(Text(f"⚠ notes/{note.path}: {warning}", style="yellow"))
    _console().print(f"Indexed {report.summary()}.")


@cli.command("list")
@click.option("--by", type=click.Choice(["topic", "date"]), default="topic", show_default=True)
@json_option
@workspace_option
@click.pass_context
def list_cmd(ctx: click.Context, by: str, as_json: bool, workspace: Path | None) -> None:
    """List the notes, grouped by topic (topic → lecture → note) or by date.

    Example: studylog list --by date
    """
    from studylog.store.queries import list_notes

    with session(_ws(ctx, workspace)) as s:
        report = _index(s)
        notes = list_notes(s.db)
    _folder_warnings(report)
    if as_json:
        _print_json([n.to_json() for n in notes])
        return
    from studylog import views

    if not notes:
        _console().print(f"No notes yet in {s.workspace.notes_dir}. Add a *.md file there.")
        return
    _console().print(views.topic_tree(notes) if by == "topic" else views.date_tree(notes))


@cli.command()
@click.argument("note")
@json_option
@workspace_option
@click.pass_context
def show(ctx: click.Context, note: str, as_json: bool, workspace: Path | None) -> None:
    """Show a note's metadata, outline, to-dos and snippets.

    NOTE is a path under notes/ or any unambiguous part of one.

    Example: studylog show autograd
    """
    from studylog.store.queries import NoteNotFound, get_note, resolve_note

    with session(_ws(ctx, workspace)) as s:
        _index(s)
        try:
            detail = get_note(s.db, resolve_note(s.db, note))
        except NoteNotFound as exc:
            raise _fail(str(exc)) from exc
    if as_json:
        _print_json(detail.to_json())
        return
    from studylog import views

    _console().print(views.note_view(detail))


@cli.command()
@click.argument("query", nargs=-1, required=True)
@click.option("--limit", default=20, show_default=True, help="How many notes to show.")
@json_option
@workspace_option
@click.pass_context
def search(
    ctx: click.Context, query: tuple[str, ...], limit: int, as_json: bool, workspace: Path | None
) -> None:
    """Full-text search of the notes, Korean included (학습 finds 학습을).

    Every word must occur: Korean as any part of a word, others as a word start.

    Example: studylog search 역전파 optimizer
    """
    from studylog.store.search import search as run_search

    text = " ".join(query)
    with session(_ws(ctx, workspace)) as s:
        _index(s)
        hits = run_search(s.db, text, limit=limit)
    if as_json:
        _print_json([h.to_json() for h in hits])
        return
    from studylog import views

    _console().print(views.hits_view(hits, text))


def main() -> None:
    """Entry point of the `studylog` script and `python -m studylog`."""
    try:
        cli(prog_name="studylog")
    except KeyboardInterrupt:
        sys.exit(130)
