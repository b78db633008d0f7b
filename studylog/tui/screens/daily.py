"""The daily-use screens as the main screen opens them: to-dos (T), a new note (n),
review (L) and the calendar (C). Kept here so that main.py only binds the keys."""

from __future__ import annotations

from typing import TYPE_CHECKING

# (title, key, action) of the main screen's daily keys, for the command palette: they stay
# out of the footer, which is full.
PALETTE = [
    ("To-dos", "T", "todos"),
]

if TYPE_CHECKING:
    from studylog.store.todos import TodoItem
    from studylog.tui.screens.main import MainScreen


def open_todos(main: MainScreen) -> None:
    from studylog.tui.screens.todos import TodosScreen

    def chosen(item: TodoItem | None) -> None:
        if item is not None:
            open_at_line(main, item.path, item.line)

    main.app.push_screen(TodosScreen(), chosen)


def open_at_line(main: MainScreen, path: str, line: int) -> None:
    """Open notes/`path` in the main screen and select it in the tree."""
    from studylog.tui.widgets.note_tree import NoteTree

    main.query_one(NoteTree).select_path(path)
    main.open_note(path)
    main.notify(f"notes/{path}, line {line}", timeout=3)
