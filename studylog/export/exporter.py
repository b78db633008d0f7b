"""Exporting notes: one call for any format, several notes, a progress callback and a report
of what was written and what to look at."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Literal

from studylog.export.collect import ExportError, ExportNote, collect, within
from studylog.export.files import OutDir, prepare_out_dir, safe_name, safe_relative
from studylog.labels import NO_TOPIC

if TYPE_CHECKING:
    import sqlite_utils

    from studylog.paths import Workspace
    from studylog.store.history import RunChoice

Format = Literal["md", "html", "ipynb"]
Layout = Literal["notes", "date", "topic"]
FORMATS: tuple[Format, ...] = ("md", "html", "ipynb")


@dataclass
class ExportReport:
    out_dir: Path
    files: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # notes that could not be exported
    notes: int = 0


def relative_target(note: ExportNote, layout: Layout, suffix: str) -> PurePosixPath:
    """Where a note goes under --out: as in notes/, or by date (YYYY/MM/) or by topic."""
    stem = PurePosixPath(note.path).stem
    name = safe_name(stem) + suffix
    s = note.detail.summary
    if layout == "date":
        folder = PurePosixPath(*(s.date.split("-")[:2])) if s.date else PurePosixPath("undated")
        return folder / name
    if layout == "topic":
        return PurePosixPath(safe_name(s.topic or NO_TOPIC)) / name
    return safe_relative(note.path).with_name(name)


def export_notes(
    db: sqlite_utils.Database,
    workspace: Workspace,
    paths: Sequence[str],
    fmt: Format,
    out_dir: Path,
    layout: Layout = "notes",
    progress: Callable[[int, int], None] | None = None,
    runs: RunChoice = "succeeded",
) -> ExportReport:
    """Export the notes at `paths` (under notes/) into `out_dir`. A note that fails is
    reported and skipped; the others are exported. Nothing in `out_dir` that an export did
    not write is replaced or removed: a name in the way makes a numbered one, with a warning;
    `out_dir` inside the notes folder is refused."""
    notes_dirs = workspace.note_folders
    out = OutDir(prepare_out_dir(out_dir, notes_dirs), notes_dirs)
    try:
        report = ExportReport(out.root)
        exported: list[tuple[ExportNote, PurePosixPath]] = []
        done: set[str] = set()
        suffix = {"md": ".md", "html": ".html", "ipynb": ".ipynb"}[fmt]
        for number, path in enumerate(paths, start=1):
            try:
                note = collect(db, workspace, path, runs)
                label = workspace.label(path)
                # The manifest's key, and how a clash names the note (`notes/x.md` as before
                # in the classic layout).
                owner = f"{fmt} {label}"
                relative = out.claim(relative_target(note, layout, suffix), owner, label)
                report.warnings += note.warnings
                report.files += _write(note, fmt, out, relative, owner, workspace, report.warnings)
                exported.append((note, relative))
                done.add(owner)
            except (ExportError, OSError) as exc:
                report.failed.append(
                    str(exc) if isinstance(exc, ExportError) else f"{workspace.label(path)}: {exc}"
                )
            if progress is not None:
                progress(number, len(paths))
        report.notes = len(exported)
        if fmt == "html" and len(exported) > 1:
            from studylog.export.html import render_index

            index = out.claim(PurePosixPath("index.html"), "html index", "the index")
            report.files.append(out.write(index, render_index(exported).encode("utf-8")))
            done.add("html index")
        out.finish(done)
        report.warnings += out.warnings
    except BaseException:
        out.finish(set())  # what was written is still recorded as ours; nothing removed
        raise
    finally:
        out.close()
    return report


def _write(
    note: ExportNote,
    fmt: Format,
    out: OutDir,
    relative: PurePosixPath,
    owner: str,
    workspace: Workspace,
    warnings: list[str],
) -> list[Path]:
    if fmt == "md":
        from studylog.export.markdown import export_markdown

        return export_markdown(note, out, relative, owner, workspace, warnings)
    if fmt == "html":
        from studylog.export.html import render_note

        return [out.write(relative, render_note(note, warnings, workspace).encode("utf-8"))]
    from studylog.export.notebook import build_notebook
    from studylog.runner.snippets import RunError, snippet_code

    code_of = {}
    for result in note.results:
        if result.snippet.path is None:
            continue
        if not within(workspace, workspace.root / result.snippet.path):
            warnings.append(
                f"{workspace.label(note.path)}: {result.snippet.path} leads outside the workspace; "
                "its cell is empty"
            )
            continue
        try:
            code_of[result.snippet.name] = snippet_code(workspace, result.snippet)
        except RunError as exc:
            warnings.append(f"{workspace.label(note.path)}: {exc}; its cell is empty")
    notebook = build_notebook(note, code_of, workspace, warnings)
    import nbformat

    return [out.write(relative, nbformat.writes(notebook).encode("utf-8"))]
