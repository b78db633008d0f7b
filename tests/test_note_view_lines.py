"""Issue 10, third round: the note view's speed work (kept behaviour), the tree's group
labels cut before their count, and the run area's rows at small sizes. Real workspaces, a
real store, the real app under Pilot; every wait is on the app's state."""

from __future__ import annotations

from pathlib import Path

from studylog.tui.app import StudylogApp
from studylog.tui.widgets.note_tree import NoteTree
from tests.tui_helpers import make_workspace, notes_loaded, settings, until

LONG_TOPIC = "Optimisers and Schedulers in PyTorch, Part Two: a Long Group Name"


def _long_topic_note(number: int) -> str:
    return (
        f"---\ntitle: Lecture {number}\ndate: 2022-03-0{number}\n"
        f"topic: {LONG_TOPIC}\n---\n# Lecture {number}\n\nText.\n"
    )


async def test_a_long_group_label_is_cut_before_its_count(tmp_path: Path) -> None:
    extra: dict[str, str | bytes] = {
        f"{LONG_TOPIC}/l{n}.md": _long_topic_note(n) for n in (1, 2, 3)
    }
    ws = make_workspace(tmp_path / "ws", extra)
    async with StudylogApp(ws, settings()).run_test(size=(150, 45)) as pilot:
        screen = await notes_loaded(pilot)
        tree = screen.query_one(NoteTree)
        node = next((n for n in tree.root.children if LONG_TOPIC[:20] in str(n.label)), None)
        assert node is not None, [str(n.label) for n in tree.root.children]
        label = tree.render_label(node, tree.rich_style, tree.rich_style).plain
        room = tree.scrollable_content_region.width - 1
        assert label.endswith("  3"), label  # the count stays whole
        assert "…" in label  # the name is what is cut
        assert len(label) <= room, (label, room)
        assert label.startswith(("▼ ", "▶ "))  # the expand arrow stays


TRAINING = "pytorch/2022-01-21-training.md"


async def test_at_80x24_the_curve_of_a_run_gets_rows_to_read(tmp_path: Path) -> None:
    from studylog.store.history import list_runs
    from studylog.tui.widgets.metric_plot import MetricPlot
    from studylog.tui.widgets.note_view import NoteView
    from studylog.tui.widgets.run_log import RunLog

    ws = make_workspace(tmp_path / "ws")
    app = StudylogApp(ws, settings())
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await notes_loaded(pilot)
        screen.open_note(TRAINING)
        view = screen.query_one(NoteView)
        await until(pilot, lambda: view.ready.is_set() and screen.snippet == "train", "the note")
        await pilot.press("r")
        await until(pilot, lambda: screen.running is None and list_runs(app.db), "the run")
        plot = screen.query_one(MetricPlot)
        await until(pilot, lambda: plot.curves.get("loss"), "the curve")
        await pilot.pause()
        # The curve: its title, frame and x ticks take four rows (a short plot leaves out the
        # x label); three are left for the curve itself. The output keeps four lines; the
        # note keeps its rows.
        assert plot.size.height >= 7, plot.size
        assert screen.query_one(RunLog).size.height >= 4
        assert view.size.height >= 8, view.size


async def test_a_note_with_no_body_counts_as_painted_and_ready(tmp_path: Path) -> None:
    from studylog.tui.widgets.note_view import NoteView

    extra: dict[str, str | bytes] = {"empty.md": "---\ntitle: Only a title\n---\n"}
    ws = make_workspace(tmp_path / "ws", extra)
    async with StudylogApp(ws, settings()).run_test(size=(100, 30)) as pilot:
        screen = await notes_loaded(pilot)
        screen.open_note("empty.md")
        view = screen.query_one(NoteView)
        # Waiters on the first screen (the outline, search, the benchmark) are let go.
        await until(
            pilot,
            lambda: (
                view.detail is not None
                and view.detail.summary.path == "empty.md"
                and view.ready.is_set()
                and view.first_painted.is_set()
            ),
            "the empty note painted",
        )
        assert "Only a title" in view.header.plain
