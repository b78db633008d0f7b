"""Issue 10, the small things: the run area's rows at 80×24 and 100×30, the curve's ticks,
compact search hits, the tree kept open when a note is added, the tree's marks. Real
files, a real store, real child processes; every wait is on the app's state."""

from __future__ import annotations

import datetime as dt
import shlex
import sys
from pathlib import Path

import pytest
from rich.cells import cell_len
from textual.widgets import Input, OptionList
from textual.widgets.tree import TreeNode

from studylog.grouping import Group
from studylog.paths import Workspace
from studylog.store.queries import NoteSummary
from studylog.store.search import plain_text
from studylog.tui.app import StudylogApp
from studylog.tui.screens.new_note import NewNoteScreen
from studylog.tui.widgets.metric_plot import MetricPlot, nice_ticks, short_number, tick_labels
from studylog.tui.widgets.note_tree import SNIPPET_MARK, NoteTree
from studylog.tui.widgets.note_view import NoteView
from tests.tui_helpers import (
    TRAINING,
    make_workspace,
    notes_loaded,
    open_snippets,
    settings,
    until,
    until_screen,
)

THREE = "pytorch/2022-01-23-three.md"
THREE_NOTE = """---
title: Three snippets
date: 2022-01-23
topic: Pytorch
lecture: 6
---
# Three snippets

```python run name=first
from studylog import track
for i in range(8):
    print(f"line {i}")
    track.log(step=i, loss=1.0 / (i + 1))
```

```python run name=second
print("two")
```

```python run name=third
print("three")
```
"""


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return make_workspace(tmp_path / "ws", {THREE: THREE_NOTE})


def _app(ws: Workspace) -> StudylogApp:
    return StudylogApp(ws, settings())


# -- 1. the run area at 80×24 and 100×30 -------------------------------------------------


@pytest.mark.parametrize("size", [(80, 24), (100, 30)], ids=["80x24", "100x30"])
async def test_small_terminal_run_area_shows_three_snippets_four_output_lines_and_the_curve(
    ws: Workspace, size: tuple[int, int]
) -> None:
    async with _app(ws).run_test(size=size) as pilot:
        screen = await open_snippets(pilot, THREE, "first")
        area = screen.run_area
        assert area is not None
        await pilot.press("r")  # eight lines of output
        await until(pilot, lambda: len(area.log_view.lines) >= 8, "the output")
        # The snippet logs a curve: without one the plot hides (test_run_area_plot).
        await until(pilot, lambda: area.plot.display, "the curve")
        await pilot.pause()
        snippets, log, plot = area.snippets, area.log_view, area.plot
        # Three snippet rows under the header, no horizontal scrollbar eating one.
        assert snippets.scrollable_content_region.height >= 1 + 3, snippets.region
        assert not snippets.scrollbars_enabled[1]
        # Four lines of output, the curve under them, the note above with a few rows.
        assert log.scrollable_content_region.height >= 4, log.region
        assert plot.region.height >= 7, plot.region
        assert screen.query_one(NoteView).region.height >= 5
        # Everything on the screen, above the footer.
        assert plot.region.bottom <= size[1] - 1
        # The note's column keeps most of the width (a slim sidebar at 100 columns).
        assert screen.query_one("#main").region.width >= 68


# -- 2. the curve's ticks ------------------------------------------------------------------


def test_nice_ticks_are_round_and_whole_steps_are_integers() -> None:
    ticks, shown = nice_ticks(0, 99, 5, integer=True)
    assert ticks == [0, 20, 40, 60, 80] and shown == (0, 99)
    ticks, _ = nice_ticks(10, 12, 8, integer=True)  # zoomed in: never 10.5
    assert ticks == [10, 11, 12]
    ticks, _ = nice_ticks(3, 1_000_003, 4, integer=True)
    assert all(t == int(t) for t in ticks)


def test_nice_ticks_loose_range_labels_both_ends() -> None:
    # A loss from 7.1 down to 0.003: the range grows to the ticks, 0 is labelled.
    ticks, shown = nice_ticks(0.003, 7.1, 2, loose=True)
    assert ticks[0] == 0 and ticks[-1] >= 7.1
    assert shown == (ticks[0], ticks[-1])
    ticks, shown = nice_ticks(-3, 2, 3, loose=True)
    assert 0 in ticks and shown[0] <= -3 and shown[1] >= 2
    ticks, shown = nice_ticks(1.5, 1.5, 3, loose=True)  # one value: a range around it
    assert shown[0] < 1.5 < shown[1] and 1.5 in ticks


def test_tick_labels_are_short_and_distinct() -> None:
    assert [short_number(v) for v in (0, 0.25, 12, 1200, 3_400_000, 3e-4, 999.9)] == [
        "0",
        "0.25",
        "12",
        "1.2k",
        "3.4M",
        "3e-4",
        "1k",
    ]
    assert tick_labels([1000.1, 1000.2, 1000.3]) == ["1.0001k", "1.0002k", "1.0003k"]
    assert tick_labels([0, 2e-4, 4e-4]) == ["0", "2e-4", "4e-4"]


