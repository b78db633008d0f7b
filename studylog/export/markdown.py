"""Markdown export: the note byte for byte, each run snippet followed by its latest output in
a <details> block and its curves as PNG files in a folder beside it (`<name>_files/`). Images
a blog writes for its site (`/assets/img/x.png`, `{{ site.baseurl }}/img/x.png`) are copied
into that folder from the site root and linked there, and so are images beside the note
(`img/x.png`), from inside the workspace only."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import quote

from studylog.export.collect import ExportNote, rewrite_site_images
from studylog.export.files import OutDir, safe_name
from studylog.export.results import figures, markdown_block

if TYPE_CHECKING:
    from studylog.paths import Workspace


def export_markdown(
    note: ExportNote,
    out: OutDir,
    target: PurePosixPath,
    owner: str,
    workspace: Workspace,
    warnings: list[str],
) -> list[Path]:
    """Write `note` to `target` under --out (claimed already); the files written (the note,
    then its images in `<stem>_files/`, each under a name no file of someone else holds)."""
    files_dir = target.with_name(f"{target.stem}_files")
    label = workspace.label(note.path)
    written: list[Path] = []

    def copy(found: Path, link: str) -> str | None:
        try:
            data = found.read_bytes()
        except OSError as exc:
            warnings.append(f"{label}: image {link}: cannot read it ({exc.strerror or exc})")
            return None
        path = out.claim(files_dir / safe_name(found.name), owner, label)
        written.append(out.write(path, data))
        return quote(f"{files_dir.name}/{path.name}")

    text = rewrite_site_images(note, workspace, copy, relative=True)
    if not note.ran and text == note.text:  # nothing to add: the note exactly as written
        return [out.write(target, note.raw)]
    after: dict[int | None, list[str]] = {}
    for result in note.ran:
        images = []
        for fig in figures(result):
            path = out.claim(files_dir / fig.name, owner, label)
            written.append(out.write(path, fig.png))
            images.append((f"{files_dir.name}/{path.name}", fig.title))
        after.setdefault(result.after_line, []).extend(["", *markdown_block(result, images)])
    lines = text.split("\n")
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
