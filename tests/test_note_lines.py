"""Issue 10, point 1: the note view as one line-based scrolling widget. Sections open and
close by click and by key, a re-read keeps the open sections and the place, a long note
paints its first screen before all of it is rendered, and a width change renders again.
Real workspaces, a real store, the real app under Pilot; every wait is on the app's
state."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from studylog.notes.model import Section
from studylog.tui.app import StudylogApp
from studylog.tui.widgets.note_view import NoteView
from tests.tui_helpers import fold, make_workspace, notes_loaded, open_note, settings, until

BACKPROP = "dl/2022-01-20-backprop.md"


def _shown(view: NoteView) -> str:
    return "\n".join(view.lines_text())


def _on_screen(view: NoteView, line: int) -> str:
    """Line `line` of the note as the view draws it now (its kept drawing included)."""
    return view.render_line(line - int(view.scroll_y)).text


def _walk_sections(sections: list[Section]) -> Iterator[Section]:
    for section in sections:
        yield section
        yield from _walk_sections(section.children)


async def _rendered_again(pilot: Pilot[Any], view: NoteView) -> int:
    """The view's width, once every piece shown is rendered at it (after a resize)."""
    width = view.scrollable_content_region.width
    await until(
        pilot,
        lambda: view.ready.is_set() and {p.width for p in view.pieces()} == {width},
        "every piece at the new width",
        seconds=60,
    )
    return width


def _long_note(parts: int) -> str:
    part = (
        "## Part {n}\n\n"
        + "역전파는 연쇄 법칙으로 기울기를 전달한다. " * 4
        + "\n\n```python\nx = {n}\nprint(x)\n```\n\n| a | b |\n| - | - |\n| {n} | 2 |\n\n"
    )
    return "---\ntitle: Long\n---\n# Long\n\n" + "".join(
        part.replace("{n}", str(n)) for n in range(parts)
    )


