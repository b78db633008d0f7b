"""Snapshots (pytest-textual-snapshot) of the main screen, a run in progress, the comparison
view and the help screen. Runs are recorded at fixed times and the elapsed clock is fixed,
so the pictures do not change from one day to the next."""

from __future__ import annotations

import pytest

import studylog.store.runs as store_runs
import studylog.tui.widgets.run_area as run_area
from studylog.store.runs import RunCost
from studylog.tui.app import StudylogApp
from studylog.tui.widgets.metric_plot import MetricPlot
from studylog.tui.widgets.runs_table import RunsTable
from tests.store_helpers import indexed_store, record_run
from tests.tui_helpers import make_workspace, settings, until

SIZE = (140, 44)
TRAINING = "pytorch/2022-01-21-training.md"


@pytest.fixture
def fixed_time(monkeypatch):
    monkeypatch.setattr(store_runs, "now_iso", lambda: "2026-11-20T21:30:00.000+00:00")
    monkeypatch.setattr(run_area, "_clock", lambda: 0.0)


@pytest.fixture
def ws(tmp_path, fixed_time):
    ws = make_workspace(tmp_path / "ws")
    db = indexed_store(ws)
    # Two recorded runs of the training snippet, as two learning rates would give them.
    for seed, rate in ((0, 0.5), (1, 0.2)):
        record_run(
            db,
            TRAINING,
            "train",
            "trained 40 steps\n",
            {"loss": [2.0 / (1 + rate * s) for s in range(40)]},
            seed=seed,
            params={"lr": rate},
            duration=1.25,
            cost=RunCost(peak_memory=180 * 2**20, cpu_user=1.0, cpu_system=0.2),
            ms_per_step=10,
        )
    db.close()
    return ws


def _app(ws) -> StudylogApp:
    return StudylogApp(ws, settings())


async def _open_training(pilot) -> None:
    screen = pilot.app.screen
    await until(pilot, lambda: screen.notes, "the notes")
    screen.query_one("#tree").select_path(TRAINING)
    screen.open_note(TRAINING)
    await until(pilot, lambda: screen.detail is not None and screen.snippet == "train", "the note")
    await pilot.pause()


def test_main_screen(snap_compare, ws):
    assert snap_compare(_app(ws), terminal_size=SIZE, run_before=_open_training)


def test_run_in_progress(snap_compare, ws):
    async def run_slow(pilot):
        screen = pilot.app.screen
        await until(pilot, lambda: screen.notes, "the notes")
        path = "pytorch/2022-02-01-slow.md"
        screen.query_one("#tree").select_path(path)
        screen.open_note(path)
        await until(pilot, lambda: screen.snippet == "slow", "the note")
        await pilot.press("r")
        plot = screen.query_one(MetricPlot)
        area = screen.run_area
        await until(
            pilot,
            lambda: len(plot.curves.get("loss", [])) == 5 and area.log_view.lines,
            "live points and output",
        )
        plot.draw()  # what their timers would draw next, drawn now
        area.draw_status()
        await pilot.pause()

    assert snap_compare(_app(ws), terminal_size=SIZE, run_before=run_slow)


def test_comparison_view(snap_compare, ws):
    async def compare(pilot):
        await _open_training(pilot)
        pilot.app.screen.query_one(RunsTable).focus()
        await pilot.press("space", "down", "space", "v")
        # The runs are read in a worker, then the comparison is pushed: wait for it.
        from studylog.tui.screens.compare import CompareScreen

        await until(pilot, lambda: isinstance(pilot.app.screen, CompareScreen), "the comparison")
        # Draw now what the plot's timer would draw next, so the picture does not race it.
        pilot.app.screen.query_one(MetricPlot).draw()
        await pilot.pause()

    assert snap_compare(_app(ws), terminal_size=SIZE, run_before=compare)


def test_help_screen(snap_compare, ws):
    async def help_screen(pilot):
        await until(pilot, lambda: pilot.app.screen.notes, "the notes")
        await pilot.press("question_mark")

    assert snap_compare(_app(ws), terminal_size=SIZE, run_before=help_screen)


# -- small terminals (issue 10): the sidebar hides itself, the run area keeps its rows -----


async def _open_training_ready(pilot) -> None:
    from studylog.tui.widgets.note_view import NoteView

    await _open_training(pilot)
    view = pilot.app.screen.query_one(NoteView)
    await until(pilot, view.ready.is_set, "the note rendered")
    await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (100, 30)], ids=["80x24", "100x30"])
def test_main_screen_small(snap_compare, ws, size):
    assert snap_compare(_app(ws), terminal_size=size, run_before=_open_training_ready)


def test_help_screen_80x24(snap_compare, ws):
    async def help_screen(pilot):
        await until(pilot, lambda: pilot.app.screen.notes, "the notes")
        await pilot.press("question_mark")

    assert snap_compare(_app(ws), terminal_size=(80, 24), run_before=help_screen)
