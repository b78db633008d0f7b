"""Notebook export: a valid nbformat 4 notebook that runs top to bottom. Prose becomes
markdown cells (each <details> flattened into a heading), snippets code cells with their
latest output as stream outputs and their curves as image/png; the seed and environment go
into the notebook's metadata, and a first cell seeds as studylog does. Images a blog writes
for its site (`/assets/img/x.png`, Liquid-wrapped) or beside the note (`img/x.png`) become
attachments of their cell."""

from __future__ import annotations

import base64
import mimetypes
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studylog.export.collect import ExportNote, SnippetResult, rewrite_site_images, strip_ansi
from studylog.export.files import safe_name
from studylog.export.results import figures, summary
from studylog.labels import NO_TOPIC, UNDATED
from studylog.notes.markup import ANY_TAG, DETAILS_PATTERN

if TYPE_CHECKING:
    from studylog.paths import Workspace

# What a notebook viewer shows as an attachment without running anything (no SVG: it may
# hold script).
_ATTACHABLE = ("image/png", "image/jpeg", "image/gif", "image/webp")
_ATTACHMENT = re.compile(r"attachment:([^)\s\"']+)")

_DETAILS = re.compile(DETAILS_PATTERN + r"|</?div\b[^>]*>", re.IGNORECASE | re.DOTALL)

SEED_CELL = """\
# studylog seeds random, NumPy and torch before each run; the same here (seed {seed}).
import random

random.seed({seed})
try:
    import numpy

    numpy.random.seed({seed})
except ImportError:
    pass
try:
    import torch

    torch.manual_seed({seed})
except ImportError:
    pass"""


def flatten_details(markdown: str, base_level: int = 2) -> str:
    """<details><summary>X</summary> → a heading `## X` one level deeper per nesting;
    the details and div tags themselves go (Jupyter shows no collapsible markdown)."""
    depth = 0
    out: list[str] = []
    position = 0
    for match in _DETAILS.finditer(markdown):
        out.append(markdown[position : match.start()])
        position = match.end()
        tag = match.group(0).lower()
        if tag.startswith("<details"):
            depth += 1
        elif tag.startswith("</details"):
            depth = max(0, depth - 1)
        elif tag.startswith("<summary"):
            title = " ".join(ANY_TAG.sub("", match.group("summary")).split())
            out.append(f"\n\n{'#' * min(6, base_level + depth - 1)} {title}\n\n")
    out.append(markdown[position:])
    return re.sub(r"\n{3,}", "\n\n", "".join(out)).strip("\n")


