"""The sidebar tree of notes, grouped as the CLI groups them (grouping.py): by topic or by
date. Groups fill in when first expanded, so 10,000 notes cost nothing up front."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from studylog.grouping import Group, by_date, by_topic
from studylog.safe_text import visible
from studylog.store.queries import NoteSummary

OPEN_FIRST_LEVEL_UP_TO = 500


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
        # Open the first level, so a small workspace shows its notes at once (a large one
        # stays folded: thousands of leaves would cost the start, benchmarks/bench_tui.py).
        if len(notes) <= OPEN_FIRST_LEVEL_UP_TO:
            for child in self.root.children:
                child.expand()
        if isinstance(selected, NoteSummary):
            self.select_path(selected.path)

    def _add_groups(self, node: TreeNode[object], group: Group) -> None:
        for sub in group.groups:
            label = Text.assemble(visible(sub.label), (f"  {sub.count()}", "dim"))
            node.add(label, data=sub, allow_expand=True)
        for note in group.notes:
            node.add_leaf(_note_label(note, with_date=self.mode == "topic"), data=note)

    def render_label(self, node: TreeNode[object], base_style: Style, style: Style) -> Text:
        """A note's title is cut to the tree's width before its marks."""
        if not isinstance(node.data, NoteSummary):
            return super().render_label(node, base_style, style)
        # The guides take guide_depth cells a level (the root is hidden); the scrollbar 1-2.
        width = self.scrollable_content_region.width - 1
        depth, parent = 0, node.parent
        while parent is not None:
            depth, parent = depth + 1, parent.parent
        room = width - max(depth - 1, 0) * self.guide_depth - 1
        label = _note_label(node.data, with_date=self.mode == "topic", width=max(room, 8))
        label.stylize(style)
        return label

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
    return path in group.paths()


# A note's snippets: not the ▶ of a folded group.
SNIPPET_MARK = "◆"


def _note_label(note: NoteSummary, *, with_date: bool, width: int | None = None) -> Text:
    """The note's line: marks, date, title and the snippet mark; with `width`, the title is
    cut to fit, never the marks."""
    head = Text()
    if note.warnings or not note.readable:
        head.append("⚠ ", style="bold yellow")
    if with_date and note.date:
        head.append(f"{visible(note.date[5:])} ", style="dim")
    tail = Text()
    if note.snippet_count:
        tail.append(f" {SNIPPET_MARK}{note.snippet_count}", style="green")
    title = Text(visible(note.title), style="" if note.readable else "red")
    if width is not None:
        room = max(width - head.cell_len - tail.cell_len, 1)
        if title.cell_len > room:
            title.truncate(room, overflow="ellipsis")
    return Text.assemble(head, title, tail)
