"""The sidebar tree of notes, by topic (topic → lecture → note) or by date (year → month →
day → note). Groups fill in when first expanded, so 10,000 notes cost nothing up front."""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from rich.text import Text
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from studylog.store.queries import NoteSummary

NO_TOPIC = "No topic"
NO_LECTURE = "Other notes"
UNDATED = "Undated"


@dataclass
class Group:
    """A group node's contents: sub-groups in order, or notes."""

    label: str
    groups: dict[str, Group] = field(default_factory=dict)
    notes: list[NoteSummary] = field(default_factory=list)

    def count(self) -> int:
        return len(self.notes) + sum(g.count() for g in self.groups.values())


def _lecture_label(number: str | None, title: str | None) -> str:
    if number and title:
        return f"Lecture {number} · {title}"
    if number:
        return f"Lecture {number}"
    return title or NO_LECTURE


def by_topic(notes: Iterable[NoteSummary]) -> Group:
    """Topic → lecture → note; a note of two lectures sits under both. Topics that differ
    only in case are one topic."""
    root = Group("Notes by topic")
    names: dict[str, str] = {}
    for note in notes:
        topic = (note.topic or "").strip()
        key = topic.casefold() or "\0"
        names.setdefault(key, topic or NO_TOPIC)
        topic_group = root.groups.setdefault(key, Group(names[key]))
        labels = [_lecture_label(lec.number, lec.title) for lec in note.lectures] or [NO_LECTURE]
        for label in labels:
            topic_group.groups.setdefault(label, Group(label)).notes.append(note)
    root.groups = dict(
        sorted(root.groups.items(), key=lambda kv: (kv[0] == "\0", kv[1].label.casefold()))
    )
    for topic_group in root.groups.values():
        topic_group.groups = dict(
            sorted(topic_group.groups.items(), key=lambda kv: _lecture_order(kv[1]))
        )
    return root


def _lecture_order(group: Group) -> tuple[int, float, str]:
    label = group.label
    if label == NO_LECTURE:
        return (1, 0, label)
    number = label.removeprefix("Lecture ").split(" ", 1)[0]
    try:
        return (0, float(number), label)
    except ValueError:
        return (0, float("inf"), label)


def by_date(notes: Iterable[NoteSummary]) -> Group:
    """Year → month → day → note, newest first; undated notes last."""
    root = Group("Notes by date")
    undated: list[NoteSummary] = []
    days: dict[str, dict[str, dict[str, list[NoteSummary]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(list))
    )
    for note in notes:
        if note.date is None:
            undated.append(note)
        else:
            year, month, day = note.date.split("-")
            days[year][month][day].append(note)
    for year in sorted(days, reverse=True):
        year_group = root.groups.setdefault(year, Group(year))
        for month in sorted(days[year], reverse=True):
            name = f"{calendar.month_name[int(month)]} {year}"
            month_group = year_group.groups.setdefault(month, Group(name))
            for day in sorted(days[year][month], reverse=True):
                label = f"{year}-{month}-{day}"
                month_group.groups[day] = Group(label, notes=days[year][month][day])
    if undated:
        root.groups["undated"] = Group(UNDATED, notes=undated)
    return root


class NoteTree(Tree[object]):
    """Notes grouped by topic or date; posts NoteTree.Chosen when a note is selected."""

    class Chosen(Message):
        def __init__(self, path: str) -> None:
            super().__init__()
            self.path = path

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("Notes", id=id)
        self.show_root = False
        self.guide_depth = 3
        self.mode = "topic"
        self._notes: list[NoteSummary] = []

    def load(self, notes: list[NoteSummary], mode: str | None = None) -> None:
        """Show `notes` (and switch mode); the selected note stays selected if it is there."""
        self._notes = notes
        if mode is not None:
            self.mode = mode
        selected = self.cursor_node.data if self.cursor_node is not None else None
        self.clear()
        root = by_topic(notes) if self.mode == "topic" else by_date(notes)
        self.border_title = f"{root.label} ({len(notes)})"
        self._add_groups(self.root, root)
        # Open the first level, so a small workspace shows its notes at once.
        for child in self.root.children:
            child.expand()
        if isinstance(selected, NoteSummary):
            self.select_path(selected.path)

    def _add_groups(self, node: TreeNode[object], group: Group) -> None:
        for sub in group.groups.values():
            label = Text.assemble(sub.label, (f"  {sub.count()}", "dim"))
            node.add(label, data=sub, allow_expand=True)
        for note in group.notes:
            node.add_leaf(_note_label(note, with_date=self.mode == "topic"), data=note)

    def _on_tree_node_expanded(self, event: Tree.NodeExpanded[object]) -> None:
        node = event.node
        if isinstance(node.data, Group) and not node.children:
            self._add_groups(node, node.data)

    def _on_tree_node_selected(self, event: Tree.NodeSelected[object]) -> None:
        if isinstance(event.node.data, NoteSummary):
            event.stop()
            self.post_message(self.Chosen(event.node.data.path))

    def select_path(self, path: str) -> None:
        """Expand the way to the note at `path` and put the cursor on it."""

        def find(node: TreeNode[object]) -> TreeNode[object] | None:
            for child in node.children:
                if isinstance(child.data, NoteSummary) and child.data.path == path:
                    return child
                if isinstance(child.data, Group) and _contains(child.data, path):
                    child.expand()
                    if not child.children:
                        self._add_groups(child, child.data)
                    return find(child)
            return None

        found = find(self.root)
        if found is not None:  # after the expanded groups have their lines
            self.call_after_refresh(self.move_cursor, found, animate=False)


def _contains(group: Group, path: str) -> bool:
    return any(n.path == path for n in group.notes) or any(
        _contains(g, path) for g in group.groups.values()
    )


def _note_label(note: NoteSummary, *, with_date: bool) -> Text:
    text = Text()
    if note.warnings or not note.readable:
        text.append("⚠ ", style="bold yellow")
    if with_date and note.date:
        text.append(f"{note.date[5:]} ", style="dim")
    text.append(note.title, style="" if note.readable else "red")
    if note.snippet_count:
        text.append(f" ▶{note.snippet_count}", style="green")
    return text
