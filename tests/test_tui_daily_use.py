"""The app for daily use (issue 10): the open note follows its file (disk, editor), editors
that fail say what to set, the panel keys, small terminals, search landing on its match,
marks that say one thing, math and to-dos as written. Real files, a real store, a real
editor process; every wait is on the app's state."""

from __future__ import annotations

import asyncio
import shlex
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import OptionList

from studylog.notes.model import Section
from studylog.store.queries import NoteSummary
from studylog.tui.app import StudylogApp
from studylog.tui.screens.main import MainScreen
from studylog.tui.widgets.note_document import Fold, nodes
from studylog.tui.widgets.note_tree import NoteTree, _note_label
from studylog.tui.widgets.note_view import NoteView, chunk_texts, display_markdown
from tests.tui_helpers import main_screen, make_workspace, open_note, settings, until

MAX_DEPTH_SECTIONS = 12  # one section per level kept, at most
BACKPROP = "dl/2022-01-20-backprop.md"
TRAINING = "pytorch/2022-01-21-training.md"


class RecordingApp(StudylogApp):
    """The app, with the notifications it shows kept for the test to read."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.said: list[tuple[str, str]] = []

    def notify(self, message: str, *, title: str = "", **kwargs: Any) -> None:
        self.said.append((title, message))
        super().notify(message, title=title, **kwargs)


def _said(pilot: Pilot[None]) -> list[tuple[str, str]]:
    """What the RecordingApp driven by `pilot` has notified so far: (title, message)."""
    assert isinstance(pilot.app, RecordingApp)
    return pilot.app.said


@pytest.fixture
def ws(tmp_path):
    return make_workspace(tmp_path / "ws")


def _app(ws) -> RecordingApp:
    return RecordingApp(ws, settings())


def _header(screen: MainScreen) -> str:
    return screen.query_one(NoteView).header.plain


def _sources(view: NoteView) -> list[str]:
    """The markdown of the pieces shown now (inside open sections), in order."""
    return [piece.source for piece in view.pieces()]


def _section(view: NoteView, title: str) -> Fold:
    return next(f for f in view.sections() if title in f.title)


# -- 2. the open note stays true --------------------------------------------------------


async def test_a_note_changed_on_disk_rerenders_in_place_keeping_open_sections(ws):
    path = ws.notes_dir / BACKPROP
    async with _app(ws).run_test(size=(120, 40)) as pilot:
        screen, _ = await open_note(pilot, BACKPROP)
        view = screen.query_one(NoteView)
        assert "To-dos 1/2 done" in _header(screen)
        view.set_open(_section(view, "Inner proof"), True)  # written closed, opened
        await pilot.pause()
        path.write_text(path.read_text() + "- [ ] appended on disk\n", encoding="utf-8")
        await until(pilot, lambda: "To-dos 1/3 done" in _header(screen), "the new to-do count")
        await until(pilot, lambda: view.ready.is_set(), "the note re-rendered")
        assert _section(view, "Inner proof").open  # still open as the user left it
        assert any("appended on disk" in s for s in _sources(view))


async def test_a_note_saved_by_the_editor_shows_its_new_todos(ws, tmp_path, monkeypatch):
    editor = tmp_path / "editor.py"
    editor.write_text(
        "import sys\nwith open(sys.argv[1], 'a', encoding='utf-8') as f:\n"
        "    f.write('- [x] done in the editor\\n')\n"
    )
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", f"{shlex.quote(sys.executable)} {shlex.quote(str(editor))}")
    async with _app(ws).run_test(size=(120, 40)) as pilot:
        screen, _ = await open_note(pilot, BACKPROP)
        await pilot.press("o")
        await until(pilot, lambda: "To-dos 2/3 done" in _header(screen), "the edited to-dos")
        assert not [said for said in _said(pilot) if said[0] == "Editor"]


async def test_a_note_deleted_while_open_says_so_and_stays_usable(ws):
    async with _app(ws).run_test(size=(120, 40)) as pilot:
        screen, _ = await open_note(pilot, BACKPROP)
        (ws.notes_dir / BACKPROP).unlink()
        await until(pilot, lambda: "was removed or moved" in _header(screen), "the warning")
        await pilot.press("g")  # the outline still works on what was read
        await until(pilot, lambda: type(pilot.app.screen).__name__ == "OutlineScreen", "outline")
        await pilot.press("escape")
        # One notification, not one per watch pass: wait for a later pass (each one sets a
        # new list of notes), then count.
        seen = screen.notes
        await until(pilot, lambda: screen.notes is not seen, "another watch pass")
        said = [m for _, m in _said(pilot) if "was removed" in m]
        assert len(said) == 1


# -- 3. editors that fail ---------------------------------------------------------------


@pytest.mark.parametrize(
    "editor, words",
    [
        ("no-such-editor-studylog --wait", ["no-such-editor-studylog", "$VISUAL or $EDITOR"]),
        ("/nowhere/bin/editor", ["/nowhere/bin/editor", "$VISUAL or $EDITOR"]),
        (f"{shlex.quote(sys.executable)} -c 'raise SystemExit(3)'", ["status 3", "$EDITOR"]),
        ("", ["No editor is set", "$VISUAL or $EDITOR"]),
    ],
)
async def test_an_editor_that_fails_is_named_and_the_app_goes_on(ws, monkeypatch, editor, words):
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", editor)
    async with _app(ws).run_test(size=(120, 40)) as pilot:
        screen, _ = await open_note(pilot, BACKPROP)
        await pilot.press("o")
        await until(pilot, lambda: any(t == "Editor" for t, _ in _said(pilot)), "the notice")
        (message,) = [m for t, m in _said(pilot) if t == "Editor"]
        for word in words:
            assert word in message
        assert pilot.app.screen is screen and screen.detail is not None
        await pilot.press("g")  # keys still work
        await until(pilot, lambda: pilot.app.screen is not screen, "the outline")


# -- 4. small terminals -----------------------------------------------------------------


async def test_narrow_terminal_hides_the_sidebar_and_b_brings_it_back(ws):
    async with _app(ws).run_test(size=(80, 24)) as pilot:
        screen, _ = await open_note(pilot, TRAINING)
        sidebar = screen.query_one("#sidebar")
        await until(pilot, lambda: not sidebar.display or sidebar.region.width == 0, "hidden")
        await pilot.press("b")
        await until(pilot, lambda: sidebar.region.width > 0, "the sidebar shown")
        assert isinstance(screen.focused, NoteTree)
        await pilot.press("b")
        await until(pilot, lambda: sidebar.region.width == 0, "hidden again")


async def test_m_maximizes_the_focused_panel_and_restores_it(ws):
    async with _app(ws).run_test(size=(80, 24)) as pilot:
        screen, _ = await open_note(pilot, TRAINING)
        await until(pilot, lambda: screen.run_area is not None, "the run area")
        await pilot.press("s")
        run_area = screen.run_area
        assert run_area is not None
        before = run_area.region.height
        await pilot.press("m")
        assert screen.maximized is run_area
        # It fills the screen but the footer (it kept its own height once, centred in hatch).
        await until(pilot, lambda: run_area.region.height >= 22, "the run area filling the screen")
        await pilot.press("m")
        assert screen.maximized is None
        await until(pilot, lambda: run_area.region.height == before, "the run area as before")


# -- 5. getting around ------------------------------------------------------------------


async def test_tab_moves_between_panels_not_section_titles(ws):
    async with _app(ws).run_test(size=(140, 44)) as pilot:
        screen, _ = await open_note(pilot, TRAINING)
        await until(pilot, lambda: screen.run_area is not None, "the run area")
        screen.query_one(NoteTree).focus()
        order = []
        for _ in range(4):
            await pilot.press("tab")
            order.append(screen.focused.id if screen.focused else None)
        assert order == ["note", "snippets", "runs", "log"]
        await pilot.press("shift+tab")
        assert screen.focused is not None and screen.focused.id == "runs"


async def test_tab_skips_details_titles(ws):
    async with _app(ws).run_test(size=(140, 44)) as pilot:
        screen, _ = await open_note(pilot, BACKPROP)
        screen.query_one(NoteTree).focus()
        await pilot.press("tab")
        assert screen.focused is screen.query_one(NoteView)
        await pilot.press("tab")
        assert (
            screen.focused is not None
            and screen.focused not in screen.query_one(NoteView).walk_children()
        )


async def test_s_and_u_jump_to_the_snippets_and_the_runs(ws):
    async with _app(ws).run_test(size=(140, 44)) as pilot:
        screen, _ = await open_note(pilot, TRAINING)
        await until(pilot, lambda: screen.run_area is not None, "the run area")
        await pilot.press("s")
        assert screen.focused is not None and screen.focused.id == "snippets"
        await pilot.press("u")
        assert screen.focused is not None and screen.focused.id == "runs"


async def test_search_down_lands_on_the_first_hit_and_opens_at_the_match(ws):
    async with _app(ws).run_test(size=(140, 44)) as pilot:
        screen = main_screen(pilot)
        await until(pilot, lambda: screen.notes, "the notes")
        await pilot.press("slash")
        await pilot.press(*"hidden")
        results = screen.query_one("#search-results", OptionList)
        await until(pilot, lambda: results.option_count > 0, "the hits")
        count = str(screen.query_one("#search-count").render())
        assert count.startswith("1 note")
        await pilot.press("down")
        assert screen.focused is results and results.highlighted == 0
        await pilot.press("enter")
        view = screen.query_one(NoteView)
        await until(pilot, lambda: view.highlighting, "the match highlighted")
        assert _section(view, "Inner proof").open  # the section around the match was opened
        line = next(n for n, text in enumerate(view.lines_text()) if "hidden" in text)
        await until(
            pilot,
            lambda: view.scroll_y <= line < view.scroll_y + view.size.height,
            "the match on screen",
        )
        await pilot.press("j")  # any key ends the highlight
        await until(pilot, lambda: not view.highlighting, "the highlight cleared")


async def test_outline_jump_into_a_closed_section_opens_it(ws):
    async with _app(ws).run_test(size=(120, 30)) as pilot:
        screen, _ = await open_note(pilot, BACKPROP)
        view = screen.query_one(NoteView)

        def walk(sections: list[Section]) -> Iterator[Section]:
            for section in sections:
                yield section
                yield from walk(section.children)

        assert screen.detail is not None
        section = next(s for s in walk(screen.detail.sections) if s.title == "Inner proof")
        await view.jump_to(section)
        inner = _section(view, "Inner proof")
        assert inner.open
        start = view.row_start(inner)
        assert start is not None and view.scroll_y <= start < view.scroll_y + view.size.height


# -- 1. big notes, bad input ------------------------------------------------------------


def test_chunks_start_at_headings_and_cover_the_text():
    text = "# A\n\npara\n\n## B\n\n" + ("x " * 2000) + "\n\n```python\ncode\n```\n"
    pieces = chunk_texts(text)
    assert pieces[0].startswith("# A") and any(p.startswith("## B") for p in pieces)
    assert "".join(pieces).replace("\n", "") == text.replace("\n", "")


def _nested(depth: int) -> str:
    deep = "".join(f"<details open><summary>level {i}</summary>\n\n" for i in range(depth))
    return deep + "bottom\n\n" + "</details>\n\n" * depth


def test_two_thousand_nested_details_become_a_few_sections():
    from studylog.notes.blocks import DetailsBlock, split_blocks
    from studylog.notes.model import MAX_DETAILS_DEPTH
    from studylog.tui.widgets.note_document import _flat

    (node,) = list(nodes(split_blocks(_nested(2000))))
    assert isinstance(node, Fold)
    # Past the notes layer's cap the sections are text: the bottom is there, no section
    # per level.
    blocks = split_blocks(_nested(2000))
    depth = 0
    while blocks and isinstance(blocks[0], DetailsBlock) and blocks[0].children:
        blocks = blocks[0].children
        depth += 1
    assert depth <= MAX_DETAILS_DEPTH
    assert "bottom" in "\n".join(_flat(blocks))


async def test_deeply_nested_details_open_and_the_app_answers(ws):
    extra = make_workspace(ws.root.parent / "deep", {"deep.md": "# Deep\n\n" + _nested(60)})
    async with RecordingApp(extra, settings()).run_test(size=(100, 30)) as pilot:
        screen, _ = await open_note(pilot, "deep.md")
        view = screen.query_one(NoteView)
        await until(pilot, lambda: any("bottom" in s for s in _sources(view)), "bottom")
        await pilot.press("g")
        await until(pilot, lambda: pilot.app.screen is not screen, "the outline")


# -- 6. marks, 7. math and to-dos -------------------------------------------------------


def test_snippet_mark_is_not_the_tree_arrow_and_survives_a_long_title():
    note = NoteSummary(1, "a.md", "A very long title " * 5, "2022-01-02", "T", snippet_count=3)
    label = _note_label(note, with_date=True, width=30)
    assert label.cell_len <= 30
    assert label.plain.endswith(" ◆3") and "▶" not in label.plain
    assert "…" in label.plain


def test_math_is_shown_as_written_and_todos_as_boxes():
    shown = display_markdown(
        "Inline $a \\\\ b_{i}$ here, price $5.\n\n$$\n\\frac{1}{2} \\\\ x\n$$\n\n"
        "- [ ] open\n- [x] done\n"
    )
    assert "` $a \\\\ b_{i}$ `" in shown  # a code span: no escape applied
    assert "price $5." in shown
    assert "```text\n$$\n\\frac{1}{2} \\\\ x\n$$\n```" in shown
    assert "- ☐ open" in shown and "- ☑ done" in shown


async def test_math_renders_verbatim_in_the_view(ws):
    extra = {"math.md": "# Math\n\nInline $a \\\\ b$.\n\n$$\nx \\\\ y\n$$\n\n- [ ] todo\n"}
    ws = make_workspace(ws.root.parent / "math", extra)
    async with RecordingApp(ws, settings()).run_test(size=(100, 30)) as pilot:
        screen, _ = await open_note(pilot, "math.md")
        shown = "\n".join(screen.query_one(NoteView).lines_text())
        assert "a \\\\ b" in shown and "x \\\\ y" in shown and "☐ todo" in shown


# -- text selection in the note ---------------------------------------------------------


async def test_note_text_can_be_selected_with_the_mouse(ws):
    async with _app(ws).run_test(size=(120, 40)) as pilot:
        screen, _ = await open_note(pilot, BACKPROP)
        view = screen.query_one(NoteView)
        lines = view.lines_text()
        row = next(
            y
            for y, line in enumerate(lines[: view.size.height])
            if len(line.strip()) >= 8 and not line.lstrip().startswith(("▶", "▼"))
        )
        column = len(lines[row]) - len(lines[row].lstrip())
        left = view.content_region.x - view.region.x  # the panel's edge
        # A drag over the first word or so of a line of prose, as a person would.
        await pilot.mouse_down(view, offset=(left + column, row))
        await pilot.hover(view, offset=(left + column + 6, row))
        await pilot.mouse_up(view, offset=(left + column + 6, row))
        selected = await until(pilot, screen.get_selected_text, "a selection")
        assert selected.strip() and selected.strip() in lines[row]
        # Select-all of the note gives back its whole text as shown.
        screen.clear_selection()
        view.text_select_all()
        everything = await until(pilot, screen.get_selected_text, "the note selected")
        assert lines[row] in everything
        assert view.text_selection is not None


# -- bad input: the view shows what it can, says why, and the app answers ----------------


def _big_note(kilobytes: int, word: str = "학습") -> str:
    block = (
        "## Part {n}\n\n"
        + f"{word} 역전파는 연쇄 법칙으로 기울기를 전달한다. " * 3
        + "\n\n```python\nx = 1\nprint(x)\n```\n\n| a | b |\n| - | - |\n| 1 | 2 |\n\n"
    )
    parts = ["---\ntitle: Big\n---\n# Big\n\n"]
    size = 0
    n = 0
    while size < kilobytes * 1024:
        part = block.replace("{n}", str(n))
        parts.append(part)
        size += len(part.encode())
        n += 1
    return "".join(parts)


async def _tree_answers(pilot, screen: MainScreen) -> None:
    """A key reaches the notes tree and moves its cursor: the app answers."""
    tree = screen.query_one(NoteTree)
    tree.focus()
    before = tree.cursor_line
    await pilot.press("down" if before == 0 else "up")
    await until(pilot, lambda: tree.cursor_line != before, "the tree's cursor to move")


async def test_a_five_megabyte_note_paints_its_start_and_the_app_answers(ws):
    big = make_workspace(ws.root.parent / "big", {"big.md": _big_note(5 * 1024)})
    async with _app(big).run_test(size=(120, 40)) as pilot:
        screen = main_screen(pilot)
        await until(pilot, lambda: screen.notes, "the notes to load", seconds=120)
        view = screen.query_one(NoteView)
        screen.open_note("big.md")
        await until(pilot, lambda: view.first_painted.is_set(), "the first screen", 120)
        assert "Big" in _header(screen)
        assert any("Part 0" in s for s in _sources(view))
        await _tree_answers(pilot, screen)  # keys are answered while the rest arrives
        await until(
            pilot,
            lambda: any("Part 60\n" in s for s in _sources(view)),
            "more of the note",
            seconds=120,
        )


async def test_a_note_changed_while_it_renders_shows_the_new_text_once(ws):
    big = make_workspace(ws.root.parent / "big", {"big.md": _big_note(300, word="OLDWORD")})
    async with _app(big).run_test(size=(120, 40)) as pilot:
        screen = main_screen(pilot)
        await until(pilot, lambda: screen.notes, "the notes to load")
        view = screen.query_one(NoteView)
        screen.open_note("big.md")
        await asyncio.wait_for(view.first_painted.wait(), timeout=60)  # (a poll lets it run on)
        assert not view.ready.is_set()  # 300 KB: still arriving
        (big.notes_dir / "big.md").write_text(_big_note(40, word="NEWWORD"), encoding="utf-8")
        screen.load_notes()  # what the watcher does within its interval

        def settled() -> bool:
            return view.ready.is_set() and any("NEWWORD" in s for s in _sources(view))

        await until(pilot, settled, "the new text", seconds=120)
        sources = _sources(view)
        assert not any("OLDWORD" in s for s in sources)  # no part of the old render left
        assert sum(s.count("## Part 0\n") for s in sources) == 1  # and the new one once
        await _tree_answers(pilot, screen)


@pytest.mark.parametrize(
    "bad, why",
    [
        (b"\x00\x01\x02 not text any more", "binary"),
        ("---\ntitle: [unclosed\n---\n# Broken\n\nstill here\n", "invalid YAML"),
    ],
)
async def test_a_note_that_becomes_unreadable_while_open_says_why(ws, bad, why):
    path = ws.notes_dir / BACKPROP
    async with _app(ws).run_test(size=(120, 40)) as pilot:
        screen, _ = await open_note(pilot, BACKPROP)
        view = screen.query_one(NoteView)
        if isinstance(bad, bytes):
            path.write_bytes(bad)
        else:
            path.write_text(bad, encoding="utf-8")
        screen.load_notes()
        await until(pilot, lambda: "⚠" in _header(screen), "the warning")
        await until(pilot, lambda: view.ready.is_set(), "the view settled")
        header = _header(screen)
        assert view.detail is not None
        assert why in header or why in " ".join(view.detail.summary.warnings)
        # What can be shown is shown: the last version read of a binary file, or the body.
        assert any(s.strip() for s in _sources(view))
        await _tree_answers(pilot, screen)


async def test_two_thousand_nested_details_open_with_a_warning_and_the_app_answers(ws):
    deep = make_workspace(ws.root.parent / "deep", {"deep.md": "# Deep\n\n" + _nested(2000)})
    async with _app(deep).run_test(size=(100, 30)) as pilot:
        screen, _ = await open_note(pilot, "deep.md")
        view = screen.query_one(NoteView)
        assert "⚠" in _header(screen) and "nest" in _header(screen)
        assert len(view.sections()) <= MAX_DEPTH_SECTIONS
        await until(pilot, lambda: any("bottom" in s for s in _sources(view)), "bottom")
        await _tree_answers(pilot, screen)


# -- the open note's snippet code changes on disk: the badges say stale ----------------


async def test_changing_the_open_notes_snippet_code_on_disk_marks_its_runs_stale(ws):
    from studylog.tui.widgets.runs_table import RunsTable
    from studylog.tui.widgets.snippet_table import SnippetTable

    path = ws.notes_dir / TRAINING
    async with _app(ws).run_test(size=(140, 45)) as pilot:
        screen, _ = await open_note(pilot, TRAINING)
        await until(pilot, lambda: screen.snippet == "train", "the snippets")
        await pilot.press("r")
        snippets = screen.query_one(SnippetTable)
        runs = screen.query_one(RunsTable)

        def train_status() -> str:
            return str(snippets.get_row("train")[1])

        await until(
            pilot,
            lambda: screen.running is None and "succeeded" in train_status(),
            "the run to succeed",
        )
        await until(pilot, lambda: runs.row_count > 0, "the run in the runs table")
        assert "≠" not in str(runs.get_row_at(0)[2])
        # The code changes on disk (an editor, a git pull) while the note is open.
        path.write_text(
            path.read_text(encoding="utf-8").replace("range(20)", "range(21)"), encoding="utf-8"
        )
        screen.load_notes()  # what the watcher does within its interval
        await until(pilot, lambda: "stale" in train_status(), "the snippet's stale badge")
        await until(
            pilot,
            lambda: runs.row_count > 0 and "≠" in str(runs.get_row_at(0)[2]),
            "the run's ≠ mark",
        )
