"""Every to-do of every note, grouped by note (newest first): space ticks one in its file,
Enter opens its note, f shows open items only or all."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Header, Static, Tree
from textual.worker import Worker, WorkerState

from studylog.safe_text import visible as clean
from studylog.store.todos import TodoError, TodoItem, list_todos, tick_todo

if TYPE_CHECKING:
    from studylog.tui.app import StudylogApp


class TodosScreen(Screen[TodoItem | None]):
    """Dismissed with the item whose note to open, or None."""

    BINDINGS = [
        Binding("space", "tick", "Tick", priority=True),  # before the tree's own space
        Binding("f", "filter", "Open/All"),
        Binding("escape,T", "close", "Back"),
    ]
    DEFAULT_CSS = """
    TodosScreen #todos { height: 1fr; border: round $primary-background; }
    TodosScreen #todos-status { height: 1; padding: 0 1; color: $text-muted; }
    """

    app: StudylogApp

    def __init__(self) -> None:
        super().__init__()
        self.only_open = False
        self.items: list[TodoItem] = []

    def compose(self) -> ComposeResult:
        yield Header()
        tree: Tree[TodoItem | None] = Tree("To-dos", id="todos")
        tree.show_root = False
        yield tree
        yield Static("", id="todos-status")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "To-dos"
        self.query_one(Tree).focus()
        self.reload()

    @work(thread=True, group="todos", exclusive=True, exit_on_error=False)
    def reload(self) -> list[TodoItem]:
        """Index what changed (a connection of its own, in a thread) and list the to-dos."""
        from studylog.store.db import connect

        self.app.store.refresh_index()
        db = connect(self.app.workspace.db_path)
        try:
            return list_todos(db)
        finally:
            db.close()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "todos":
            return
        if event.state == WorkerState.SUCCESS:
            self.items = event.worker.result  # type: ignore[assignment]
            self._show()
        elif event.state == WorkerState.ERROR:
            self.app.report_error(event.worker.error)

    def _show(self) -> None:
        tree = self.query_one(Tree)
        here = self.current
        where = (here.path, here.line) if here is not None else None
        tree.clear()
        shown = [i for i in self.items if not (self.only_open and i.done)]
        note: object = None
        cursor, lines = 1 if shown else 0, 0
        for item in shown:
            if item.path != note:
                lines += 1
                note = item.path
                label = Text(clean(item.title), style="bold")
                label.append(f"  {item.date or 'undated'}", style="dim")
                if item.topic:
                    label.append(f" · {clean(item.topic)}", style="dim")
                group = tree.root.add(label, data=None, expand=True)
            group.add_leaf(_item_label(item), data=item)
            if where == (item.path, item.line):
                cursor = lines
            lines += 1
        open_count = sum(not i.done for i in self.items)
        status = f"{open_count} open, {len(self.items) - open_count} done"
        if self.only_open:
            status += " · showing open items (f: all)"
        self.query_one("#todos-status", Static).update(
            status + " · space ticks in the file, Enter opens the note"
        )
        # The same item as before the reload (every group is expanded: one line a node), set
        # after the tree has laid out its new lines.
        self.call_after_refresh(setattr, tree, "cursor_line", cursor)

    @property
    def current(self) -> TodoItem | None:
        node = self.query_one(Tree).cursor_node
        return node.data if node is not None else None

    def action_tick(self) -> None:
        item = self.current
        if item is None:
            return
        try:
            done = tick_todo(self.app.workspace, item)
        except TodoError as exc:
            self.notify(str(exc), title="Not ticked", severity="error", timeout=10)
            self.reload()
            return
        for other in self.items:  # the same file: the next tick checks against its new hash
            if other.path == item.path:
                other.hash = item.hash
        del done
        node = self.query_one(Tree).cursor_node
        if node is not None:
            node.set_label(_item_label(item))
        self.reload()  # the file's new hash, for the next tick

    def action_filter(self) -> None:
        self.only_open = not self.only_open
        self._show()

    def action_close(self) -> None:
        self.dismiss(None)

    def on_tree_node_selected(self, event: Tree.NodeSelected[TodoItem | None]) -> None:
        if event.node.data is not None:
            self.dismiss(event.node.data)


def _item_label(item: TodoItem) -> Text:
    label = Text("[x] " if item.done else "[ ] ", style="green" if item.done else "yellow")
    label.append(clean(item.text), style="dim" if item.done else "")
    return label
