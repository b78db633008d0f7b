"""To-dos across notes: the CLI (`todos --json`), ticking in the file (one byte, encodings
and line ends kept, refused when the file changed), and the TUI view."""

from __future__ import annotations

import pytest
from textual.widgets import Tree

from studylog.store.index import index_notes
from studylog.store.todos import TodoError, list_todos, tick_todo
from studylog.tui.app import StudylogApp
from studylog.tui.screens.todos import TodosScreen
from tests.tui_helpers import make_workspace, notes_loaded, settings, until, until_screen

NEWER = """---
title: Newer
date: 2022-02-03
topic: Pytorch
---
- [ ] open one
- [x] done one
"""
OLDER = "# Older\n\n>Date : 22.01.05\n\n- [ ] 복습할 것\n"


def _bytes_differing(a: bytes, b: bytes) -> list[int]:
    assert len(a) == len(b)
    return [i for i in range(len(a)) if a[i] != b[i]]


def test_todos_json_groups_newest_first_and_filters(run_cli, write_note):
    write_note("a/older.md", OLDER)
    write_note("b/newer.md", NEWER)
    items = run_cli.json("todos")
    assert [(i["path"], i["text"], i["done"]) for i in items] == [
        ("b/newer.md", "open one", False),
        ("b/newer.md", "done one", True),
        ("a/older.md", "복습할 것", False),
    ]
    assert items[0] | {"path": None} == {
        "path": None,
        "title": "Newer",
        "date": "2022-02-03",
        "topic": "Pytorch",
        "line": 6,
        "text": "open one",
        "done": False,
    }
    assert [i["text"] for i in run_cli.json("todos", "--open")] == ["open one", "복습할 것"]
    assert [i["text"] for i in run_cli.json("todos", "--done")] == ["done one"]


def test_todos_human_output_never_reads_markup_or_control_characters(run_cli, write_note):
    write_note("x.md", "# X\n\n- [ ] [bold]not bold[/bold] \x1b]0;pwned\x07 ok\n")
    out = run_cli("todos").stdout
    assert "[bold]not bold[/bold]" in out
    assert "\x1b" not in out and "\x07" not in out


@pytest.mark.parametrize(
    ("raw", "encoding"),
    [
        ("\ufeff# T\r\n\r\n- [ ] 첫째\r\n- [ ] 둘째\r\n", "utf-8"),
        ("# T\r\n\r\n- [ ] 첫째\r\n- [ ] 둘째 한글\r\n", "cp949"),
        ("# T\r\r- [ ] one\r> - [ ] 둘째\r", "utf-8"),
    ],
    ids=["bom-crlf", "cp949-crlf", "cr-blockquote"],
)
def test_tick_changes_exactly_one_byte(workspace, store, settings, write_note, raw, encoding):
    path = write_note("t.md", raw.encode(encoding))
    before = path.read_bytes()
    index_notes(store, workspace, settings)
    second = list_todos(store)[1]
    assert tick_todo(workspace, second) is True
    after = path.read_bytes()
    diff = _bytes_differing(before, after)
    assert len(diff) == 1 and after[diff[0] : diff[0] + 1] == b"x"
    # Ticked again (the item knows the file's new hash): back to the original bytes.
    assert tick_todo(workspace, second) is False
    assert path.read_bytes() == before
    index_notes(store, workspace, settings)
    assert [t.done for t in list_todos(store)] == [False, False]


def test_tick_refused_when_file_changed_since_read(workspace, store, settings, write_note):
    path = write_note("t.md", "# T\n\n- [ ] one\n")
    index_notes(store, workspace, settings)
    item = list_todos(store)[0]
    path.write_text("# T\n\nnew line\n- [ ] one\n", encoding="utf-8")
    edited = path.read_bytes()
    with pytest.raises(TodoError, match=r"notes/t\.md changed on disk"):
        tick_todo(workspace, item)
    assert path.read_bytes() == edited


def test_tick_refuses_a_line_without_checkbox(workspace, store, settings, write_note):
    write_note("t.md", "# T\n\n- [ ] one\n")
    index_notes(store, workspace, settings)
    item = list_todos(store)[0]
    item.line = 1
    with pytest.raises(TodoError, match="line 1 holds no checkbox"):
        tick_todo(workspace, item)


async def test_todo_view_ticks_in_file_and_refuses_a_changed_note(tmp_path):
    ws = make_workspace(tmp_path / "ws")
    note = ws.notes_dir / "dl/2022-01-20-backprop.md"
    before = note.read_bytes()
    app = StudylogApp(ws, settings())
    async with app.run_test() as pilot:
        main = await notes_loaded(pilot)
        await pilot.press("T")
        screen = await until_screen(pilot, TodosScreen, "the to-dos")
        await until(pilot, lambda: screen.items, "the to-dos to load")
        tree = screen.query_one(Tree)
        assert screen.current is not None and screen.current.text == "derive softmax"
        await pilot.press("space")
        after = note.read_bytes()
        assert len(_bytes_differing(before, after)) == 1
        assert "- [x] derive softmax" in after.decode()
        await until(pilot, lambda: screen.items and screen.items[0].done, "the list to reload")

        # Changed on disk meanwhile: refused, the file as the editor left it.
        edited = after.decode().replace("derive sigmoid", "derive tanh").encode()
        note.write_bytes(edited)
        tree.cursor_line = tree.cursor_line  # the same item
        await pilot.press("space")
        assert note.read_bytes() == edited
        await until(pilot, lambda: app.screen is screen, "the screen to stay")

        await until(pilot, lambda: screen.current is not None, "the cursor on an item")
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is main, "the main screen")
        await until(
            pilot,
            lambda: main.detail is not None and main.detail.summary.path.endswith("backprop.md"),
            "the note to open",
        )
