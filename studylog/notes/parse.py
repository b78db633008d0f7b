"""Markdown text → Note: metadata, outline, to-dos and snippets (pure: text in, objects out)."""

from __future__ import annotations

import datetime as dt
import html
import posixpath
import re
import shlex
from typing import TYPE_CHECKING, Any

from studylog.notes.dates import date_from_path, parse_date
from studylog.notes.folders import FolderMeta, folder_meta
from studylog.notes.header import (
    FrontMatterError,
    HeaderBlock,
    front_matter_lectures,
    front_matter_topic,
    load_front_matter,
    read_header_lines,
    read_tags,
)
from studylog.notes.markup import ANY_TAG, DETAILS_TAGS, has_scheme, markdown_parser
from studylog.notes.model import (
    MAX_DETAILS_DEPTH,
    Lecture,
    Note,
    ParseOptions,
    Section,
    Snippet,
    Todo,
)

if TYPE_CHECKING:
    from markdown_it.token import Token

# A header block counts when its blockquote starts this close to the top of the note.
HEADER_MAX_LINE = 40
EXPERIMENTS_PREFIX = "experiments/"
# A front-matter date this many days from the file name's date is likely a typo: warn.
DATE_DRIFT_DAYS = 31
# A note with no heading is titled by its first line when the line is at most this long.
FIRST_LINE_TITLE_MAX = 80
_LIST_MARK = re.compile(r"^(?:[-*+]|\d+[.)])\s+")

_TODO = re.compile(r"^\[(?P<mark>[ xX])\]\s+(?P<text>.*)", re.DOTALL)


def parse_note(
    text: str, path: str, *, day_first: bool = False, options: ParseOptions | None = None
) -> Note:
    """Read `text`, the contents of the note at `path`, into a Note. `options` say where the
    note lies (its notes folder) and how to read it; `day_first` is the short form.

    Never raises on odd content: what cannot be understood becomes a warning on the note."""
    return _NoteBuilder(text, path, options or ParseOptions(day_first=day_first)).build()


def resolve_workspace_path(note_path: str, target: str, base: str = "notes") -> str | None:
    """`target` (a link or a listed path) as a workspace-relative POSIX path, or None when it
    leaves the workspace or is not a local file. `base` is the folder note paths are
    relative to ("" when they are workspace-relative)."""
    target = target.split("#", 1)[0].split("?", 1)[0].strip()
    if not target or has_scheme(target):
        return None  # empty, or a URL (http:, mailto:, ...)
    if target.startswith("/"):
        resolved = posixpath.normpath(target.lstrip("/"))
    else:
        note_dir = posixpath.dirname(posixpath.join(base, note_path) if base else note_path)
        resolved = posixpath.normpath(posixpath.join(note_dir, target))
        if not resolved.startswith(EXPERIMENTS_PREFIX):
            # Blogs often write experiment links from the site root without the slash.
            direct = posixpath.normpath(target)
            if direct.startswith(EXPERIMENTS_PREFIX):
                resolved = direct
    if resolved.startswith("../") or resolved == "..":
        return None
    return resolved


