"""What an export needs of one note: its text as written, and for each snippet its latest
run, its curves, and where in the text its results go."""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from studylog.notes.markup import has_scheme, markdown_parser
from studylog.notes.model import Snippet
from studylog.notes.read import decode_note
from studylog.store.history import RunChoice, RunDetail, get_run, series, shown_runs
from studylog.store.queries import NoteDetail, NoteNotFound, get_note

if TYPE_CHECKING:
    import sqlite_utils

    from studylog.paths import Workspace

# Points per curve in an exported plot: plenty for a figure, small for a notebook.
PLOT_POINTS = 1_000
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
_IMAGE = re.compile(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_HTML_IMAGE = re.compile(r"<img\b[^>]*?\bsrc\s*=\s*[\"']([^\"']+)[\"']", re.IGNORECASE)


@dataclass
class SnippetResult:
    snippet: Snippet
    run: RunDetail | None
    curves: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    after_line: int | None = None  # 0-based index of the text line the results follow

    @property
    def output(self) -> str:
        """The run's stdout and stderr as plain text (terminal escape codes removed)."""
        if self.run is None:
            return ""
        text = self.run.stdout
        if self.run.stderr.strip():
            text = text + ("\n" if text and not text.endswith("\n") else "") + self.run.stderr
        return strip_ansi(text)


@dataclass
class ExportNote:
    detail: NoteDetail
    source: Path  # the note's file
    text: str  # as written, newlines normalised to \n
    raw: bytes
    newline: str  # the file's own newline, used when writing it back
    results: list[SnippetResult]
    warnings: list[str] = field(default_factory=list)

    @property
    def path(self) -> str:
        return self.detail.summary.path

    @property
    def ran(self) -> list[SnippetResult]:
        return [r for r in self.results if r.run is not None]


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def collect(
    db: sqlite_utils.Database, workspace: Workspace, path: str, runs: RunChoice = "succeeded"
) -> ExportNote:
    """The note at `path` with the run `runs` chooses of each of its snippets (the latest
    succeeded one by default)."""
    try:
        detail = get_note(db, path, workspace)
    except NoteNotFound as exc:
        raise ExportError(str(exc)) from exc
    source = workspace.note_file(path)
    label = workspace.label(path)
    if not within(workspace, source):
        raise ExportError(f"{label} leads outside the workspace; not exported")
    try:
        raw = source.read_bytes()
    except OSError as exc:
        raise ExportError(f"{label}: cannot read it ({exc.strerror or exc})") from exc
    decoded = decode_note(raw)
    if decoded.text is None:
        raise ExportError(f"{label}: {'; '.join(decoded.warnings)}")
    text = decoded.text
    warnings = [f"{label}: {w}" for w in decoded.warnings if w != "empty file"]
    newline = "\r\n" if b"\r\n" in raw else "\n"
    shown = shown_runs(db, detail.summary.id, runs)
    results = []
    for snippet in detail.snippets:
        unsafe = unsafe_field(snippet)
        if unsafe is not None:
            warnings.append(
                f"{label}: snippet {snippet.name!r} has a newline or control character "
                f"in its {unsafe}; left out of the export"
            )
            continue
        chosen = shown.get(snippet.name)
        run = get_run(db, chosen.summary.id) if chosen is not None else None
        if chosen is not None and chosen.why == "latest, none succeeded":
            warnings.append(
                f"{label}: snippet {snippet.name!r} has no succeeded run; its latest "
                f"(#{chosen.summary.id}, {chosen.summary.status}) is shown"
            )
        curves = (
            {m.name: series(db, run.summary.id, m.name, PLOT_POINTS) for m in run.metrics}
            if run is not None
            else {}
        )
        results.append(SnippetResult(snippet, run, curves))
    if any(r.run is not None for r in results):  # only results need a place in the text
        place(text, results)
    plain = unliquid(text)
    for target in [*_IMAGE.findall(plain), *_HTML_IMAGE.findall(plain)]:
        if has_scheme(target) or target.startswith("#"):
            continue
        found = local_target(workspace, source, target)
        if found is None or not within(workspace, found):
            where = "the site root" if target.startswith("/") else "the workspace"
            warnings.append(f"{label}: image {target} is outside {where}; its link is kept")
        elif not found.is_file():
            warnings.append(f"{label}: image {target} does not exist; its link is kept")
    return ExportNote(detail, source, text, raw, newline, results, warnings)


def within(workspace: Workspace, path: Path) -> bool:
    """Whether `path`, links resolved, is inside the workspace or its site root (the one
    rule, Workspace.contains): the only files an export reads."""
    return workspace.contains(path)


# A URL's scheme (`https:`, `data:`): a link that names no local file.
# Liquid around a path, as Jekyll blogs write image and link paths.
_LIQUID_SITE = re.compile(r"\{\{-?\s*site\.(?:url|baseurl)\s*-?\}\}")
_LIQUID_FILTER = re.compile(
    r"\{\{-?\s*([\"'])(?P<path>[^\"'{}]*)\1\s*\|\s*(?:relative_url|absolute_url)\s*-?\}\}"
)


def unliquid(text: str) -> str:
    """`{{ site.baseurl }}/img/x.png` and `{{ "/img/x.png" | relative_url }}` as the plain
    root-absolute path `/img/x.png` (the site's base URL is where it is published)."""
    return _LIQUID_FILTER.sub(lambda m: m.group("path"), _LIQUID_SITE.sub("", text))


def local_target(workspace: Workspace, source: Path, target: str) -> Path | None:
    """The file an image or link path in the note at `source` names: relative to the note,
    or root-absolute (`/assets/img/x.png`) from the site root. None: not a local path."""
    import urllib.parse

    target = urllib.parse.unquote(unliquid(target).split("#", 1)[0].split("?", 1)[0].strip())
    if not target or target.startswith("//") or "\\" in target:
        return None
    if target.startswith("/"):
        return Path(os.path.normpath(workspace.site / target.lstrip("/")))
    return Path(os.path.normpath(source.parent / target))


# Image links as written, Liquid included: `![alt](TARGET` and `<img src="TARGET"`.
_MD_IMAGE_AT = re.compile(r"(!\[[^\]]*\]\(\s*<?)((?:\{\{[^}]*\}\}|[^)\s>{])+)")
_HTML_IMAGE_AT = re.compile(r"(<img\b[^>]*?\bsrc\s*=\s*)(\"[^\"]*\"|'[^']*')", re.IGNORECASE)
_FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})")


