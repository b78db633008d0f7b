"""The export command: notes with their latest outputs and curves, as md, html or ipynb."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from studylog.cli import cli
from studylog.cli.common import console, fail, index_notes_now, session, workspace_option, ws_of

# Show a progress bar from this many notes on.
PROGRESS_FROM = 20


@cli.command()
@click.argument("notes", nargs=-1, metavar="NOTE...")
@click.option("--all", "export_all", is_flag=True, help="Export every note.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["md", "html", "ipynb"]),
    required=True,
    help="md for a blog (kramdown/GitHub), html to read anywhere, ipynb for Jupyter.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    required=True,
    help="The folder to write into (made if missing; earlier exports are replaced).",
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
    out_dir: Path,
    by: str,
    workspace: Path | None,
) -> None:
    """Export notes with the latest output and loss curves of their snippets.

    Example: studylog export --all --format html --out site/
    """
    from studylog.export.collect import ExportError
    from studylog.export.exporter import export_notes
    from studylog.store.queries import NoteNotFound, list_notes, resolve_note

    if not notes and not export_all:
        raise fail("name the notes to export, or use --all")
    with session(ws_of(ctx, workspace)) as s:
        index_notes_now(s)
        try:
            paths = (
                [n.path for n in list_notes(s.db) if n.readable]
                if export_all
                else list(dict.fromkeys(resolve_note(s.db, n) for n in notes))
            )
        except NoteNotFound as exc:
            raise fail(str(exc)) from exc
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
            )
        except ExportError as exc:
            raise fail(str(exc)) from exc
        finally:
            if bar is not None:
                bar.stop()
    from studylog.views import safe  # names of notes and files: never markup, shown inert

    err = console(stderr=True)
    for warning in report.warnings:
        err.print(safe(f"⚠ {warning}", "yellow"))
    for failure in report.failed:
        err.print(safe(f"✘ {failure}", "red"))
    console().print(
        safe(
            f"Exported {report.notes} note{'s' if report.notes != 1 else ''} as {fmt} to "
            f"{report.out_dir} ({len(report.files)} files)."
        )
    )
    if report.failed:
        sys.exit(1)
