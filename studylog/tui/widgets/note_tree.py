"""The sidebar tree of notes, grouped as the CLI groups them (grouping.py): by topic or by
date. Groups fill in when first expanded, so 10,000 notes cost nothing up front. Each note
and group shows how many review cards are due (?N), counted in a worker thread."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from rich.style import Style
from rich.text import Text
from textual import work
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode
from textual.worker import Worker, WorkerState

from studylog.grouping import Group, by_date, by_topic
from studylog.safe_text import visible
from studylog.store.queries import NoteSummary

if TYPE_CHECKING:
    from studylog.tui.app import StudylogApp

OPEN_FIRST_LEVEL_UP_TO = 500
# What a click on the expand arrow carries (as the Tree itself draws it).
TOGGLE_STYLE = Style.from_meta({"toggle": True})


class NoteTree(Tree[object]):
    """Notes grouped by topic or date; posts NoteTree.Chosen when a note is selected."""

    class Chosen(Message):
        def __init__(self, path: str) -> None:
            super().__init__()
            self.path = path

    class DueCounted(Message):
        """Each note's due review cards (note id → count), counted in a worker."""

        def __init__(self, counts: dict[int, int]) -> None:
            super().__init__()
            self.counts = counts

    app: StudylogApp

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("Notes", id=id)
        self.show_root = False
        self.guide_depth = 3
        self.mode = "topic"
        self._notes: list[NoteSummary] = []
        self._due: dict[int, int] = {}  # note id → cards due (notes with none are absent)
        self._due_error: str | None = None  # the last failure told, told once
        self._pending: str | None = None  # a note to select once a load brings it

    def load(self, notes: list[NoteSummary], mode: str | None = None) -> None:
        """Show `notes` (and switch mode). The groups the user opened stay open, those
        closed stay closed; the selected note stays selected if it is there, unless a note
        asked for by `select_path` before it was listed has come."""
        self._notes = notes
        known: set[tuple[str, ...]] = set()
        opened: set[tuple[str, ...]] = set()
        if mode is not None and mode != self.mode:
            self.mode = mode  # other groups: each opened as it comes
        else:
            known, opened = self._group_keys(self.root)
        selected = self.cursor_node.data if self.cursor_node is not None else None
        wanted = selected.path if isinstance(selected, NoteSummary) else None
        if self._pending is not None and any(n.path == self._pending for n in notes):
            wanted, self._pending = self._pending, None
        self.clear()
        root = by_topic(notes) if self.mode == "topic" else by_date(notes)
        self.border_title = f"{root.label} ({len(notes)})"
        self._add_groups(self.root, root)
        # Open the first level, so a small workspace shows its notes at once (a large one
        # stays folded: thousands of leaves would cost the start, benchmarks/bench_tui.py).
        small = len(notes) <= OPEN_FIRST_LEVEL_UP_TO
        for child in self.root.children:
            key = _group_key((), child.data)
            if (key in opened) if key in known else small:
                child.expand()
        self._reopen(self.root, (), opened)
        if wanted is not None:
            self.select_path(wanted)

    def _group_keys(
        self, node: TreeNode[object], parents: tuple[str, ...] = ()
    ) -> tuple[set[tuple[str, ...]], set[tuple[str, ...]]]:
        """The groups shown under `node` and those of them that are open, each by the
        labels of the way to it (a group's node is new on each load; its way is not)."""
        known: set[tuple[str, ...]] = set()
        opened: set[tuple[str, ...]] = set()
        for child in node.children:
            if isinstance(child.data, Group):
                key = _group_key(parents, child.data)
                known.add(key)
                if child.is_expanded:
                    opened.add(key)
                    more_known, more_opened = self._group_keys(child, key)
                    known |= more_known
                    opened |= more_opened
        return known, opened

    def _reopen(
        self, node: TreeNode[object], parents: tuple[str, ...], opened: set[tuple[str, ...]]
    ) -> None:
        """Open again the groups under `node` that were open before a load."""
        for child in node.children:
            if not isinstance(child.data, Group):
                continue
            key = _group_key(parents, child.data)
            if key not in opened:
                continue
            if parents:  # the first level was opened (or not) by load
                child.expand()
            if not child.children:
                self._add_groups(child, child.data)
            self._reopen(child, key, opened)

    def _add_groups(self, node: TreeNode[object], group: Group) -> None:
        for sub in group.groups:
            node.add(self._group_label(sub), data=sub, allow_expand=True)
        for note in group.notes:
            label = _note_label(note, with_date=self.mode == "topic", due=self._due.get(note.id))
            node.add_leaf(label, data=note)

    def _group_label(self, group: Group, width: int | None = None) -> Text:
        """The group's name, its count and its due mark; with `width`, the name is cut to
        fit, never the count or the mark."""
        tail = Text(f"  {group.count()}", style="dim")
        due = self._group_due(group)
        if due:
            tail.append(f" {DUE_MARK}{due}", style=DUE_STYLE)
        name = Text(visible(group.label))
        if width is not None:
            room = max(width - tail.cell_len, 1)
            if name.cell_len > room:
                name.truncate(room, overflow="ellipsis")
        return Text.assemble(name, tail)

    def _group_due(self, group: Group) -> int:
        """The group's due cards: its notes', each note once."""
        if not self._due:
            return 0
        return sum(self._due.get(note.id, 0) for note in _unique_notes(group))

    # -- due counts ----------------------------------------------------------------------

    def refresh_due(self) -> None:
        """Count the due cards again (cards in step with the index first), off the loop;
        the tree redraws its marks when DueCounted arrives."""
        self._count_due()

    @work(thread=True, group="due", exclusive=True, exit_on_error=False)
    def _count_due(self) -> None:
        from studylog.store.review import count_due

        self.post_message(self.DueCounted(count_due(self.app.workspace)))

    def on_note_tree_due_counted(self, message: DueCounted) -> None:
        message.stop()
        self._due_error = None
        if message.counts == self._due:
            return
        self._due = message.counts
        self._relabel(self.root)

    def _relabel(self, node: TreeNode[object]) -> None:
        """New marks on the nodes there are (groups not yet opened get theirs on opening)."""
        for child in node.children:
            if isinstance(child.data, Group):
                child.set_label(self._group_label(child.data))
                self._relabel(child)
            elif isinstance(child.data, NoteSummary):
                note = child.data
                child.set_label(
                    _note_label(note, with_date=self.mode == "topic", due=self._due.get(note.id))
                )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "due" or event.state != WorkerState.ERROR:
            return
        event.stop()
        error = event.worker.error
        if str(error) != self._due_error:  # a lasting failure is told once, not each pass
            self._due_error = str(error)
            self.app.report_error(error)

    @property
    def due_counts(self) -> dict[int, int]:
        """Each note's due cards as last counted (note id → count)."""
        return dict(self._due)

    def render_label(self, node: TreeNode[object], base_style: Style, style: Style) -> Text:
        """A note's title, or a group's name, is cut to the tree's width before its count
        and marks."""
        if not isinstance(node.data, NoteSummary | Group):
            return super().render_label(node, base_style, style)
        # The guides take guide_depth cells a level (the root is hidden); the scrollbar 1-2.
        width = self.scrollable_content_region.width - 1
        depth, parent = 0, node.parent
        while parent is not None:
            depth, parent = depth + 1, parent.parent
        room = width - max(depth - 1, 0) * self.guide_depth - 1
        if isinstance(node.data, Group):
            icon = self.ICON_NODE_EXPANDED if node.is_expanded else self.ICON_NODE
            label = self._group_label(node.data, width=max(room - len(icon), 8))
            label.stylize(style)
            return Text.assemble((icon, base_style + TOGGLE_STYLE), label)
        label = _note_label(
            node.data,
            with_date=self.mode == "topic",
            width=max(room, 8),
            due=self._due.get(node.data.id),
        )
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
        """Expand the way to the note at `path` and put the cursor on it (once a load lists
        it, if it is not listed yet)."""

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
            self._pending = None
            self.call_after_refresh(self.move_cursor, found, animate=False)
        else:  # not listed yet (a note just made): selected when a load brings it
            self._pending = path


