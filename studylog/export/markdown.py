"""Markdown export: the note byte for byte, each run snippet followed by its latest output in
a <details> block and its curves as PNG files in a folder beside it (`<name>_files/`)."""

from __future__ import annotations

import shutil
from pathlib import Path

from studylog.export.collect import ExportNote
from studylog.export.files import write_file
from studylog.export.results import figures, markdown_block


def export_markdown(note: ExportNote, target: Path) -> list[Path]:
    """Write `note` to `target`; the files written (the note and its images)."""
    files_dir = target.with_name(f"{target.stem}_files")
    if files_dir.exists():  # a re-export replaces the earlier images, none left behind
        shutil.rmtree(files_dir)
    if not note.ran:  # nothing to add: the note exactly as written
        write_file(target, note.raw)
        return [target]
    written = [target]
    after: dict[int | None, list[str]] = {}
    for result in note.ran:
        images = []
        for fig in figures(result):
            path = files_dir / fig.name
            write_file(path, fig.png)
            written.append(path)
            images.append((f"{files_dir.name}/{fig.name}", fig.title))
        after.setdefault(result.after_line, []).extend(["", *markdown_block(result, images)])
    lines = note.text.split("\n")
    trailing_newline = lines[-1] == ""
    if trailing_newline:
        lines.pop()
    out: list[str] = []
    for index, line in enumerate(lines):
        out.append(line)
        if index in after:
            out += [*after[index], ""]
    if None in after:
        out += after[None]
    text = note.newline.join(out) + (note.newline if trailing_newline or None in after else "")
    write_file(target, text.encode("utf-8"))
    return written
