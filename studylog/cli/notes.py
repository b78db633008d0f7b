"""Note commands: init, index, list, show, search."""

from __future__ import annotations

from pathlib import Path

import click

from studylog.cli import cli
from studylog.cli.common import (
    console,
    fail,
    folder_warnings,
    index_notes_now,
    json_option,
    listing_console,
    print_json,
    session,
    workspace_option,
    ws_of,
)


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option("--empty", is_flag=True, help="Make empty notes/ and experiments/, no samples.")
def init(directory: Path, empty: bool) -> None:
    """Make a new workspace in DIRECTORY with the sample course's notes and experiments.

    Example: studylog init ~/my-studies   (or: studylog init --empty ~/my-studies)
    """
    from studylog.paths import (
        EXPERIMENTS_DIR,
        NOTES_DIR,
        SETTINGS_FILE,
        STATE_DIR,
        SampleError,
        sample_files,
    )

    target = directory.expanduser().resolve()
    if target.exists() and not target.is_dir():
        raise fail(f"{target} exists and is not a folder")
    for name in (NOTES_DIR, EXPERIMENTS_DIR, SETTINGS_FILE):
        if (target / name).exists():
            raise fail(f"{target / name} already exists; {target} is already a workspace")
    try:
        files = {} if empty else sample_files()
    except SampleError as exc:
        raise fail(str(exc)) from exc
    try:
        target.mkdir(parents=True, exist_ok=True)
        for name in (NOTES_DIR, EXPERIMENTS_DIR):
            (target / name).mkdir()
        for relative, data in files.items():
            path = target / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        (target / SETTINGS_FILE).write_text(SETTINGS_TEMPLATE, encoding="utf-8")
        gitignore = target / ".gitignore"
        if not gitignore.exists():
            gitignore.write_text(f"{STATE_DIR}/\n", encoding="utf-8")
    except OSError as exc:
        raise fail(f"cannot make a workspace in {target}: {exc}") from exc
    what = "an empty workspace" if empty else "a workspace with the sample course"
    click.echo(f"Made {what} in {target}.")
    click.echo(f"Next: cd {target} && studylog")


SETTINGS_TEMPLATE = """\
# studylog settings. Every key is optional; these are the defaults.

[notes]
# How to read two-digit-year dates like 22.01.25: "year-first" (2022-01-25, as Korean
# notes write them) or "day-first" (22 January 2025).
date_order = "year-first"
# The folders that hold notes, relative to this file: e.g. ["_posts", "notes"] for a blog.
# dirs = ["notes"]
# Topic and lecture from folder names (03_PyTorch/04_AutoGrad.md) for notes without metadata.
from_folders = true

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

    from studylog.safe_text import visible
    from studylog.store.queries import list_notes

    with session(ws_of(ctx, workspace), writes=True) as s:
        report = index_notes_now(s, full=full)
        notes = list_notes(s.db)
    # Every note's standing warnings, not only those found by this run.
    folder_warnings(report)
    err = console(stderr=True)
    for note in notes:
        for warning in note.warnings:
            label = s.workspace.label(note.path)
            err.print(Text(visible(f"⚠ {label}: {warning}"), style="yellow"))
    console().print(f"Indexed {report.summary()}.")


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

    with session(ws_of(ctx, workspace)) as s:
        report = index_notes_now(s)
        notes = list_notes(s.db)
    folder_warnings(report)
    if as_json:
        print_json([n.to_json() for n in notes])
        return
    from studylog.cli import views

    if not notes:
        console().print(
            views.safe(
                f"No notes yet in {', '.join(str(d) for d in s.workspace.note_folders)}. "
                "Add a *.md file there."
            )
        )
        return
    tree = views.topic_tree if by == "topic" else views.date_tree
    listing_console().print(tree(notes, s.workspace.label))


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
    from studylog.runner.snippets import snippet_states
    from studylog.store.queries import NoteNotFound, get_note, resolve_note

    with session(ws_of(ctx, workspace)) as s:
        index_notes_now(s)
        try:
            detail = get_note(s.db, resolve_note(s.db, note, s.workspace), s.workspace)
        except NoteNotFound as exc:
            raise fail(str(exc)) from exc
        states = snippet_states(s.db, s.workspace, detail)
    if as_json:
        data = detail.to_json()
        for entry, state in zip(data["snippets"], states, strict=True):  # type: ignore[call-overload]
            entry.update(state.to_json())
        print_json(data)
        return
    from studylog.cli import views

    console().print(views.note_view(detail, states, s.workspace.label))


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
    with session(ws_of(ctx, workspace)) as s:
        index_notes_now(s)
        hits = run_search(s.db, text, limit=limit)
    if as_json:
        print_json([h.to_json() for h in hits])
        return
    from studylog.cli import views

    console().print(views.hits_view(hits, text, s.workspace.label))