def _group_key(parents: tuple[str, ...], group: object) -> tuple[str, ...]:
    return (*parents, group.label) if isinstance(group, Group) else parents


def _contains(group: Group, path: str) -> bool:
    return path in group.paths()


def _unique_notes(group: Group) -> Iterable[NoteSummary]:
    """The notes under a group, each once (a note of two lectures counts once)."""
    found = {note.path: note for note in group.notes}
    for sub in group.groups:
        found.update({note.path: note for note in _unique_notes(sub)})
    return found.values()


# A note's snippets: not the ▶ of a folded group.
SNIPPET_MARK = "◆"
# Review cards due now (the review screen, L, shows them).
DUE_MARK = "?"
DUE_STYLE = "bold magenta"


def _note_label(
    note: NoteSummary, *, with_date: bool, width: int | None = None, due: int | None = None
) -> Text:
    """The note's line: marks, date, title, the snippet mark and the due cards' mark; with
    `width`, the title is cut to fit, never the marks."""
    head = Text()
    if note.warnings or not note.readable:
        head.append("⚠ ", style="bold yellow")
    if with_date and note.date:
        head.append(f"{visible(note.date[5:])} ", style="dim")
    tail = Text()
    if note.snippet_count:
        tail.append(f" {SNIPPET_MARK}{note.snippet_count}", style="green")
    if due:
        tail.append(f" {DUE_MARK}{due}", style=DUE_STYLE)
    title = Text(visible(note.title), style="" if note.readable else "red")
    if width is not None:
        room = max(width - head.cell_len - tail.cell_len, 1)
        if title.cell_len > room:
            title.truncate(room, overflow="ellipsis")
    return Text.assemble(head, title, tail)
