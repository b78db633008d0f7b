"""The TUI comparison lets the user choose which of the group's runs to overlay (issue 13), and
the run MLflow shows names the note by its real place (issue 11), against a real MLflow
tracking server (the fixtures of tests/test_sync.py)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import Cli
from tests.test_sync import (  # noqa: F401 (fixtures used by name)
    _quick_failures,
    _sync,
    _workspace,
    mlflow_server,
)

pytest.importorskip("mlflow.server", reason="the sync tests need `pip install -e '.[sync-server]'`")

from mlflow import MlflowClient

if TYPE_CHECKING:
    from textual.app import App

    from studylog.tui.screens.teammates import TeammatesDialog


def _shown(app: App[Any]) -> TeammatesDialog | None:
    """The dialog with its list of runs, once it is on screen (None before)."""
    from studylog.tui.screens.teammates import RunChoices, TeammatesDialog

    screen = app.screen
    if isinstance(screen, TeammatesDialog) and screen.query(RunChoices):
        return screen
    return None


@pytest.fixture
def group(tmp_path: Path, mlflow_server: str, monkeypatch: pytest.MonkeyPatch) -> Path:  # noqa: F811
    """Alice sent two runs of the snippet, Carol two of other code; Bob's workspace (his own
    run sent too: never offered as a teammate's)."""
    note = f"choose-{uuid.uuid4().hex[:8]}.md"  # the server is shared by the tests
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "alice")
    alice = _workspace(tmp_path, "alice", mlflow_server, steps=20, note=note)
    alice("run", note, "--snippet", "adam")
    assert _sync(alice)["sent"] == 2
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "carol")
    carol = _workspace(tmp_path, "carol", mlflow_server, steps=20, scale=3.0, note=note)
    carol("run", note, "--snippet", "adam")
    assert _sync(carol)["sent"] == 2
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "bob")
    bob = _workspace(tmp_path, "bob", mlflow_server, steps=20, note=note)
    assert _sync(bob)["sent"] == 1
    return bob.root


async def test_the_user_chooses_which_teammates_runs_to_overlay(group: Path) -> None:
    from textual.widgets import DataTable

    from studylog.paths import Workspace
    from studylog.settings import load_settings
    from studylog.store.history import get_run, list_runs
    from studylog.tui.app import StudylogApp
    from studylog.tui.screens.compare import CompareScreen
    from studylog.tui.screens.teammates import RunChoices
    from studylog.tui.widgets.metric_plot import MetricPlot
    from tests.tui_helpers import notifications, until

    ws = Workspace(group)
    app = StudylogApp(ws, load_settings(ws.settings_file))
    async with app.run_test(size=(140, 45)) as pilot:
        mine = {"#1 adam · m0": [(0, 1.0)]}
        compare = CompareScreen([get_run(app.db, 1)], dict(mine))
        app.push_screen(compare)
        await pilot.pause()
        await pilot.press("t")  # fetched in a worker, then offered in a list
        dialog = await until(
            pilot,
            lambda: _shown(app),
            "the list of the group's runs",
            seconds=120,
        )
        runs = dialog.runs
        # Everyone's but Bob's own, newest first: member, started, status, same code or not.
        assert [r.user for r in runs] == ["carol", "carol", "alice", "alice"]
        assert [r.same_code for r in runs] == [False, False, True, True]
        choices = dialog.query_one(RunChoices)
        lines = [str(choices.get_option_at_index(i).prompt) for i in range(4)]
        assert "carol" in lines[0] and "code differs" in lines[0] and "succeeded" in lines[0]
        assert "alice" in lines[3] and "same code" in lines[3]
        assert runs[3].started[:10] in lines[3]
        # The first time, the newest three are chosen.
        assert set(choices.selected) == {r.mlflow_run_id for r in runs[:3]}
        # Space toggles: Carol's newest off, Alice's oldest on; Enter overlays.
        assert choices.highlighted == 0
        await pilot.press("space", "end", "space", "enter")
        wanted = [r.mlflow_run_id for r in runs[1:]]
        await until(
            pilot,
            lambda: [r.run.mlflow_run_id for r in compare.remote] == wanted,
            "the chosen runs overlaid",
            seconds=120,
        )
        assert app.screen is compare
        plot = compare.query_one(MetricPlot)
        remote = sorted(c for c in plot.curves if c.startswith("⇣") and c.endswith(" · m0"))
        assert len(remote) == 3, remote
        assert "⇣ adam@carol · m0" in remote  # one run of Carol's: named by member
        # Two of Alice's: told apart by when they started.
        assert sum(c.startswith("⇣ adam@alice 20") for c in remote) == 2, remote
        assert compare.query_one("#compare-table", DataTable).row_count == 4
        # Open again: what is overlaid is what is chosen; Escape changes nothing.
        await pilot.press("t")
        dialog = await until(
            pilot,
            lambda: _shown(app),
            "the list again",
            seconds=120,
        )
        assert set(dialog.query_one(RunChoices).selected) == set(wanted)
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is compare, "the comparison again")
        assert [r.run.mlflow_run_id for r in compare.remote] == wanted
        # Choosing none takes the remote curves away again.
        await pilot.press("t")
        dialog = await until(
            pilot,
            lambda: _shown(app),
            "the list a third time",
            seconds=120,
        )
        dialog.query_one(RunChoices).deselect_all()
        await pilot.press("enter")
        await until(pilot, lambda: not compare.remote, "no remote run overlaid")
        assert sorted(compare.query_one(MetricPlot).curves) == sorted(mine)
        assert compare.query_one("#compare-table", DataTable).row_count == 1
        assert not notifications(app, "warning")
        assert len(list_runs(app.db)) == 1  # pulled runs are never stored here


