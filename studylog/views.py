"""Rich renderings of notes for the command line: trees by topic and date, a note, search hits."""

from __future__ import annotations

import calendar
import re
from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from studylog.notes.model import Lecture, Section
from studylog.store.queries import NoteDetail, NoteSummary
from studylog.store.search import Hit

if TYPE_CHECKING:
    from studylog.runner.snippets import SnippetState

NO_TOPIC = "No topic"
NO_LECTURE = "Other notes"
UNDATED = "Undated"


def _note_label(note: NoteSummary, *, with_date: bool = True) -> Text:
    text = Text()
    if with_date:
        text.append(f"{note.date or '—':<10} ", style="cyan")
    text.append(note.title, style="bold" if note.readable else "red")
    text.append(f"  notes/{note.path}", style="dim")
    if note.snippet_count:
        text.append(f"  ▶ {note.snippet_count}", style="green")
    if note.todo_count:
        text.append(f"  ☐ {note.todos_done}/{note.todo_count}", style="magenta")
    return text


def _add_note(tree: Tree, note: NoteSummary, *, with_date: bool = True) -> None:
    label = _note_label(note, with_date=with_date)
    if note.warnings:
        label = Text.assemble(Text("⚠ ", style="bold yellow"), label)
    branch = tree.add(label)
    for warning in note.warnings:
        branch.add(Text(warning, style="yellow"))


def _lecture_key(lecture: Lecture) -> tuple[int, float, str]:
    number = lecture.number or ""
    match = re.match(r"\d+(?:\.\d+)?", number)
    return (0 if match else 1, float(match.group()) if match else 0.0, number)


def _lecture_label(lecture: Lecture) -> str:
    if lecture.number and lecture.title:
        return f"Lecture {lecture.number} · {lecture.title}"
    if lecture.number:
        return f"Lecture {lecture.number}"
    return lecture.title or NO_LECTURE


def topic_tree(notes: Iterable[NoteSummary]) -> Tree:
    """topic → lecture → note; a note covering two lectures appears under both.

    Topics group case-insensitively (Pytorch, PyTorch); a lecture is one group per number,
    titled by whichever note names it."""
    topic_names: dict[str, str] = {}
    groups: dict[str, dict[tuple[int, float, str], list[NoteSummary]]] = defaultdict(
        lambda: defaultdict(list)
    )
    titles: dict[tuple[str, tuple[int, float, str]], str] = {}
    for note in notes:
        topic = topic_names.setdefault((note.topic or NO_TOPIC).casefold(), note.topic or NO_TOPIC)
        for lecture in note.lectures or [Lecture(None, None)]:
            if lecture.number:
                key = _lecture_key(lecture)
            elif lecture.title:
                key = (1, 0.0, lecture.title)
            else:
                key = (2, 0.0, "")
            groups[topic][key].append(note)
            # Label the group with a titled lecture when any note gives the title.
            current = titles.get((topic, key))
            if current is None or (
                lecture.title and current == _lecture_label(Lecture(lecture.number))
            ):
                titles[(topic, key)] = _lecture_label(lecture)
    root = Tree(Text("Notes by topic", style="bold"), guide_style="dim")
    for topic in sorted(groups, key=lambda t: (t == NO_TOPIC, t.casefold())):
        lectures = groups[topic]
        count = len({n.path for group in lectures.values() for n in group})
        branch = root.add(Text.assemble((topic, "bold blue"), (f"  ({count})", "dim")))
        for key in sorted(lectures):
            group = lectures[key]
            target = branch
            if key[0] != 2:
                label = titles[(topic, key)]
                target = branch.add(Text.assemble((label, "blue"), (f"  ({len(group)})", "dim")))
            for note in group:
                _add_note(target, note)
    return root


