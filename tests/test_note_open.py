"""Issue 10, fourth round: opening a note. A search hit in the note already open reveals
its match in place (the sections the user opened stay open), the header's path fits its
line at 80 columns (cut at its start, never mid-word), and the app's startup objects are
out of the collector's full passes while it runs. Real workspaces, a real store, the real
app under Pilot; every wait is on the app's state."""

from __future__ import annotations

import gc
from pathlib import Path

from studylog.tui.app import StudylogApp
from studylog.tui.screens.main import MainScreen
from studylog.tui.widgets.note_document import fit_path
from studylog.tui.widgets.note_view import NoteView
from studylog.tui.widgets.search_panel import SearchPanel
from tests.tui_helpers import fold, make_workspace, notes_loaded, open_note, settings, until

FILLER = "\n\n".join(f"Paragraph {n} of plain study text about tensors." for n in range(12))

SECTIONS_NOTE = f"""---
title: Three closed sections
date: 2022-02-10
topic: Deep Learning Basics
---
# Three closed sections

{FILLER}

<details>
<summary>First section</summary>

{FILLER}

</details>

<details>
<summary>Second section</summary>

{FILLER}

</details>

<details>
<summary>Third section</summary>

{FILLER}

The word zanzibarite is only here.

</details>
"""


async def test_a_search_hit_in_the_open_note_keeps_its_sections_and_reveals_the_match(
    tmp_path: Path,
) -> None:
    ws = make_workspace(tmp_path / "ws", {"sections.md": SECTIONS_NOTE})
    async with StudylogApp(ws, settings()).run_test(size=(120, 30)) as pilot:
        screen, view = await open_note(pilot, "sections.md")
        # The user opened the first section and left the others closed.
        view.set_open(fold(view, "First section"), True)
        await until(pilot, lambda: view.ready.is_set(), "the first section rendered")
        opened = view.detail

        # A search hit in the same note, chosen as the results list chooses it.
        screen.query_one(SearchPanel).post_message(
            SearchPanel.Chosen("sections.md", ["zanzibarite"])
        )
        await until(pilot, lambda: view.highlighting, "the match revealed")
        await until(pilot, lambda: view.ready.is_set(), "the sections around it rendered")
        await pilot.pause()

        assert fold(view, "First section").open  # what the user opened stays open
        assert view.detail is opened  # not shown again
        assert not fold(view, "Second section").open  # and what was closed stays closed
        assert fold(view, "Third section").open  # the match's section is opened
        top = int(view.scroll_y)
        on_screen = view.lines_text()[top : top + view.size.height]
        assert any("zanzibarite" in line for line in on_screen), on_screen
        assert screen.focused is view


async def test_a_focus_moved_while_the_note_opens_stays_where_the_user_put_it(
    tmp_path: Path,
) -> None:
    from textual.widgets import Input

    from studylog.tui.widgets.note_tree import NoteTree

    ws = make_workspace(tmp_path / "ws", {"sections.md": SECTIONS_NOTE})
    async with StudylogApp(ws, settings()).run_test(size=(120, 30)) as pilot:
        screen = await notes_loaded(pilot)
        view = screen.query_one(NoteView)
        search = screen.query_one("#search-input", Input)
        # Enter on a note (its message handled), then at once / : the note is read in a
        # thread and painted at a refresh, after the focus has moved.
        screen._chosen(NoteTree.Chosen("sections.md"))
        search.focus()
        await until(
            pilot, lambda: view.detail is not None and view.first_painted.is_set(), "the note"
        )
        await pilot.pause()
        assert screen.focused is search
        # Chosen with the focus still in the sidebar: the note gets it, once painted.
        screen.query_one(NoteTree).focus()
        await pilot.pause()
        screen.query_one(NoteTree).post_message(NoteTree.Chosen("dl/2022-01-20-backprop.md"))
        await until(pilot, lambda: screen.focused is view, "the focus on the note")


DEEP = "lectures/2022-winter/pytorch-autograd-dataset/autograd-dataset-and-dataloader.md"
DEEP_NOTE = "---\ntitle: Datasets\ndate: 2022-01-25\ntopic: Pytorch\n---\nText.\n"


async def test_at_80_columns_the_header_path_is_cut_at_its_start_not_mid_word(
    tmp_path: Path,
) -> None:
    ws = make_workspace(tmp_path / "ws", {DEEP: DEEP_NOTE})
    async with StudylogApp(ws, settings()).run_test(size=(80, 24)) as pilot:
        screen = await notes_loaded(pilot)
        view = screen.query_one(NoteView)
        screen.open_note(DEEP)
        await until(
            pilot, lambda: view.detail is not None and view.first_painted.is_set(), "the note"
        )
        await pilot.pause()
        lines = [line.strip() for line in view.lines_text()]
        assert lines[0] == "Datasets"
        place = lines[1]
        # One line, the file name whole, the folders cut at a `/` with … at its start.
        assert place.startswith("…/"), lines[:4]
        assert place.endswith("/autograd-dataset-and-dataloader.md"), lines[:4]
        assert len(place) <= view.scrollable_content_region.width - 2
        assert lines[2].startswith("2022-01-25"), lines[:4]  # the facts line follows


def test_a_path_is_fitted_by_its_folders_then_by_its_file_name() -> None:
    assert fit_path("notes/a.md", 20) == "notes/a.md"
    assert fit_path("notes/deep/folder/a.md", 15) == "…/folder/a.md"
    assert fit_path("notes/a-very-long-file-name.md", 12) == "…ile-name.md"
    # Wide (Korean) characters count two cells each.
    fitted = fit_path("강의/역전파-연쇄-법칙-정리.md", 12)
    assert fitted.startswith("…") and fitted.endswith("정리.md")
    from rich.cells import cell_len

    assert cell_len(fitted) <= 12


async def test_the_startup_objects_leave_the_full_collections_while_the_app_runs(
    tmp_path: Path,
) -> None:
    ws = make_workspace(tmp_path / "ws")
    async with StudylogApp(ws, settings()).run_test(size=(100, 30)) as pilot:
        screen = pilot.app.screen
        assert isinstance(screen, MainScreen)
        await until(pilot, lambda: gc.get_freeze_count() > 0, "the startup objects frozen")
    # Collectable again once the app is gone (many apps run in one process).
    assert gc.get_freeze_count() == 0
