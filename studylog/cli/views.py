"""Rich renderings of notes for the command line: trees by topic and date, a note, search hits."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from studylog import grouping
from studylog.grouping import by_date, by_topic
from studylog.labels import UNDATED
from studylog.notes.model import Section
from studylog.safe_text import visible, visible_spans
from studylog.store.queries import NoteDetail, NoteSummary
from studylog.store.search import Hit

if TYPE_CHECKING:
    from studylog.runner.snippets import SnippetState


# How a message names the note at a note path: Workspace.label (`_posts/x.md` in a Jekyll
# site, `notes/x.md` in the classic layout).
Label = Callable[[str], str]


def classic_label(path: str) -> str:
    """The classic layout's name for a note: `notes/` and its path."""
    return f"notes/{path}"


def safe(text: str, style: str = "") -> Text:
    """Note or run text as Rich text: never read as markup, its control characters visible
    (safe_text.visible), so a title cannot crash the output nor command the terminal."""
    return Text(visible(text), style=style)


def _note_label(note: NoteSummary, *, with_date: bool = True, label: Label) -> Text:
    text = Text()
    if with_date:
        text.append(f"{visible(note.date or '—'):<10} ", style="cyan")
    text.append(visible(note.title), style="bold" if note.readable else "red")
    text.append(f"  {visible(label(note.path))}", style="dim")
    if note.snippet_count:
        text.append(f"  ▶ {note.snippet_count}", style="green")
    if note.todo_count:
        text.append(f"  ☐ {note.todos_done}/{note.todo_count}", style="magenta")
    return text


def _add_note(tree: Tree, note: NoteSummary, *, with_date: bool, label: Label) -> None:
    text = _note_label(note, with_date=with_date, label=label)
    if note.warnings:
        text = Text.assemble(Text("⚠ ", style="bold yellow"), text)
    branch = tree.add(text)
    for warning in note.warnings:
        branch.add(safe(warning, "yellow"))


# Styles of group labels, by kind of group.
_GROUP_STYLES = {
    "topic": "bold blue",
    "year": "bold blue",
    "undated": "bold blue",
    "lecture": "blue",
    "month": "blue",
}


def _add_groups(tree: Tree, group: grouping.Group, *, with_date: bool, label: Label) -> None:
    for sub in group.groups:
        if sub.kind == "day":  # a day is its date: no count
            branch = tree.add(safe(sub.label, "cyan"))
        else:
            branch = tree.add(
                Text.assemble(
                    (visible(sub.label), _GROUP_STYLES[sub.kind]), (f"  ({sub.count()})", "dim")
                )
            )
        _add_groups(branch, sub, with_date=with_date, label=label)
    for note in group.notes:
        _add_note(tree, note, with_date=with_date, label=label)


def topic_tree(notes: Iterable[NoteSummary], label: Label = classic_label) -> Tree:
    """topic → lecture → note (grouping.by_topic), as a Rich tree."""
    root = Tree(Text("Notes by topic", style="bold"), guide_style="dim")
    _add_groups(root, by_topic(notes), with_date=True, label=label)
    return root


def date_tree(notes: Iterable[NoteSummary], label: Label = classic_label) -> Tree:
    """year → month → day → note, "Undated" last (grouping.by_date), as a Rich tree."""
    root = Tree(Text("Notes by date", style="bold"), guide_style="dim")
    _add_groups(root, by_date(notes), with_date=False, label=label)
    return root


def _outline(tree: Tree, sections: list[Section]) -> None:
    for section in sections:
        if section.kind == "details":
            label = Text.assemble(
                ("▸ " if not section.open else "▾ ", "magenta"),
                visible(section.title or "details"),
            )
        else:
            label = Text.assemble(
                ("#" * section.level + " ", "dim"), (visible(section.title), "bold")
            )
        label.append(f"  :{section.line}", style="dim")
        _outline(tree.add(label), section.children)


def note_view(
    detail: NoteDetail,
    states: list[SnippetState] | None = None,
    label: Label = classic_label,
) -> RenderableType:
    """A note's metadata, outline, to-dos and snippets (with their latest runs, when given)."""
    s = detail.summary
    meta = Table.grid(padding=(0, 2))
    meta.add_column(style="bold cyan")
    meta.add_column()
    meta.add_row("path", safe(label(s.path)))
    meta.add_row("date", safe(s.date or UNDATED))
    meta.add_row("topic", safe(s.topic or "—"))
    if s.lectures:
        meta.add_row("lectures", safe("\n".join(lec.label() for lec in s.lectures)))
    if s.tags:
        meta.add_row("tags", safe(", ".join(s.tags)))
    parts: list[RenderableType] = [Panel(meta, title=safe(s.title, "bold"), title_align="left")]
    for warning in s.warnings:
        parts.append(safe(f"⚠ {warning}", "yellow"))
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
                    ("☑ " if todo.done else "☐ ", "magenta"),
                    visible(todo.text),
                    (f"  :{todo.line}", "dim"),
                )
            )
        parts.append(todos)
    if states:
        from studylog.cli.run_views import snippet_table

        parts.append(Text("Snippets", style="bold"))
        parts.append(snippet_table(states))
    elif detail.snippets:
        table = Table(title="Snippets", title_justify="left", title_style="bold", show_edge=False)
        for column in ("name", "source", "where"):
            table.add_column(column)
        for snip in detail.snippets:
            where = snip.path or f"line {snip.line}"
            table.add_row(safe(snip.name, "green"), safe(snip.source), safe(where))
        parts.append(table)
    return Group(*parts)


def hits_view(hits: list[Hit], query: str, label: Label = classic_label) -> RenderableType:
    if not hits:
        return safe(f"No notes match {query!r}.", "yellow")
    table = Table(show_header=True, show_edge=False, expand=False)
    table.add_column("#", justify="right", style="dim")
    table.add_column("note", overflow="fold")  # a path cut short cannot be typed back
    table.add_column("excerpt", overflow="fold")
    for rank, hit in enumerate(hits, start=1):
        shown, highlights = visible_spans(hit.excerpt, hit.highlights)
        excerpt = Text(shown)
        for start, end in highlights:
            excerpt.stylize("bold black on yellow", start, end)
        note = Text.assemble((visible(hit.title), "bold"), "\n", (visible(label(hit.path)), "dim"))
        table.add_row(str(rank), note, excerpt)
    return table