def site_image(target: str) -> bool:
    """Whether an image path is written for the site: Liquid-wrapped or root-absolute
    (`/assets/img/x.png`), so it means nothing once the note is exported elsewhere."""
    plain = unliquid(target).strip()
    return "{{" in target or (plain.startswith("/") and not plain.startswith("//"))


def relative_image(target: str) -> bool:
    """Whether an image path is relative to the note (`img/x.png`, `./x.png`): not a URL,
    not root-absolute, not an anchor."""
    plain = unliquid(target).strip()
    return bool(plain) and not ("{{" in target or plain.startswith(("/", "#")) or has_scheme(plain))


def rewrite_site_images(
    note: ExportNote,
    workspace: Workspace,
    put: Callable[[Path, str], str | None],
    *,
    relative: bool = False,
) -> str:
    """`note.text` with each site image (see `site_image`) that names a file inside the
    workspace or site root linked anew, and each relative image too when `relative` (an
    export written elsewhere loses the folder beside the note): `put(file, target)` stores
    the file and returns its new link (None keeps the link as written). Code blocks are left
    alone; an image outside the workspace and site root, or missing, keeps its link and is
    never read (collect() warned about it)."""
    done: dict[Path, str | None] = {}

    def relink(target: str) -> str | None:
        if not (site_image(target) or (relative and relative_image(target))):
            return None
        found = local_target(workspace, note.source, target)
        if found is None or not within(workspace, found) or not found.is_file():
            return None
        if found not in done:
            done[found] = put(found, target)
        return done[found]

    def markdown(match: re.Match[str]) -> str:
        new = relink(match.group(2))
        return match.group(0) if new is None else match.group(1) + new

    def html(match: re.Match[str]) -> str:
        quoted = match.group(2)
        new = relink(quoted[1:-1])
        return match.group(0) if new is None else f"{match.group(1)}{quoted[0]}{new}{quoted[0]}"

    lines = note.text.split("\n")
    fence: str | None = None
    for index, line in enumerate(lines):
        opened = _FENCE.match(line)
        if fence is not None:
            if opened and opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence):
                fence = None
            continue
        if opened:
            fence = opened.group(1)
            continue
        if "](" in line or "<img" in line.lower():
            lines[index] = _HTML_IMAGE_AT.sub(html, _MD_IMAGE_AT.sub(markdown, line))
    return "\n".join(lines)


def unsafe_field(snippet: Snippet) -> str | None:
    """Which of the snippet's name, path and args holds a control character (a newline, an
    escape): such a value would become lines of exported code or markup; None if none."""
    fields = {"name": snippet.name, "path": snippet.path or "", "args": snippet.attrs.get("args")}
    for label, value in fields.items():
        if value and any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in value):
            return label
    return None


class ExportError(Exception):
    """An export could not be made: the message names the file or folder and the cause."""


def place(text: str, results: list[SnippetResult]) -> None:
    """After which line of `text` each snippet's results go: a fence's closing line, the end
    of the block holding a link; front-matter snippets at the end of the note."""
    tokens = markdown_parser(front_matter=True).parse(text)
    blocks = [
        (t.map[0], t.map[1])
        for t in tokens
        if t.level == 0 and t.map and t.nesting in (0, 1) and t.type != "front_matter"
    ]
    for result in results:
        snippet = result.snippet
        if snippet.source == "front_matter":
            continue
        start = snippet.line - 1  # snippet lines are 1-based
        for first, end in blocks:
            if first <= start < end:
                result.after_line = end - 1
                break