def test_the_mlflow_run_names_a_blog_post_by_its_place(
    tmp_path: Path,
    mlflow_server: str,  # noqa: F811
) -> None:
    from test_real_notes import make_blog

    root = make_blog(tmp_path / "myblog")
    experiment = f"blog-{uuid.uuid4().hex[:8]}"
    (root / "studylog.toml").write_text(
        f'[sync]\nmlflow_uri = "{mlflow_server}"\nexperiment = "{experiment}"\n', encoding="utf-8"
    )
    post = "_posts/2022-01-10-hello-run.md"
    (root / post).write_text(
        "---\ntitle: Hello run\n---\n\n# Hello run\n\n```python run name=hello\nprint('hi')\n```\n",
        encoding="utf-8",
    )
    cli = Cli(root)
    cli("run", "hello-run")
    assert _sync(cli)["sent"] == 1
    client = MlflowClient(mlflow_server)
    exp = client.get_experiment_by_name(experiment)
    assert exp is not None
    (run,) = client.search_runs([exp.experiment_id])
    assert run.data.tags["mlflow.note.content"] == f"{post} · snippet hello"


def test_the_remote_runs_table_shows_a_teammates_names_as_written() -> None:
    """Names come from the server: a snippet named like Rich markup (`x[/]`) or with an
    escape is shown as written, never read as markup (which raised MarkupError) or obeyed."""
    from rich.console import Console

    from studylog.cli.sync import remote_table
    from tests.store_helpers import remote_run

    run = remote_run(
        mlflow_run_id="0123456789abcdef",
        experiment="group",
        user="mallory[bold]",
        note="notes/x.md",
        snippet="x[/]\x1b[2J",
        started="2026-11-27T10:00:00",
        duration=1.5,
        code_hash="abc",
        same_code=False,
        final_metrics={"loss[/]": 0.5},
    )
    console = Console(record=True, width=200, color_system=None)
    console.print(remote_table([run], "http://127.0.0.1:5000"))
    text = console.export_text()
    assert "x[/]␛[2J" in text and "mallory[bold]" in text and "loss[/] 0.5" in text
    assert "\x1b" not in text and "differs" in text