def _axes(plot: MetricPlot) -> tuple[list[str], list[str]]:
    """The y and the x tick labels of the plot as drawn on screen."""
    render = plot.render()
    lines = getattr(render, "plain", str(render)).splitlines()
    y_labels = [line.split("┤")[0].strip() for line in lines if "┤" in line]
    bottom = next(i for i, line in enumerate(lines) if "└" in line)
    x_labels = lines[bottom + 1].split() if bottom + 1 < len(lines) else []
    return y_labels, x_labels


async def test_curve_at_80x24_has_a_zero_tick_and_whole_steps(ws: Workspace) -> None:
    async with _app(ws).run_test(size=(80, 24)) as pilot:
        screen = await open_snippets(pilot, TRAINING, "train")
        area = screen.run_area
        assert area is not None
        await pilot.press("r")  # train: loss 1/(step+1) over steps 0-19
        await until(pilot, lambda: len(area.plot.curves.get("loss", [])) == 20, "the curve")
        await until(pilot, lambda: area.running is None, "the run to end")
        area.plot.draw()
        await pilot.pause()
        y_labels, x_labels = _axes(area.plot)
        assert "0" in y_labels, y_labels  # the bottom of a loss that nears 0
        assert len(y_labels) >= 2
        assert x_labels and all(label.isdigit() for label in x_labels), x_labels
        assert all(len(label) <= 5 for label in y_labels + x_labels)
        # Zoomed in: steps stay whole, never 10.5.
        area.plot.focus()
        await pilot.press("plus", "plus")
        await pilot.pause()
        _, x_labels = _axes(area.plot)
        assert x_labels and all(label.isdigit() for label in x_labels), x_labels


# -- 3. search hits ------------------------------------------------------------------------

LONG_PATH = "courses/deep-learning-fundamentals/2022-01-28-dataloader-worker-processes.md"
MARKED_NOTE = """---
title: DataLoader workers and their random seeds in long training runs
date: 2022-01-28
---
# Workers

Use **several workers** with [the docs](https://pytorch.org/docs/stable/data.html) and
`num_workers=2`; *each* worker seeds itself.
"""


def _option_lines(results: OptionList) -> list[str]:
    """The search results' lines as drawn."""
    return [results.render_line(y).text.rstrip() for y in range(results.size.height)]


async def test_search_hits_are_cut_with_an_ellipsis_and_read_as_plain_text(
    tmp_path: Path,
) -> None:
    ws = make_workspace(tmp_path / "ws", {LONG_PATH: MARKED_NOTE})
    async with _app(ws).run_test(size=(80, 24)) as pilot:
        screen = await notes_loaded(pilot)
        await pilot.press("slash", *"docs")
        results = screen.query_one("#search-results", OptionList)
        await until(pilot, lambda: results.option_count == 1, "the hit")
        await pilot.pause()
        lines = [line.strip(" ▊▎") for line in _option_lines(results)]
        lines = [line for line in lines if line]
        # One hit, three lines: title, path, excerpt; each cut with …, none wrapped.
        assert len(lines) == 3, lines
        title, path, excerpt = lines
        assert title.endswith("…") and MARKED_NOTE.count(title.rstrip("…")) == 1
        assert path.endswith("…") and f"notes/{LONG_PATH}".startswith(path.rstrip("…"))
        # The excerpt as plain text: no **, no link target, no backticks or heading marks.
        assert "the docs and num_" in excerpt, excerpt  # [the docs](…) and `num_workers=2`
        for mark in ("**", "](", "`", "#", "https"):
            assert mark not in excerpt, (mark, excerpt)


def test_excerpts_read_inline_markdown_as_plain_text() -> None:
    text = "# Title\n**bold**, *em*, ~~old~~, [text](https://x.org), ![alt](a.png), `code`\n"
    assert " ".join(plain_text(text).split()) == "Title bold, em, old, text, alt, code"
    # Not the marks inside words and code: snake_case, x**2, a * b.
    assert plain_text("autograd_basics and x**2 and a * b * c") == (
        "autograd_basics and x**2 and a * b * c"
    )
    assert plain_text("| a | b |\n|---|:-:|\n| 1 | 2 |").split() == ["a", "|", "b", "1", "|", "2"]


# -- 4. a new note keeps the tree as it was ------------------------------------------------


def _open_groups(tree: NoteTree) -> set[str]:
    """The labels' names of the open groups in the tree, by the way to them."""
    found: set[str] = set()

    def walk(node: TreeNode[object], way: str) -> None:
        for child in node.children:
            if isinstance(child.data, Group) and child.is_expanded:
                found.add(f"{way}/{child.data.label}")
                walk(child, f"{way}/{child.data.label}")

    walk(tree.root, "")
    return found


