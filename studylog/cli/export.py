"""The export command: notes with their latest outputs and curves, as md, html or ipynb."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from studylog.cli import cli
from studylog.cli.common import (
    Session,
    console,
    fail,
    index_notes_now,
    session,
    workspace_option,
    ws_of,
)
from studylog.cli.views import safe  # names of notes and files: never markup, shown inert
from studylog.labels import plural

if TYPE_CHECKING:
    from studylog.store.history import RunChoice

# Show a progress bar from this many notes on.
PROGRESS_FROM = 20


@cli.command()
@click.argument("notes", nargs=-1, metavar="NOTE...")
@click.option("--all", "export_all", is_flag=True, help="Export every note.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["md", "html", "ipynb"]),
    help="md for a blog (kramdown/GitHub), html to read anywhere, ipynb for Jupyter.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    help="The folder to write into (made if missing; never inside notes/). An earlier "
    "export's files are replaced; any other file in the way keeps its name.",
)
@click.option(
    "--in-place",
    is_flag=True,
    help="Write each snippet's latest output into the note itself, replacing the block "
    "written before (no --format, no --out).",
)
@click.option(
    "--run",
    "run_choice",
    default="succeeded",
    show_default=True,
    metavar="succeeded|latest|ID",
    help="Which run of each snippet to show: its latest succeeded run (the latest when none "
    "succeeded, with a warning), its latest run, or the run with this id (for its snippet; "
    "the others show their latest succeeded run).",
)
@click.option(
    "--by",
    type=click.Choice(["notes", "date", "topic"]),
    default="notes",
    show_default=True,
    help="Folders under --out: as under notes/, by date (YYYY/MM/) or by topic.",
)
@workspace_option
@click.pass_context
def export(
    ctx: click.Context,
    notes: tuple[str, ...],
    export_all: bool,
    fmt: str,
    out_dir: Path | None,
    in_place: bool,
    run_choice: str,
    by: str,
    workspace: Path | None,
) -> None:
    """Export notes with the latest output and loss curves of their snippets.

    Example: studylog export --all --format html --out site/

    Example: studylog export --in-place 2022-01-18
    """
    from studylog.export.collect import ExportError
    from studylog.export.exporter import export_notes
    from studylog.store.queries import NoteNotFound, list_notes, resolve_note

    if not notes and not export_all:
        raise fail("name the notes to export, or use --all")
    if in_place and (fmt or out_dir):
        raise fail("--in-place writes into the notes themselves: leave out --format and --out")
    if not in_place and (fmt is None or out_dir is None):
        raise fail(
            "say what to write: --format md|html|ipynb and --out DIR, "
            "or --in-place to write the outputs into the notes"
        )
    with session(ws_of(ctx, workspace)) as s:
        index_notes_now(s)
        try:
            paths = (
                [n.path for n in list_notes(s.db) if n.readable]
                if export_all
                else list(dict.fromkeys(resolve_note(s.db, n, s.workspace) for n in notes))
            )
        except NoteNotFound as exc:
            raise fail(str(exc)) from exc
        runs = _run_choice(s, run_choice, paths)
        if in_place:
            _in_place(s, paths, runs)
            return
        assert fmt is not None and out_dir is not None
        bar = None
        if len(paths) >= PROGRESS_FROM and sys.stderr.isatty():
            from rich.progress import Progress

            bar = Progress(console=console(stderr=True), transient=True)
            task = bar.add_task(f"Exporting {fmt}", total=len(paths))
            bar.start()
        try:
            report = export_notes(
                s.db,
                s.workspace,
                paths,
                fmt,  # type: ignore[arg-type]
                out_dir,
                by,  # type: ignore[arg-type]
                progress=(lambda done, total: bar.update(task, completed=done)) if bar else None,
                runs=runs,
            )
        except ExportError as exc:
            raise fail(str(exc)) from exc
        finally:
            if bar is not None:
                bar.stop()
    _problems(report.warnings, report.failed)
    console().print(
        safe(
            f"Exported {report.notes} {plural(report.notes, 'note')} as {fmt} to "
            f"{report.out_dir} ({len(report.files)} {plural(len(report.files), 'file')})."
        )
    )
    if report.failed:
        sys.exit(1)


def _problems(warnings: list[str], failed: list[str]) -> None:
    """Warnings and failures on stderr; their text is never read as markup."""
    err = console(stderr=True)
    for warning in warnings:
        err.print(safe(f"⚠ {warning}", "yellow"))
    for failure in failed:
        err.print(safe(f"✘ {failure}", "red"))


def _run_choice(s: Session, text: str, paths: list[str]) -> RunChoice:
    """`--run`: succeeded, latest, or the id of a run of one of the exported notes."""
    from studylog.store.history import RunNotFound, get_run

    if text in ("succeeded", "latest"):
        return "latest" if text == "latest" else "succeeded"
    wanted = text.removeprefix("#")
    if not wanted.isdigit():
        raise fail(f"--run takes succeeded, latest or a run id, not {text!r}")
    try:
        run = get_run(s.db, int(wanted)).summary
    except RunNotFound as exc:
        raise fail(f"--run {text}: there is no run #{wanted} (studylog runs lists them)") from exc
    if run.note_path not in paths:
        raise fail(
            f"--run {text}: run #{run.id} is of {s.workspace.label(run.note_path)}, "
            "which is not among the notes exported"
        )
    return run.id


def _in_place(s: Session, paths: list[str], runs: RunChoice) -> None:
    from studylog.export.inplace import export_in_place

    report = export_in_place(s.db, s.workspace, paths, runs)
    _problems(report.warnings, report.failed)
    written = len(report.changed)
    console().print(
        safe(
            f"Wrote outputs into {written} {plural(written, 'note')}"
            + (f" ({len(report.unchanged)} already up to date)" if report.unchanged else "")
            + "."
        )
    )
    if report.failed:
        sys.exit(1)