class _NoteBuilder:
    def __init__(self, text: str, path: str, options: ParseOptions) -> None:
        self.text = text
        self.path = path
        self.options = options
        self.day_first = options.day_first
        self.lines = text.split("\n")
        self.warnings: list[str] = []
        self.front: dict[str, Any] = {}
        self.header = HeaderBlock()
        self.outline: list[Section] = []
        self.stack: list[Section] = []
        self.first_h1: str | None = None
        self.todos: list[Todo] = []
        self.snippets: list[Snippet] = []
        self.body_start = 0  # first line after the front matter
        self.list_depth = 0
        self._pending_heading: tuple[int, int] | None = None
        self.details_depth = 0  # <details> sections open on the stack
        self.too_deep = 0  # <details> opened past MAX_DETAILS_DEPTH and not closed yet
        self._warned_depth = False

    def build(self) -> Note:
        tokens = markdown_parser(front_matter=True).parse(self.text)
        for token in tokens:
            self._visit(token)
        note = Note(path=self.path, title="", warnings=self.warnings)
        note.body = "\n".join(self.lines[self.body_start :])
        note.topic = front_matter_topic(self.front) or self.header.topic
        note.lectures = self._lectures()
        note.tags = self._tags() or self.header.tags
        note.date = self._date()
        folders = None
        if self.options.from_folders and not self.front and self.header.empty:
            folders = folder_meta(self.options.inner or self.path)
            note.topic = note.topic or folders.topic
            note.lectures = note.lectures or folders.lectures
        note.title = self._title(note.lectures, folders)
        note.sections = self.outline
        note.todos = self.todos
        note.snippets = self._named(self.snippets)
        return note

    # -- token walk ------------------------------------------------------------------

    def _visit(self, token: Token) -> None:
        kind = token.type
        if kind == "front_matter":
            self._front_matter(token)
        elif kind == "heading_open":
            self._heading(token)
        elif kind == "html_block":
            self._html(token.content, token)
        elif kind == "inline":
            self._inline(token)
        elif kind == "fence":
            self._fence(token)
        elif kind == "blockquote_open" and token.level == 0:
            self._blockquote(token)
        elif kind in ("bullet_list_open", "ordered_list_open"):
            self.list_depth += 1
        elif kind in ("bullet_list_close", "ordered_list_close"):
            self.list_depth -= 1

    def _line(self, token: Token) -> int:
        return token.map[0] + 1 if token.map else 0

    def _front_matter(self, token: Token) -> None:
        self.body_start = token.map[1] if token.map else 0
        try:
            self.front = load_front_matter(token.content)
        except FrontMatterError as exc:
            self.warnings.append(str(exc))
        self._front_matter_snippets()

    def _heading(self, token: Token) -> None:
        self._pending_heading = (int(token.tag[1]), self._line(token))

    def _inline(self, token: Token) -> None:
        pending = self._pending_heading
        if pending is not None:
            self._pending_heading = None
            level, line = pending
            title = _plain(token)
            if level == 1 and self.first_h1 is None and title:
                self.first_h1 = title
            self._add_heading(title, level, line)
        elif self.list_depth and (m := _TODO.match(token.content)):
            text = " ".join(m.group("text").split())
            self.todos.append(Todo(text=text, done=m.group("mark") != " ", line=self._line(token)))
        for child in token.children or ():
            if child.type == "link_open":
                self._link(str(child.attrs.get("href", "")), token)
            elif child.type == "html_inline":
                self._html(child.content, token)

    def _blockquote(self, token: Token) -> None:
        if not token.map or token.map[0] >= self.body_start + HEADER_MAX_LINE:
            return
        start, end = token.map
        read_header_lines(self.lines[start:end], self.header)

    def _fence(self, token: Token) -> None:
        words = token.info.split(None, 1)
        if not words or words[0].lower() not in ("python", "py", "python3"):
            return
        rest = words[1] if len(words) > 1 else ""
        try:
            parts = shlex.split(rest)
        except ValueError:
            parts = rest.split()
        if "run" not in parts:
            return
        attrs = dict(p.split("=", 1) for p in parts if "=" in p)
        self.snippets.append(
            Snippet(
                name=attrs.get("name", ""),
                source="fence",
                line=self._line(token),
                code=token.content,
                attrs=attrs,
            )
        )

    def _link(self, href: str, token: Token) -> None:
        target = resolve_workspace_path(self.path, href, self.options.base)
        if (
            target is None
            or not target.startswith(EXPERIMENTS_PREFIX)
            or not target.endswith(".py")
        ):
            return
        # The same file listed in the front matter with arguments is another snippet.
        if any(s.path == target and not s.attrs.get("args") for s in self.snippets):
            return
        self.snippets.append(Snippet(name="", source="link", line=self._line(token), path=target))

    # -- outline ---------------------------------------------------------------------

    def _attach(self, section: Section) -> None:
        (self.stack[-1].children if self.stack else self.outline).append(section)
        self.stack.append(section)

    def _add_heading(self, title: str, level: int, line: int) -> None:
        while self.stack and self.stack[-1].kind == "heading" and self.stack[-1].level >= level:
            self.stack.pop()
        self._attach(Section(title=title or "(untitled)", kind="heading", level=level, line=line))

    def _html(self, content: str, token: Token) -> None:
        for m in DETAILS_TAGS.finditer(content):
            tag = m.group(0)
            line = self._line(token) + content.count("\n", 0, m.start())
            if tag.lower().startswith("<details"):
                if self.details_depth >= MAX_DETAILS_DEPTH:
                    if not self._warned_depth:
                        self._warned_depth = True
                        self.warnings.append(
                            f"<details> sections nest deeper than {MAX_DETAILS_DEPTH} levels "
                            f"(line {line}); the deeper ones are shown flat in their container"
                        )
                    self.too_deep += 1
                    continue
                is_open = re.search(r"\bopen\b", m.group("attrs") or "", re.IGNORECASE)
                self._attach(
                    Section(title="", kind="details", level=0, line=line, open=bool(is_open))
                )
                self.details_depth += 1
            elif tag.startswith("</"):
                if self.too_deep:
                    self.too_deep -= 1
                    continue
                while self.stack:
                    if self.stack.pop().kind == "details":
                        self.details_depth -= 1
                        break
            elif not self.too_deep:  # a summary of a section kept in the outline
                summary = " ".join(html.unescape(ANY_TAG.sub("", m.group("summary"))).split())
                for section in reversed(self.stack):
                    if section.kind == "details":
                        if not section.title:
                            section.title = summary
                        break

    # -- metadata ---------------------------------------------------------------------

    def _lectures(self) -> list[Lecture]:
        for key in ("lectures", "lecture"):
            if key in self.front:
                return front_matter_lectures(self.front[key])
        return self.header.lectures

    def _tags(self) -> list[str]:
        for key in ("tags", "tag"):
            if key in self.front:
                tags, dropped = read_tags(self.front[key])
                if dropped:
                    self.warnings.append(
                        f"front matter `{key}` holds {', '.join(dropped)}, which is not a tag; "
                        "dropped (write tags as words or a list of words)"
                    )
                return tags
        return []

    def _date(self) -> dt.date | None:
        in_path = date_from_path(self.path)
        for label, value in (
            ("front matter", self.front.get("date")),
            ("header", self.header.date),
        ):
            if value is None or value == "":
                continue
            parsed = parse_date(value, day_first=self.day_first)
            if parsed is not None:
                if in_path is not None and abs((parsed - in_path).days) > DATE_DRIFT_DAYS:
                    # The blog shows the front matter's date; a typo in either is likely.
                    self.warnings.append(
                        f"{label} date {parsed.isoformat()} is {abs((parsed - in_path).days)} "
                        f"days from the file name's date {in_path.isoformat()}; the note is "
                        f"filed under {parsed.isoformat()} (fix whichever is the typo)"
                    )
                return parsed
            self.warnings.append(f"{label} date {str(value)!r} is not a date this reads; ignored")
        return in_path

    def _first_line_title(self) -> str | None:
        """The note's first line of text, when it reads as a title (short, plain words)."""
        for raw in self.lines[self.body_start :]:
            line = raw.strip()
            if not line:
                continue
            if line.startswith(("```", "~~~", "<", "|", "!", ">", "{", "$", "---", "===")):
                return None
            line = _LIST_MARK.sub("", line).strip("*_` ").strip()
            plausible = 2 <= len(line) <= FIRST_LINE_TITLE_MAX and any(c.isalnum() for c in line)
            sentence = line.endswith((".", ",", ";", ":")) and not line.endswith("...")
            return line if plausible and not sentence else None
        return None

    def _title(self, lectures: list[Lecture], folders: FolderMeta | None = None) -> str:
        fm_title = self.front.get("title")
        if fm_title is not None and str(fm_title).strip():
            return str(fm_title).strip()
        if self.header.title:
            return self.header.title
        if self.first_h1:
            return self.first_h1
        if not any(s.kind == "heading" for s in self.outline) and (
            line := self._first_line_title()
        ):
            return line
        if folders is not None and (folders.topic or folders.lectures):
            return folders.name
        named = [lec.title for lec in lectures if lec.title]
        if named:
            return " · ".join(named)
        stem = posixpath.splitext(posixpath.basename(self.path))[0]
        return stem

    # -- snippets ---------------------------------------------------------------------

    def _front_matter_snippets(self) -> None:
        listed = self.front.get("snippets")
        if listed is None:
            return
        if not isinstance(listed, list):
            self.warnings.append("front matter `snippets` should be a list; ignored")
            return
        for item in listed:
            entry = item if isinstance(item, dict) else {"path": item}
            raw = entry.get("path")
            target = resolve_workspace_path(self.path, str(raw), self.options.base) if raw else None
            if target is None or not target.endswith(".py"):
                self.warnings.append(
                    f"front matter snippet {raw!r} is not a .py file inside the workspace; ignored"
                )
                continue
            attrs = {k: str(v) for k, v in entry.items() if k != "path"}
            if any(
                s.path == target and s.attrs.get("args") == attrs.get("args") for s in self.snippets
            ):
                continue
            self.snippets.append(
                Snippet(
                    name=attrs.get("name", ""),
                    source="front_matter",
                    line=1,
                    path=target,
                    attrs=attrs,
                )
            )

    def _named(self, snippets: list[Snippet]) -> list[Snippet]:
        seen: set[str] = set()
        for position, snippet in enumerate(snippets, start=1):
            name = (
                snippet.name
                or (posixpath.splitext(posixpath.basename(snippet.path))[0] if snippet.path else "")
                or f"snippet-{position}"
            )
            if name in seen:
                unique = next(
                    f"{name}-{n}" for n in range(2, len(snippets) + 2) if f"{name}-{n}" not in seen
                )
                self.warnings.append(
                    f"snippet name {name!r} is used twice; the second is {unique!r}"
                )
                name = unique
            seen.add(name)
            snippet.name = name
        return snippets


def _plain(token: Token) -> str:
    """The visible text of an inline token (no markup)."""
    if not token.children:
        return " ".join(token.content.split())
    parts = []
    for child in token.children:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return " ".join("".join(parts).split())
