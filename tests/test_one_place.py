"""Issue 9, point 6: the small things the CLI, the TUI and the exports share are defined in one
place each (badges, metric summaries, the live status line, the markup regexes and parser,
the words for a note without a date or topic), the comparison PNG is the export's figure
drawn off the UI thread; and (point 5) the tests' in-memory store is made as the real one."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
import sqlite_utils
from textual.message import Message
from textual.worker import Worker, WorkerState

from studylog.export.plots import comparison_pngs, curve_png
from studylog.labels import NO_TOPIC, UNDATED, metrics_text
from studylog.notes.markup import DETAILS_TAGS, has_scheme, markdown_parser
from studylog.paths import Workspace
from studylog.rich_labels import CELL_METRICS, badge, live_status, metrics_cell
from studylog.store.db import open_memory_store, open_store
from studylog.store.history import get_run, list_runs
from studylog.tui.app import StudylogApp
from studylog.tui.screens.compare import CompareScreen
from tests.conftest import Cli
from tests.tui_helpers import make_workspace, notifications, settings, until, until_screen

PACKAGE = Path(__file__).resolve().parent.parent / "studylog"


def _sources() -> dict[str, str]:
    return {
        str(path.relative_to(PACKAGE)): path.read_text(encoding="utf-8")
        for path in PACKAGE.rglob("*.py")
    }


# -- one definition each --------------------------------------------------------------------


def test_each_shared_thing_is_spelled_in_one_module() -> None:
    """A second copy of a regex or a word is what drifts: each is defined once."""
    sources = _sources()
    once = {
        r"<details\\b": "notes/markup.py",  # the <details> tag regex
        r"\[a-z\]\[a-z0-9\+\.-\]\*:": "notes/markup.py",  # the URL scheme regex
        r'MarkdownIt\("commonmark"\)': "notes/markup.py",  # the parser factory
        r"""(?:=|\bor|\belse) ["']Undated["']""": "labels.py",  # as a value, not in prose
        r"""(?:=|\bor|\belse) ["']No topic["']""": "labels.py",
        r"(?m)^def badge\(": "rich_labels.py",
        r"\(\"▶ \", \"cyan\"\)": "rich_labels.py",  # the live status line
        r"more\", style=\"dim\"\)": "rich_labels.py",  # "+N more" after the final metrics
    }
    for pattern, home in once.items():
        found = sorted(name for name, text in sources.items() if re.search(pattern, text))
        assert found == [home], f"{pattern} in {found}"


def test_the_cli_only_renderers_live_under_cli() -> None:
    assert not (PACKAGE / "views.py").exists() and not (PACKAGE / "run_views.py").exists()
    assert (PACKAGE / "cli" / "views.py").is_file() and (PACKAGE / "cli" / "run_views.py").is_file()


# -- the shared pieces ------------------------------------------------------------------------


def test_a_badge_is_mark_words_and_colour() -> None:
    assert badge("timed_out").plain == "⏱ timed out"
    assert str(badge("timed_out").style) == "yellow"
    assert badge("succeeded").plain == "✔ succeeded" and str(badge("succeeded").style) == "green"
    assert badge("something new").plain == "✘ something new"


def test_final_metrics_read_the_same_in_a_cell_and_in_the_cli_table(tmp_path: Path) -> None:
    metrics: dict[str, float | None] = {f"m{i}": i / 3 for i in range(CELL_METRICS + 2)}
    metrics["m1"] = None
    cell = metrics_cell(metrics)
    assert cell.plain == metrics_text(metrics, CELL_METRICS) + "  +2 more"
    assert cell.plain.startswith("m0 0  m1 nan  m2 0.6667")
    assert metrics_cell(metrics, limit=None).plain == metrics_text(metrics)
    assert "more" not in metrics_cell(metrics, limit=None).plain
    # A name with a control character shows it, never obeys it.
    assert "\x1b" not in metrics_cell({"lo\x1bss": 1.0}).plain
    # `studylog runs` shows a real run's final values through the same cell.
    ws = make_workspace(tmp_path / "ws")
    cli = Cli(ws.root)
    cli("run", "pytorch/2022-01-21-training.md", "--snippet", "train")
    (run,) = cli.json("runs")
    assert run["final_metrics"] == {"loss": 0.05}
    assert "loss 0.05" in cli("runs").stdout


def test_the_live_status_line_of_the_cli_and_of_the_tui() -> None:
    latest = {f"m{i}": (i * 10, i / 2) for i in range(5)}
    cli = live_status("train\x1b", 3.25, latest, points=120)
    assert cli.plain == (
        "▶ train␛  3.2 s  m0 0 @0  m1 0.5 @10  m2 1 @20  m3 1.5 @30  (120 points)  Ctrl-C cancels"
    )
    tui = live_status("train", 3.25, latest, metrics=3, hint="   c cancels")
    assert tui.plain == "▶ train  3.2 s  m0 0 @0  m1 0.5 @10  m2 1 @20   c cancels"


