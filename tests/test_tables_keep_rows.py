"""The snippet and run tables are shown again on every watcher pass: unchanged rows are kept,
not rebuilt (a rebuilt table drew a frame with its columns not yet measured: narrow, cut,
seen in a snapshot taken during a pass)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from studylog.runner.session import LiveStatus
from studylog.tui.app import StudylogApp
from studylog.tui.widgets.runs_table import RunsTable
from studylog.tui.widgets.snippet_table import SnippetTable
from tests.store_helpers import indexed_store, record_run
from tests.tui_helpers import TRAINING, make_workspace, open_snippets, settings, until


def _count_clears(table: Any) -> list[int]:
    cleared: list[int] = []
    original = table.clear

    def clear(*args: Any, **kwargs: Any) -> Any:
        cleared.append(1)
        return original(*args, **kwargs)

    table.clear = clear
    return cleared


async def test_tables_shown_again_unchanged_keep_their_rows(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path)
    db = indexed_store(ws)
    for seed in (0, 1):
        record_run(db, TRAINING, "train", "trained\n", {"loss": [1.0, 0.5]}, seed=seed)
    db.close()
    app = StudylogApp(ws, settings())
    async with app.run_test(size=(140, 45)) as pilot:
        await open_snippets(pilot, TRAINING, "train")
        snippets, runs = app.query_one(SnippetTable), app.query_one(RunsTable)
        await until(pilot, lambda: runs.row_count == 2, "the runs of train")
        snippet_clears, run_clears = _count_clears(snippets), _count_clears(runs)

        snippets.show(list(snippets.states), snippets.live)
        runs.show(list(runs.runs), runs.stale_hash)
        assert snippet_clears == [] and run_clears == []
        assert snippets.row_count == 2 and runs.row_count == 2

        # A change is drawn: one run fewer, another status for a snippet.
        runs.show(list(runs.runs)[:1], runs.stale_hash)
        snippets.show(list(snippets.states), LiveStatus("broken", {}, {}))
        assert snippet_clears == [1] and run_clears == [1]
        assert runs.row_count == 1
        assert "running" in str(snippets.get_row_at(1)[1])
