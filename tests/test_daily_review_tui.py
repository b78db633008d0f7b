"""The tree's due-card marks (counted in a worker, gone once a card is rated) and an
answer's snippet run from the review screen through the run session."""

from __future__ import annotations

from textual.widgets import Static

from studylog.store.history import list_runs
from studylog.tui.app import StudylogApp
from studylog.tui.screens.main import MainScreen
from studylog.tui.screens.review import ReviewScreen
from studylog.tui.widgets.note_tree import NoteTree
from tests.tui_helpers import main_screen, make_workspace, settings, until, until_screen

ONE_CARD = """---
title: Autograd
date: 2022-01-25
topic: Pytorch
---
# Autograd

<details>
<summary>What does the snippet print?</summary>
<div markdown="1">

It prints a **sum**.

```python run name=sum
print("total", 2 + 3)
```

</div>
</details>
"""

PATH = "pytorch/2022-01-25-autograd.md"


def _tree_lines(tree: NoteTree) -> list[str]:
    lines = []

    def walk(node):
        for child in node.children:
            lines.append(tree.render_label(child, tree.rich_style, tree.rich_style).plain)
            walk(child)

    walk(tree.root)
    return lines


def _note_line(tree: NoteTree) -> str:
    return next((line for line in _tree_lines(tree) if "Autograd" in line), "")


def _group_line(tree: NoteTree) -> str:
    found = (line for line in _tree_lines(tree) if line.lstrip("▶▼ ").startswith("Pytorch"))
    return next(found, "")


async def _review(pilot, app) -> ReviewScreen:
    await pilot.press("L")
    screen = await until_screen(pilot, ReviewScreen, "the review")
    await until(pilot, lambda: screen.cards is not None, "the cards")
    return screen


async def test_due_cards_show_in_the_tree_and_go_once_rated(tmp_path):
    ws = make_workspace(tmp_path / "ws", {PATH: ONE_CARD})
    app = StudylogApp(ws, settings())
    async with app.run_test(size=(120, 40)) as pilot:
        main = app.screen
        assert isinstance(main, MainScreen)
        tree = main.query_one(NoteTree)
        # The watch pass syncs the cards and counts them, off the loop.
        await until(pilot, lambda: tree.due_counts, "the due counts")
        await until(pilot, lambda: "?1" in _note_line(tree), "the note's mark")
        assert "?1" in _group_line(tree)  # the group sums its notes'
        assert "◆1" in _note_line(tree)  # beside the snippet mark
        assert not any("?" in line for line in _tree_lines(tree) if "Backprop" in line)

        screen = await _review(pilot, app)
        assert screen.cards is not None
        assert [c.question for c in screen.cards] == ["What does the snippet print?"]
        await pilot.press("space", "3")  # Good: due again in minutes, not now
        assert screen.cards == []
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is main, "the main screen")
        await until(pilot, lambda: "?" not in _note_line(tree), "the mark to go")
        assert "?" not in _group_line(tree)
        assert tree.due_counts == {}


async def test_a_long_title_is_cut_before_the_due_mark(tmp_path):
    long = ONE_CARD.replace("title: Autograd", "title: Autograd " + "very long words " * 12)
    ws = make_workspace(tmp_path / "ws", {PATH: long})
    app = StudylogApp(ws, settings())
    async with app.run_test(size=(100, 30)) as pilot:
        tree = app.screen.query_one(NoteTree)
        await until(pilot, lambda: "?1" in _note_line(tree), "the note's mark")
        line = _note_line(tree)
        assert line.endswith("◆1 ?1") and "…" in line


async def test_an_answers_snippet_runs_through_the_session_and_is_kept(tmp_path):
    ws = make_workspace(tmp_path / "ws", {PATH: ONE_CARD})
    app = StudylogApp(ws, settings())
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: main_screen(pilot).notes, "the notes to load")
        screen = await _review(pilot, app)
        await pilot.press("r")  # before the answer shows: nothing runs
        assert screen.answer_run is None
        await pilot.press("space", "r")
        await until(
            pilot,
            lambda: screen.answer_run is not None and screen.answer_run.status != "running",
            "the run to end",
            seconds=60,
        )
        assert screen.answer_run is not None and screen.answer_run.status == "succeeded"
        assert screen.answer_run.lines == ["total 5"]
        # The status is drawn on the next RunChanged message: wait for the screen, not the model.
        review_run = screen.query_one("#review-run", Static)
        shown = await until(
            pilot,
            lambda: "succeeded" in str(review_run.render()) and str(review_run.render()),
            "the status shown",
        )
        assert "total 5" in shown
        runs = list_runs(app.db, snippet="sum")
        assert [(r.note_path, r.status) for r in runs] == [(PATH, "succeeded")]
        assert [r.id for r in runs] == screen.answer_run.run_ids
        # The card is still there to rate.
        assert screen.card is not None
