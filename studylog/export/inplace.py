"""`studylog export --in-place`: each snippet's latest output written into the note itself,
between two marker comments that let the next export find and replace it.

Only the blocks between the markers change: every other byte of the note (a BOM, CRLF line
ends) stays as it was, and exporting twice gives the same file. The end marker carries a
hash of the block, so no line of a run's output can pass for it."""

from __future__ import annotations

import codecs
import hashlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from studylog.export.collect import ExportError, SnippetResult, place, unsafe_field, within
from studylog.export.files import write_file
from studylog.export.results import markdown_block

if TYPE_CHECKING:
    import sqlite_utils

    from studylog.paths import Workspace
    from studylog.store.history import RunChoice

_START = re.compile(r"<!-- studylog:output [^\n]*-->")
_END = "<!-- /studylog:output {digest} -->"
_END_LINE = re.compile(r"<!-- /studylog:output ([0-9a-f]{12}) -->")
_LINE = re.compile(r"[^\n]*\n|[^\n]+$")


@dataclass
class InPlaceReport:
    changed: list[str] = field(default_factory=list)  # places of the notes written
    unchanged: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def export_in_place(
    db: sqlite_utils.Database,
    workspace: Workspace,
    paths: Sequence[str],
    runs: RunChoice = "succeeded",
) -> InPlaceReport:
    """Write the output of each snippet's run (the latest succeeded one by default; `runs`
    chooses) into the notes at `paths`, replacing the blocks written before. A note that
    fails is reported; the others go on."""
    report = InPlaceReport()
    for path in paths:
        try:
            changed = _rewrite(db, workspace, path, report.warnings, runs)
        except (ExportError, OSError) as exc:
            report.failed.append(
                str(exc) if isinstance(exc, ExportError) else f"{workspace.label(path)}: {exc}"
            )
            continue
        (report.changed if changed else report.unchanged).append(workspace.label(path))
    return report


def strip_blocks(lines: list[str], label: str) -> list[str]:
    """`lines` without the blocks an earlier in-place export wrote; `label` names the note
    in a message (its place in the workspace)."""
    kept: list[str] = []
    index = 0
    while index < len(lines):
        if not _START.fullmatch(lines[index].rstrip("\r\n")):
            kept.append(lines[index])
            index += 1
            continue
        end = next((j for j in range(index + 1, len(lines)) if _ends(lines, index, j)), None)
        if end is None:
            raise ExportError(
                f"{label}: line {index + 1} opens a studylog output block that does not "
                "close as written; remove that block by hand, then export again"
            )
        index = end + 1
    return kept


def _ends(lines: list[str], start: int, end: int) -> bool:
    """Whether lines[end] is the end marker of the block that lines[start] opens."""
    found = _END_LINE.fullmatch(lines[end].rstrip("\r\n"))
    if found is None:
        return False
    inner = "".join(line.rstrip("\r\n") + "\n" for line in lines[start:end])
    return found.group(1) == _digest(inner)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def _rewrite(
    db: sqlite_utils.Database,
    workspace: Workspace,
    path: str,
    warnings: list[str],
    runs: RunChoice,
) -> bool:
    """Rewrite one note's blocks; whether its file changed."""
    source = workspace.note_file(path)
    label = workspace.label(path)
    if not within(workspace, source):
        raise ExportError(f"{label} leads outside the workspace; not written")
    source = source.resolve()  # a link inside the workspace: write the file, keep the link
    raw = source.read_bytes()
    bom = codecs.BOM_UTF8 if raw.startswith(codecs.BOM_UTF8) else b""
    try:
        body = raw[len(bom) :].decode("utf-8")
    except UnicodeDecodeError:
        raise ExportError(
            f"{label} is not UTF-8; --in-place writes only UTF-8 notes (re-save it as UTF-8)"
        ) from None
    lines = strip_blocks(_LINE.findall(body), label)
    text = "".join(lines).replace("\r\n", "\n")
    results = _results(db, workspace, path, text, warnings, runs)
    newline = "\r\n" if "\r\n" in body else "\n"
    after: dict[int | None, list[str]] = {}
    for result in results:
        after.setdefault(result.after_line, []).extend(_block(result, newline))
    out: list[str] = []
    for number, line in enumerate(lines):
        out.append(line)
        if number in after:
            out[-1] = line if line.endswith("\n") else line + newline
            out += after[number]
    if None in after:
        if out and not out[-1].endswith("\n"):
            out[-1] += newline
        out += after[None]
    data = bom + "".join(out).encode("utf-8")
    if data == raw:
        return False
    write_file(source, data, mode=os.stat(source).st_mode)
    return True


def _results(
    db: sqlite_utils.Database,
    workspace: Workspace,
    path: str,
    text: str,
    warnings: list[str],
    runs: RunChoice,
) -> list[SnippetResult]:
    """The chosen run of each snippet of `text` (the note without its blocks), placed."""
    from studylog.notes.parse import parse_note
    from studylog.store.history import get_run, shown_runs
    from studylog.store.queries import NoteNotFound, get_note

    try:
        note_id = get_note(db, path, workspace).summary.id
    except NoteNotFound as exc:
        raise ExportError(str(exc)) from exc
    shown = shown_runs(db, note_id, runs)
    results = []
    for snippet in parse_note(text, path).snippets:
        unsafe = unsafe_field(snippet)
        if unsafe is not None:
            warnings.append(
                f"{workspace.label(path)}: snippet {snippet.name!r} has a newline or control "
                f"character in its {unsafe}; no output written for it"
            )
        elif snippet.name in shown:
            chosen = shown[snippet.name]
            if chosen.why == "latest, none succeeded":
                warnings.append(
                    f"{workspace.label(path)}: snippet {snippet.name!r} has no succeeded run; "
                    f"its latest (#{chosen.summary.id}, {chosen.summary.status}) is written"
                )
            results.append(SnippetResult(snippet, get_run(db, chosen.summary.id)))
    place(text, results)
    return results


def _block(result: SnippetResult, newline: str) -> list[str]:
    """The marked block after a snippet: its latest output in a <details> block."""
    name = re.sub(r"[^\w.-]+", "_", result.snippet.name)
    inner = [
        f"<!-- studylog:output {name} (written by studylog export --in-place; "
        "replaced on each export) -->",
        # No carriage return inside: the block reads back line for line, whatever the output.
        *(line.replace("\r", "") for line in markdown_block(result, [])),
        "",
    ]
    digest = _digest("".join(f"{line}\n" for line in inner))
    return [line + newline for line in [*inner, _END.format(digest=digest)]]
