"""Where the days went: `stats --json` (days, streak, per-topic notes, runs and cards due)
and the TUI calendar."""

from __future__ import annotations

import datetime as dt

from studylog.store.db import open_store
from studylog.store.stats import collect_stats
from studylog.tui.app import StudylogApp
from studylog.tui.screens.calendar import CalendarScreen
from tests.tui_helpers import make_workspace, notes_loaded, settings, until, until_screen

TODAY = dt.date.today()


def _note(day: dt.date, topic: str, extra: str = "") -> str:
    return f"---\ntitle: N {day}\ndate: {day.isoformat()}\ntopic: {topic}\n---\n# N\n{extra}"


def _add_run(db, note_path: str, day: dt.date) -> None:
    note_id = db.execute("SELECT id FROM notes WHERE path = ?", [note_path]).fetchone()[0]
    db.execute(
        "INSERT INTO runs (note_id, note_path, snippet, source, code, code_hash, seed, status, "
        "started) VALUES (?, ?, 's', 'fence', 'print(1)', 'h', 0, 'succeeded', ?)",
        [note_id, note_path, f"{day.isoformat()}T10:00:00+09:00"],
    )


def test_stats_json_days_streak_and_topics(run_cli, write_note, workspace):
    yesterday, before = TODAY - dt.timedelta(days=1), TODAY - dt.timedelta(days=2)
    write_note("a.md", _note(TODAY, "Pytorch", "\nQ: Due?\nA: Yes\n"))
    write_note("b.md", _note(yesterday, "Pytorch"))
    write_note("c.md", _note(TODAY - dt.timedelta(days=5), "CS231n"))
    run_cli("index")
    db = open_store(workspace.db_path)
    try:
        _add_run(db, "b.md", before)
        _add_run(db, "b.md", before)
    finally:
        db.close()
    data = run_cli.json("stats")
    assert data["streak"] == 3  # today, yesterday (notes), the day before (runs)
    assert {d["date"]: (d["notes"], d["runs"]) for d in data["days"]} == {
        TODAY.isoformat(): (1, 0),
        yesterday.isoformat(): (1, 0),
        before.isoformat(): (0, 2),
        (TODAY - dt.timedelta(days=5)).isoformat(): (1, 0),
    }
    assert data["topics"] == [
        {"topic": "Pytorch", "notes": 2, "runs": 2, "due": 1},
        {"topic": "CS231n", "notes": 1, "runs": 0, "due": 0},
    ]
    human = run_cli("stats").stdout
    assert "Streak: 3 days" in human and "Pytorch" in human


def test_streak_counts_from_yesterday_when_today_is_empty(memory_db):
    memory_db.execute(
        "INSERT INTO notes (path, title, date, indexed_at) VALUES ('x.md', 'x', ?, 'now')",
        [(TODAY - dt.timedelta(days=1)).isoformat()],
    )
    assert collect_stats(memory_db, TODAY).streak == 1
    assert collect_stats(memory_db, TODAY + dt.timedelta(days=2)).streak == 0


def test_heat_map_weeks_end_today(memory_db):
    stats = collect_stats(memory_db, dt.date(2026, 3, 4))  # a Wednesday
    weeks = stats.weeks(3)
    assert len(weeks) == 3 and weeks[-1][2] == (dt.date(2026, 3, 4), 0)
    assert weeks[-1][3] is None and weeks[0][0] == (dt.date(2026, 2, 16), 0)


async def test_calendar_view(tmp_path):
    ws = make_workspace(tmp_path / "ws", {"today.md": _note(TODAY, "Pytorch")})
    app = StudylogApp(ws, settings())
    async with app.run_test() as pilot:
        main = await notes_loaded(pilot)
        await pilot.press("C")
        screen = await until_screen(pilot, CalendarScreen, "the calendar")
        stats = await until(pilot, lambda: screen.stats, "the counts")
        assert stats.streak == 1
        assert [t.topic for t in stats.topics][:2] == ["Pytorch", "Deep Learning Basics"]
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is main, "the main screen")
