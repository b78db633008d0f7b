"""Markdown export: the note byte for byte, each run snippet followed by its latest output in
a <details> block and its curves as PNG files in a folder beside it (`<name>_files/`)."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from studylog.export.collect import ExportNote
from studylog.export.files import OutDir
from studylog.export.results import figures, markdown_block


def export_markdown(note: ExportNote, out: OutDir, target: PurePosixPath, owner: str) -> list[Path]:
    """Write `note` to `target` under --out (claimed already); the files written (the note,
    then its images in `<stem>_files/`, each under a name no file of someone else holds)."""
    if not note.ran:  # nothing to add: the note exactly as written
        return [out.write(target, note.raw)]
    files_dir = target.with_name(f"{target.stem}_files")
    written: list[Path] = []
    after: dict[int | None, list[str]] = {}
    for result in note.ran:
        images = []
        for fig in figures(result):
            path = out.claim(files_dir / fig.name, owner, f"notes/{note.path}")
            written.append(out.write(path, fig.png))
            images.append((f"{files_dir.name}/{path.name}", fig.title))
        after.setdefault(result.after_line, []).extend(["", *markdown_block(result, images)])
    lines = note.text.split("\n")
    trailing_newline = lines[-1] == ""
    if trailing_newline:
        lines.pop()
    joined: list[str] = []
    for index, line in enumerate(lines):
        joined.append(line)
        if index in after:
            joined += [*after[index], ""]
    if None in after:
        joined += after[None]
    text = note.newline.join(joined) + (note.newline if trailing_newline or None in after else "")
    return [out.write(target, text.encode("utf-8")), *written]