def date_tree(notes: Iterable[NoteSummary]) -> Tree:
    """year → month → day → note, "Undated" last."""
    dated: dict[str, dict[str, dict[str, list[NoteSummary]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(list))
    )
    undated: list[NoteSummary] = []
    for note in notes:
        if note.date:
            year, month, day = note.date.split("-")
            dated[year][month][day].append(note)
        else:
            undated.append(note)
    root = Tree(Text("Notes by date", style="bold"), guide_style="dim")
    for year in sorted(dated):
        months = dated[year]
        year_count = sum(len(n) for days in months.values() for n in days.values())
        year_branch = root.add(Text.assemble((year, "bold blue"), (f"  ({year_count})", "dim")))
        for month in sorted(months):
            days = months[month]
            name = calendar.month_name[int(month)]
            month_count = sum(len(n) for n in days.values())
            month_branch = year_branch.add(
                Text.assemble((f"{month} {name}", "blue"), (f"  ({month_count})", "dim"))
            )
            for day in sorted(days):
                day_branch = month_branch.add(Text(f"{year}-{month}-{day}", style="cyan"))
                for note in days[day]:
                    _add_note(day_branch, note, with_date=False)
    if undated:
        branch = root.add(Text.assemble((UNDATED, "bold blue"), (f"  ({len(undated)})", "dim")))
        for note in undated:
            _add_note(branch, note, with_date=False)
    return root


def _outline(tree: Tree, sections: list[Section]) -> None:
    for section in sections:
        if section.kind == "details":
            label = Text.assemble(
                ("▸ " if not section.open else "▾ ", "magenta"), section.title or "details"
            )
        else:
            label = Text.assemble(("#" * section.level + " ", "dim"), (section.title, "bold"))
        label.append(f"  :{section.line}", style="dim")
        _outline(tree.add(label), section.children)


def note_view(detail: NoteDetail, states: list[SnippetState] | None = None) -> RenderableType:
    """A note's metadata, outline, to-dos and snippets (with their latest runs, when given)."""
    s = detail.summary
    meta = Table.grid(padding=(0, 2))
    meta.add_column(style="bold cyan")
    meta.add_column()
    meta.add_row("path", f"notes/{s.path}")
    meta.add_row("date", s.date or UNDATED)
    meta.add_row("topic", s.topic or "—")
    if s.lectures:
        meta.add_row("lectures", "\n".join(_lecture_label(lec) for lec in s.lectures))
    if s.tags:
        meta.add_row("tags", ", ".join(s.tags))
    parts: list[RenderableType] = [
        Panel(meta, title=Text(s.title, style="bold"), title_align="left")
    ]
    for warning in s.warnings:
        parts.append(Text(f"⚠ {warning}", style="yellow"))
    if detail.sections:
        outline = Tree(Text("Outline", style="bold"), guide_style="dim")
        _outline(outline, detail.sections)
        parts.append(outline)
    if detail.todos:
        todos = Tree(
            Text(
                f"To-dos ({sum(t.done for t in detail.todos)}/{len(detail.todos)} done)",
                style="bold",
            )
        )
        for todo in detail.todos:
            todos.add(
                Text.assemble(
                    ("☑ " if todo.done else "☐ ", "magenta"), todo.text, (f"  :{todo.line}", "dim")
                )
            )
        parts.append(todos)
    if states:
        from studylog.run_views import snippet_table

        parts.append(Text("Snippets", style="bold"))
        parts.append(snippet_table(states))
    elif detail.snippets:
        table = Table(title="Snippets", title_justify="left", title_style="bold", show_edge=False)
        for column in ("name", "source", "where"):
            table.add_column(column)
        for snip in detail.snippets:
            where = snip.path or f"line {snip.line}"
            table.add_row(Text(snip.name, style="green"), snip.source, where)
        parts.append(table)
    return Group(*parts)


def hits_view(hits: list[Hit], query: str) -> RenderableType:
    if not hits:
        return Text(f"No notes match {query!r}.", style="yellow")
    table = Table(show_header=True, show_edge=False, expand=False)
    table.add_column("#", justify="right", style="dim")
    table.add_column("note", overflow="fold")  # a path cut short cannot be typed back
    table.add_column("excerpt", overflow="fold")
    for rank, hit in enumerate(hits, start=1):
        excerpt = Text(hit.excerpt)
        for start, end in hit.highlights:
            excerpt.stylize("bold black on yellow", start, end)
        note = Text.assemble((hit.title, "bold"), "\n", (f"notes/{hit.path}", "dim"))
        table.add_row(str(rank), note, excerpt)
    return table