def build_notebook(
    note: ExportNote, code_of: dict[str, str], workspace: Workspace, warnings: list[str]
) -> Any:
    """The notebook of `note`; `code_of` maps a file snippet's name to the code to put in its
    cell (a linked experiment's file as it is now). Site images are attached to their cells;
    what cannot be attached is a warning in `warnings`."""
    import nbformat
    from nbformat import v4

    label = workspace.label(note.path)
    attachments: dict[str, dict[str, str]] = {}

    def attach(found: Path, link: str) -> str | None:
        kind = mimetypes.guess_type(found.name)[0]
        if kind not in _ATTACHABLE:
            warnings.append(f"{label}: {link} is not a raster image; its link is kept")
            return None
        try:
            data = base64.b64encode(found.read_bytes()).decode("ascii")
        except OSError as exc:
            warnings.append(f"{label}: image {link}: cannot read it ({exc.strerror or exc})")
            return None
        stem, dot, suffix = safe_name(found.name).replace(" ", "_").rpartition(".")
        name, number = f"{stem}{dot}{suffix}", 1
        while name in attachments:
            number += 1
            name = f"{stem}-{number}{dot}{suffix}"
        attachments[name] = {kind: data}
        return f"attachment:{name}"

    body = rewrite_site_images(note, workspace, attach, relative=True).split("\n")
    fence_lines: dict[int, tuple[int, SnippetResult]] = {}  # fence start → (end, result)
    after: dict[int | None, list[SnippetResult]] = {}
    start_line = _body_start(note.text)
    for result in note.results:
        if result.snippet.code is not None and result.after_line is not None:
            fence_lines[result.snippet.line - 1] = (result.after_line, result)
        else:
            after.setdefault(result.after_line, []).append(result)

    cells: list[Any] = [v4.new_markdown_cell(_header(note, label))]
    seed = next((r.run.summary.seed for r in note.ran if r.run is not None), 0)
    cells.append(v4.new_code_cell(SEED_CELL.format(seed=seed)))
    prose: list[str] = []

    def flush() -> None:
        text = flatten_details("\n".join(prose))
        if text.strip():
            cell = v4.new_markdown_cell(text)
            used = {n: attachments[n] for n in _ATTACHMENT.findall(text) if n in attachments}
            if used:
                cell.attachments = used
            cells.append(cell)
        prose.clear()

    index = start_line
    while index < len(body):
        if index in fence_lines:
            end, result = fence_lines[index]
            flush()
            cells.append(_code_cell(result, result.snippet.code or ""))
            index = end + 1
            continue
        prose.append(body[index])
        for result in after.get(index, []):
            flush()
            cells.append(_code_cell(result, code_of.get(result.snippet.name, "")))
        index += 1
    flush()
    for result in after.get(None, []):
        cells.append(_code_cell(result, code_of.get(result.snippet.name, "")))

    for number, cell in enumerate(cells):  # stable ids: a re-export diffs cleanly
        cell.id = f"cell-{number}"
    notebook = v4.new_notebook(cells=cells)
    notebook.metadata.update(
        {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
            "studylog": {
                "note": label,
                "title": note.detail.summary.title,
                "seed": seed,
                "runs": [_run_metadata(r) for r in note.ran],
            },
        }
    )
    nbformat.validate(notebook)
    return notebook


def _body_start(text: str) -> int:
    """The first line after the front matter (0 when there is none)."""
    lines = text.split("\n")
    if lines and lines[0].strip() == "---":
        for number, line in enumerate(lines[1:], start=1):
            if line.strip() in ("---", "..."):
                return number + 1
    return 0


def _header(note: ExportNote, label: str) -> str:
    s = note.detail.summary
    facts = [s.date or UNDATED, s.topic or NO_TOPIC]
    facts += [lecture.label() for lecture in s.lectures]
    lines = [f"# {s.title}", "", " · ".join(facts)]
    if s.tags:
        lines += ["", " ".join(f"#{t}" for t in s.tags)]
    lines += ["", f"*Exported by studylog from `{label}`.*"]
    return "\n".join(lines)


def _code_cell(result: SnippetResult, code: str) -> Any:
    from nbformat import v4

    snippet = result.snippet
    if snippet.path is not None:  # a script: run as studylog runs it, with its arguments
        args = [snippet.path, *snippet.attrs.get("args", "").split()]
        code = f"# {snippet.path}\nimport sys\n\nsys.argv = {args!r}\n\n{code}"
    cell = v4.new_code_cell(code.rstrip("\n"))
    cell.metadata["studylog"] = {"snippet": snippet.name}
    if result.run is None:
        return cell
    cell.metadata["studylog"].update(run=result.run.summary.id, summary=summary(result))
    outputs = []
    for name, text in (("stdout", result.run.stdout), ("stderr", result.run.stderr)):
        if text:
            outputs.append(v4.new_output("stream", name=name, text=strip_ansi(text)))
    for fig in figures(result):
        outputs.append(
            v4.new_output(
                "display_data",
                data={
                    "image/png": base64.b64encode(fig.png).decode("ascii"),
                    "text/plain": f"<{fig.title}>",
                },
            )
        )
    cell.outputs = outputs
    return cell


def _run_metadata(result: SnippetResult) -> dict[str, Any]:
    assert result.run is not None
    s = result.run.summary
    return {
        "snippet": result.snippet.name,
        "run": s.id,
        "status": s.status,
        "seed": s.seed,
        "started": s.started,
        "duration": s.duration,
        "cost": s.cost.to_json(),
        "params": result.run.params,
        "environment": result.run.env,
    }
