"""The daily-use screens as the main screen opens them: to-dos (T), a new note (n),
review (L) and the calendar (C). Kept here so that main.py only binds the keys."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

# (title, key, action) of the main screen's daily keys, for the command palette: they stay
# out of the footer, which is full.
PALETTE = [
    ("New note", "n", "new_note"),
    ("To-dos", "T", "todos"),
    ("Review due cards", "L", "review"),
    ("Calendar and streak", "C", "calendar"),
]

if TYPE_CHECKING:
    from pathlib import Path

    from studylog.paths import Workspace
    from studylog.settings import Settings
    from studylog.store.new_note import Suggestion
    from studylog.store.todos import TodoItem
    from studylog.tui.screens.main import MainScreen
    from studylog.tui.screens.new_note import NewNoteRequest


def open_todos(main: MainScreen) -> None:
    from studylog.tui.screens.todos import TodosScreen

    def chosen(item: TodoItem | None) -> None:
        if item is not None:
            open_at_line(main, item.path, item.line)

    main.app.push_screen(TodosScreen(), chosen)


def open_at_line(main: MainScreen, path: str, line: int) -> None:
    """Open the note at `path` in the main screen and select it in the tree."""
    from studylog.tui.widgets.note_tree import NoteTree

    main.query_one(NoteTree).select_path(path)
    main.open_note(path)
    main.notify(f"{main.app.workspace.label(path)}, line {line}", timeout=3)


def new_note(main: MainScreen) -> None:
    """Ask for a title (topic and lecture offered), write the note, open it in $EDITOR.
    The store is read and written in threads, on connections of their own, never on the
    UI loop; the editor runs on it (the app gives it the terminal)."""
    main.run_worker(_new_note(main), group="new-note", exclusive=True, exit_on_error=False)


async def _new_note(main: MainScreen) -> None:
    from studylog.tui.screens.new_note import NewNoteScreen

    hint = await asyncio.to_thread(_suggest, main.app.workspace)

    def chosen(request: NewNoteRequest | None) -> None:
        if request is not None:
            main.run_worker(_make(main, request), group="new-note", exit_on_error=False)

    main.app.push_screen(NewNoteScreen(hint.topic, hint.lecture), chosen)


async def _make(main: MainScreen, request: NewNoteRequest) -> None:
    from studylog.store.new_note import NewNoteError

    app = main.app
    try:
        path = await asyncio.to_thread(_create, app.workspace, request)
    except NewNoteError as exc:
        main.notify(str(exc), title="New note", severity="error", timeout=10)
        return
    relative = path.relative_to(app.workspace.notes_dir).as_posix()  # the note's path
    main.notify(f"Made {app.workspace.label(relative)}", title="New note")
    error = app.edit(path)
    if error:
        main.notify(error, title="Editor", severity="warning")
    # Incremental: the new file, quickly.
    await asyncio.to_thread(_index, app.workspace, app.settings)
    from studylog.tui.widgets.note_tree import NoteTree

    main.query_one(NoteTree).select_path(relative)  # once the tree lists it, its branches kept
    main.load_notes()  # the tree
    main.open_note(relative)


def _suggest(workspace: Workspace) -> Suggestion:
    from studylog.store.db import connect
    from studylog.store.new_note import suggest

    db = connect(workspace.db_path)
    try:
        return suggest(db)
    finally:
        db.close()


def _create(workspace: Workspace, request: NewNoteRequest) -> Path:
    from studylog.store.db import connect
    from studylog.store.new_note import create_note

    db = connect(workspace.db_path)
    try:
        return create_note(
            db, workspace, title=request.title, topic=request.topic, lecture=request.lecture
        )
    finally:
        db.close()


def _index(workspace: Workspace, settings: Settings) -> None:
    from studylog.store.db import connect
    from studylog.store.index import index_notes

    db = connect(workspace.db_path)
    try:
        index_notes(db, workspace, settings)
    finally:
        db.close()


def open_review(main: MainScreen) -> None:
    from studylog.tui.screens.review import ReviewScreen

    main.app.push_screen(ReviewScreen())


def open_calendar(main: MainScreen) -> None:
    from studylog.tui.screens.calendar import CalendarScreen

    main.app.push_screen(CalendarScreen())