def test_the_markup_helpers() -> None:
    tags = [
        m.group(0) for m in DETAILS_TAGS.finditer("<DETAILS open><summary>Q</summary>x</details >")
    ]
    assert tags == ["<DETAILS open>", "<summary>Q</summary>", "</details >"]
    assert has_scheme("https://x.org") and has_scheme("mailto:a@b") and has_scheme("data:,x")
    assert not has_scheme("images/a.png") and not has_scheme("../a.md") and not has_scheme("")
    assert markdown_parser() is markdown_parser()  # made once
    front = markdown_parser(front_matter=True).parse("---\ntitle: x\n---\n# A\n")
    assert front[0].type == "front_matter"
    assert markdown_parser().parse("---\ntitle: x\n---\n")[0].type == "hr"
    table = "| a | b |\n|---|---|\n| 1 | 2 |\n"
    assert markdown_parser(tables=True).parse(table)[0].type == "table_open"
    assert markdown_parser().parse(table)[0].type == "paragraph_open"
    assert (UNDATED, NO_TOPIC) == ("Undated", "No topic")


# -- the comparison PNG -----------------------------------------------------------------------


def test_comparison_figures_are_the_exports_figures() -> None:
    curves = {
        "#3 sgd · loss": [(0, 1.0), (1, 0.5)],
        "#5 adam · loss": [(0, 0.8), (1, 0.2)],
        "#5 adam · acc": [(0, 0.1), (1, 0.9)],
    }
    pngs = comparison_pngs(curves, [3, 5])
    assert sorted(pngs) == ["compare-3-5-acc.png", "compare-3-5-loss.png"]
    loss = {k: v for k, v in curves.items() if k.endswith("loss")}
    assert pngs["compare-3-5-loss.png"] == curve_png(loss, "runs 3, 5: loss", "loss")


@pytest.fixture
def two_runs(tmp_path: Path) -> Workspace:
    """A workspace where `train` has run twice (by the CLI, before the app starts)."""
    ws = make_workspace(tmp_path / "ws")
    cli = Cli(ws.root)
    for _ in range(2):
        cli("run", "pytorch/2022-01-21-training.md", "--snippet", "train")
    return ws


async def test_the_comparison_png_is_saved_by_a_thread_worker(two_runs: Workspace) -> None:
    ws = two_runs
    workers: list[Worker[object]] = []

    def hook(message: Message) -> None:
        if isinstance(message, Worker.StateChanged) and message.worker.group == "compare-png":
            workers.append(message.worker)

    app = StudylogApp(ws, settings())
    async with app.run_test(size=(140, 45), message_hook=hook) as pilot:
        runs = [get_run(app.db, r.id) for r in sorted(list_runs(app.db), key=lambda r: r.id)]
        curves = {f"#{r.summary.id} train · loss": [(0, 1.0), (1, 0.5)] for r in runs}
        # Pushed from the app's own loop, so the screen's messages reach the hook.
        app.call_later(app.push_screen, CompareScreen(runs, dict(curves), ws.root / "exports"))
        await until_screen(pilot, CompareScreen, "the comparison")
        await pilot.press("e")
        saved = await until(
            pilot,
            lambda: [n for n in notifications(app) if n.title == "Saved the comparison"],
            "the saved notice",
        )
        ids = [r.summary.id for r in runs]
        name = f"compare-{ids[0]}-{ids[1]}-loss.png"
        assert str(ws.root / "exports" / name) in saved[0].message
        assert (ws.root / "exports" / name).read_bytes() == comparison_pngs(curves, ids)[name]
        await until(
            pilot, lambda: any(w.state == WorkerState.SUCCESS for w in workers), "the worker"
        )
        assert isinstance(app.screen, CompareScreen)


async def test_a_comparison_png_that_cannot_be_saved_names_the_folder(
    two_runs: Workspace, tmp_path: Path
) -> None:
    ws = two_runs
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    app = StudylogApp(ws, settings())
    async with app.run_test(size=(140, 45)) as pilot:
        runs = [get_run(app.db, r.id) for r in list_runs(app.db)]
        curves = {f"#{r.summary.id} train · loss": [(0, 1.0), (1, 0.5)] for r in runs}
        app.push_screen(CompareScreen(runs, curves, blocked))
        await until_screen(pilot, CompareScreen, "the comparison")
        await pilot.press("e")
        errors = await until(pilot, lambda: notifications(app, "error"), "the error")
        assert str(blocked) in errors[0].message and errors[0].title == "Save as PNG"
        assert app.is_running and isinstance(app.screen, CompareScreen)
        assert blocked.read_text() == "not a folder"


# -- point 5: the tests' store is the store ---------------------------------------------------


def _mode(db: sqlite_utils.Database) -> tuple[object, ...]:
    conn = db.conn
    pragmas = tuple(
        db.execute(f"PRAGMA {name}").fetchone()[0]
        for name in ("foreign_keys", "busy_timeout", "user_version")
    )
    return (conn.isolation_level, *pragmas)


def test_the_in_memory_store_has_the_transaction_mode_of_the_real_one(tmp_path: Path) -> None:
    memory = open_memory_store()
    disk = open_store(tmp_path / "store.db")
    try:
        assert _mode(memory) == _mode(disk)
        assert memory.conn.isolation_level is None  # autocommit: explicit transactions only
        for db in (memory, disk):
            db.execute(
                "INSERT INTO runs (note_path, snippet, source, code, code_hash, seed, status,"
                " started) VALUES ('a.md', 's', 'fence', '', '', 0, 'succeeded', '2026-01-01')"
            )
            assert not db.conn.in_transaction  # written at once, as in use
        other = sqlite3.connect(tmp_path / "store.db")
        assert other.execute("SELECT count(*) FROM runs").fetchone()[0] == 1
        other.close()
    finally:
        memory.close()
        disk.close()
