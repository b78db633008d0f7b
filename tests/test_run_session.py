"""The run session (issue 9): one path for the CLI and the TUI, and no store work on the UI
loop while a snippet runs."""

from __future__ import annotations

from studylog.store.history import list_runs
from studylog.tui.app import StudylogApp
from studylog.tui.widgets.snippet_table import SnippetTable
from tests.tui_helpers import TRAINING, make_workspace, open_snippets, settings, until


async def test_one_r_press_runs_no_statement_on_the_ui_loop(tmp_path):
    ws = make_workspace(tmp_path)
    app = StudylogApp(ws, settings())
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await open_snippets(pilot, TRAINING, "train")
        await pilot.pause()
        statements: list[str] = []
        app.db.conn.set_trace_callback(statements.append)
        try:
            await pilot.press("r")
            await until(pilot, lambda: screen.running is None, "the run to end", seconds=60)
        finally:
            app.db.conn.set_trace_callback(None)
        table = pilot.app.query_one(SnippetTable)
        assert "succeeded" in str(table.get_row_at(0)[1])
        assert [r.status for r in list_runs(app.db)] == ["succeeded"]
        assert statements == []