async def test_sections_open_as_written_and_toggle_by_click(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws")
    async with StudylogApp(ws, settings()).run_test(size=(120, 40)) as pilot:
        _, view = await open_note(pilot, BACKPROP)
        outer, inner = fold(view, "Chain rule"), fold(view, "Inner proof")
        assert outer.open and not inner.open  # as written
        assert inner.parent is outer  # nested as written
        assert "▼ Chain rule" in _shown(view) and "▶ Inner proof" in _shown(view)
        assert "starts hidden" not in _shown(view)
        start = view.row_start(inner)
        assert start is not None
        await pilot.click(view, offset=(inner.depth * 2 + 2, start - int(view.scroll_y)))
        await until(pilot, lambda: "starts hidden" in _shown(view), "the section opened")
        assert inner.open and "▼ Inner proof" in _on_screen(view, start)
        await pilot.click(view, offset=(inner.depth * 2 + 2, start - int(view.scroll_y)))
        await until(pilot, lambda: "starts hidden" not in _shown(view), "the section closed")
        assert "▶ Inner proof" in _on_screen(view, start)


async def test_enter_toggles_the_section_at_the_top_of_the_view(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws")
    async with StudylogApp(ws, settings()).run_test(size=(120, 40)) as pilot:
        _, view = await open_note(pilot, BACKPROP)
        outer = fold(view, "Chain rule")
        start = view.row_start(outer)
        assert start is not None and start < view.size.height // 2  # in the top half
        view.focus()
        await pilot.press("enter")
        await until(pilot, lambda: not outer.open, "closed by Enter")
        assert "composition" not in _shown(view) and "▶ Chain rule" in _on_screen(view, start)
        await pilot.press("space")
        await until(pilot, lambda: "composition" in _shown(view), "opened by Space")
        assert outer.open and not fold(view, "Inner proof").open
        assert "▼ Chain rule" in _on_screen(view, start)  # the glyph follows, as drawn


async def test_enter_at_the_end_of_a_note_toggles_the_title_on_screen(tmp_path: Path) -> None:
    # Seen in tmux: at the end of a long note the only titles were in the bottom half, and
    # Enter opened a closed section far above the view (nothing changed on screen).
    text = (
        "---\ntitle: Ends\n---\n<details>\n<summary>Above</summary>\n\nabove text\n\n"
        "</details>\n\n"
        + _long_note(12).split("---\n", 2)[2]
        + "\n<details>\n<summary>Below</summary>\n\nbelow text\n\n</details>\n\nThe end.\n"
    )
    ws = make_workspace(tmp_path / "ws", {"ends.md": text})
    async with StudylogApp(ws, settings()).run_test(size=(120, 40)) as pilot:
        _, view = await open_note(pilot, "ends.md")
        above, below = fold(view, "Above"), fold(view, "Below")
        view.scroll_end(animate=False, immediate=True)
        await until(pilot, lambda: int(view.scroll_y) == view.max_scroll_y > 0, "the end")
        top = int(view.scroll_y)
        start = view.row_start(below)
        assert start is not None and top + view.size.height // 2 < start < top + view.size.height
        above_start = view.row_start(above)
        assert above_start is not None and above_start < top  # out of sight
        view.focus()
        await pilot.press("enter")
        await until(pilot, lambda: "below text" in _shown(view), "Below opened by Enter")
        assert below.open and not above.open


async def test_a_reread_keeps_open_sections_and_the_place(tmp_path: Path) -> None:
    extra: dict[str, str | bytes] = {
        "long.md": _long_note(40) + "<details>\n<summary>Late</summary>\n\nlate text\n\n"
        "</details>\n"
    }
    ws = make_workspace(tmp_path / "ws", extra)
    async with StudylogApp(ws, settings()).run_test(size=(120, 40)) as pilot:
        screen, view = await open_note(pilot, "long.md")
        view.set_open(fold(view, "Late"), True)
        await until(pilot, lambda: view.ready.is_set(), "the section rendered")
        view.scroll_to(y=200, animate=False, immediate=True)
        await until(pilot, lambda: int(view.scroll_y) == 200, "scrolled")
        top_line = view.lines_text()[200]
        path = ws.notes_dir / "long.md"
        path.write_text(path.read_text() + "\nappended line\n", encoding="utf-8")
        screen.load_notes()  # what the watcher does within its interval
        await until(pilot, lambda: "appended line" in _shown(view), "the re-read")
        await until(pilot, lambda: view.ready.is_set(), "the re-read rendered")
        assert fold(view, "Late").open
        assert int(view.scroll_y) == 200
        assert view.lines_text()[200] == top_line


async def test_the_first_screen_is_painted_before_the_whole_note_is_rendered(
    tmp_path: Path,
) -> None:
    ws = make_workspace(tmp_path / "ws", {"long.md": _long_note(300)})
    async with StudylogApp(ws, settings()).run_test(size=(120, 40)) as pilot:
        screen = await notes_loaded(pilot)
        view = screen.query_one(NoteView)
        screen.open_note("long.md")
        # Awaited, not polled: the view's next slice waits for this waiter's turn, so the
        # count is the one at the first paint (a poll let slices run meanwhile).
        await asyncio.wait_for(view.first_painted.wait(), timeout=60)
        at_first_paint = view.renders
        assert "Part 0" in _shown(view)
        await until(pilot, lambda: view.ready.is_set(), "the whole note", seconds=120)
        assert at_first_paint < view.renders / 4, (at_first_paint, view.renders)
        assert "Part 299" in _shown(view)


async def test_a_width_change_renders_again_at_the_new_width(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws", {"long.md": _long_note(30)})
    async with StudylogApp(ws, settings()).run_test(size=(150, 40)) as pilot:
        _, view = await open_note(pilot, "long.md")
        wide = view.size.width
        assert {p.width for p in view.pieces()} == {view.scrollable_content_region.width}
        await pilot.resize_terminal(100, 40)
        await until(pilot, lambda: view.size.width < wide, "the narrower view")
        width = await _rendered_again(pilot, view)
        longest = max(len(line) for line in view.lines_text())
        assert longest <= width, (longest, width)


async def test_the_outline_opens_a_closed_section_far_down_and_scrolls_to_it(
    tmp_path: Path,
) -> None:
    text = (
        _long_note(30)
        + "<details>\n<summary>Far down</summary>\n\n## Inside it\n\nhidden text\n\n</details>\n\n"
        + _long_note(10).split("---\n", 2)[2]
    )
    ws = make_workspace(tmp_path / "ws", {"long.md": text})
    async with StudylogApp(ws, settings()).run_test(size=(120, 40)) as pilot:
        screen, view = await open_note(pilot, "long.md")
        assert screen.detail is not None
        everything = list(_walk_sections(screen.detail.sections))
        far = next(s for s in everything if s.title == "Far down")
        inside = next(s for s in everything if s.title == "Inside it")
        section = fold(view, "Far down")
        assert not section.open and "hidden text" not in _shown(view)
        await view.jump_to(inside)  # a heading inside the closed section
        assert section.open
        line = next(n for n, text in enumerate(view.lines_text()) if "Inside it" in text)
        assert int(view.scroll_y) == line > 0  # at the top of the view
        await until(pilot, lambda: "hidden text" in _shown(view), "its text shown")
        view.set_open(section, False)
        await view.jump_to(far)
        start = view.row_start(section)
        assert section.open and start is not None and int(view.scroll_y) == start > 0


async def test_a_search_hit_at_the_start_of_a_long_closed_section_lands_near_the_top(
    tmp_path: Path,
) -> None:
    # The section closed at the note's end, its text long after the hit: the scroll to the
    # hit stopped at the document's end before that text had lines (the hit at the bottom).
    text = (
        _long_note(3)
        + "<details>\n<summary>Last</summary>\n\nzebraword here\n\n"
        + _long_note(6).split("---\n", 2)[2]
        + "\n</details>\n"
    )
    ws = make_workspace(tmp_path / "ws", {"last.md": text})
    async with StudylogApp(ws, settings()).run_test(size=(120, 40)) as pilot:
        _, view = await open_note(pilot, "last.md")
        assert not fold(view, "Last").open
        assert await view.reveal(["zebraword"])
        line = next(n for n, text in enumerate(view.lines_text()) if "zebraword" in text)
        assert int(view.scroll_y) == line - 2  # two lines of context above it
        assert "zebraword" in _on_screen(view, line)


async def test_a_width_change_keeps_the_line_at_the_top_of_the_view(tmp_path: Path) -> None:
    """Scrolled far down, a narrower terminal renders every piece again (the ones above the
    view in slices, laid out once a slice): the row at the top stays there, at the same
    line of it."""
    ws = make_workspace(tmp_path / "ws", {"long.md": _long_note(60)})
    async with StudylogApp(ws, settings()).run_test(size=(150, 40)) as pilot:
        _, view = await open_note(pilot, "long.md")
        await until(pilot, lambda: view.ready.is_set(), "the whole note", seconds=60)
        view.scroll_to(y=400, animate=False, immediate=True)
        await until(pilot, lambda: int(view.scroll_y) == 400, "the scroll")
        index = view._row_at(400)
        row, offset = view._rows[index], 400 - view._starts[index]
        wide = view.size.width
        await pilot.resize_terminal(70, 40)
        await until(pilot, lambda: view.size.width < wide, "the narrower view")
        await _rendered_again(pilot, view)
        start = view.row_start(row)
        assert start is not None
        assert int(view.scroll_y) == start + min(offset, row.height - 1)