async def test_a_new_note_keeps_the_open_branches_and_is_selected(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An editor that exits at once, as a person who saved the template would leave it.
    monkeypatch.setenv("EDITOR", f"{shlex.quote(sys.executable)} -c pass")
    monkeypatch.delenv("VISUAL", raising=False)
    async with _app(ws).run_test(size=(140, 44)) as pilot:
        screen = await notes_loaded(pilot)
        tree = screen.query_one(NoteTree)
        # The user opens the branch of a note (second level) and closes a first-level one.
        tree.select_path(TRAINING)
        await until(pilot, lambda: "/Pytorch/Lecture 5" in _open_groups(tree), "the branch")
        no_topic = next(
            c
            for c in tree.root.children
            if isinstance(c.data, Group) and c.data.label == "No topic"
        )
        no_topic.collapse()
        closed = "/No topic"
        basics = next(
            c
            for c in tree.root.children
            if isinstance(c.data, Group) and c.data.label == "Deep Learning Basics"
        )
        await until(pilot, lambda: basics.children, "the first level's groups")
        basics.children[0].expand()  # a branch away from the cursor, opened by hand
        await pilot.pause()
        before = _open_groups(tree)
        assert "/Pytorch/Lecture 5" in before and closed not in before
        assert "/Deep Learning Basics/Lecture 4" in before, before
        await pilot.press("n")
        dialog = await until_screen(pilot, NewNoteScreen, "the new-note dialog")
        dialog.query_one("#new-lecture", Input).value = "7"
        await pilot.press(*"Schedulers", "enter")
        made = f"pytorch/{dt.date.today().isoformat()}-schedulers.md"
        await until(
            pilot,
            lambda: screen.detail is not None and screen.detail.summary.path == made,
            "the new note to open",
        )

        def selected() -> str | None:
            node = tree.cursor_node
            return (
                node.data.path if node is not None and isinstance(node.data, NoteSummary) else None
            )

        await until(pilot, lambda: selected() == made, "the new note selected in the tree")
        # The branches open before are open still (and the new note's way with them).
        assert before <= _open_groups(tree), (before, _open_groups(tree))
        assert closed not in _open_groups(tree)


# -- 5. the tree's marks -----------------------------------------------------------------

LONG_TITLE = "역전파와 연쇄 법칙을 손으로 풀어 보는 아주 긴 제목의 강의 노트 " * 2
LONG_NOTE = f"""---
title: {LONG_TITLE.strip()}
date: 2022-01-30
topic: Pytorch
lecture: 5
---
# Long

```python run name=one
print(1)
```

```python run name=two
print(2)
```

```python run name=three
print(3)
```
"""


def _tree_lines(tree: NoteTree) -> list[str]:
    return [tree.render_line(y).text.rstrip() for y in range(tree.size.height)]


@pytest.mark.parametrize("mode", ["topic", "date"])
async def test_tree_marks_differ_from_the_arrows_and_a_long_title_is_cut_before_them(
    tmp_path: Path, mode: str
) -> None:
    ws = make_workspace(tmp_path / "ws", {"pytorch/2022-01-30-long.md": LONG_NOTE})
    async with _app(ws).run_test(size=(80, 24)) as pilot:
        screen = await notes_loaded(pilot)
        tree = screen.query_one(NoteTree)
        if mode == "date":
            await pilot.press("t")
        tree.select_path("pytorch/2022-01-30-long.md")
        await until(
            pilot,
            lambda: any("◆3" in line for line in _tree_lines(tree)),
            "the long note's line",
        )
        lines = _tree_lines(tree)
        (line,) = [line for line in lines if "◆3" in line]
        # Cut before the mark, the mark whole at the end, inside the tree's width.
        assert "…" in line and line.rstrip(" │▁▂▃▄▅▆▇█▊▌").endswith("◆3"), line
        assert cell_len(line) <= tree.size.width
        # Arrows fold and unfold groups; the snippet mark is another glyph, on notes only.
        arrows = [line for line in lines if "▶" in line or "▼" in line]
        assert arrows and not any("◆" in line for line in arrows), arrows
        assert SNIPPET_MARK not in (NoteTree.ICON_NODE + NoteTree.ICON_NODE_EXPANDED)


async def test_footer_and_help_fit_80_columns(ws: Workspace) -> None:
    from textual.widgets._footer import FooterKey

    async with _app(ws).run_test(size=(80, 24)) as pilot:
        screen = await notes_loaded(pilot)
        keys = await until(
            pilot,
            lambda: [k for k in screen.query(FooterKey) if k.region.width] or None,
            "the footer's keys laid out",
        )
        await pilot.pause()
        keys = list(screen.query(FooterKey))
        assert keys and all(0 < key.region.right <= 80 for key in keys), [
            (key.key_display, key.region) for key in keys
        ]
        await pilot.press("question_mark")
        await until(pilot, lambda: pilot.app.screen is not screen, "the help")
        await pilot.pause()
        help_panel = pilot.app.screen.query_one("#help")
        assert help_panel.region.right <= 80
        assert help_panel.max_scroll_x == 0  # nothing wider than the screen
