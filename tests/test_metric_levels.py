"""The coarser levels of each metric series (store/levels.py): they agree with the raw points
however the points arrive (NaN, inf, spikes, batches of any size, refused and repeated
points), after a migration and after studylog is killed mid-run; `series` reads them, keeps
the largest spike at any length and zoom, and the TUI's plot zooms through them."""

from __future__ import annotations

import itertools
import math
import random
import signal
import sqlite3
import subprocess
import sys
from array import array
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studylog.paths import Workspace
from studylog.protocol import Columns
from studylog.store import levels
from studylog.store.db import migrate, open_memory_store, open_store
from studylog.store.history import series
from studylog.store.metrics import MetricWriter
from tests.processes import wait_for

RUN = (
    "INSERT INTO runs (id, note_path, snippet, source, code, code_hash, seed, status, started) "
    "VALUES (?, 'a.md', 's', 'fence', '', '', 0, 'succeeded', '2026-01-01')"
)


def _store(db: sqlite_utils.Database, run_id: int = 1) -> MetricWriter:
    db.execute(RUN, [run_id])
    writer = MetricWriter(db, run_id)
    writer.add_key(0, "loss")
    writer.add_key(1, "acc")
    return writer


def _write(
    writer: MetricWriter,
    values: Sequence[float],
    cuts: Sequence[int],
    *,
    typed: bool = True,
    keys: int = 1,
) -> None:
    """`values` as series 0 (and 1, with the values reversed), in batches cut at `cuts`,
    the series interleaved as track.log sends them; `typed`: as the channel decodes them."""
    bounds = [0, *sorted(c for c in set(cuts) if 0 < c < len(values)), len(values)]
    for start, end in itertools.pairwise(bounds):
        rows = [
            (k, i, 10 * i, values[i] if k == 0 else values[-1 - i])
            for i in range(start, end)
            for k in range(keys)
        ]
        key, seq, step, value = (list(c) for c in zip(*rows, strict=True))
        ms = [0] * len(rows)
        if typed:
            writer.add_points(
                Columns(
                    array("q", key),
                    array("q", seq),
                    array("q", step),
                    array("d", value),
                    array("q", ms),
                )
            )
        else:
            writer.add_points(Columns(key, seq, step, value, ms))
        writer.flush()


def _expected(
    conn: sqlite3.Connection, run_id: int, key: int
) -> dict[tuple[int, int], tuple[Any, ...]]:
    """Every level's buckets computed here from the raw points, the plain way."""
    points = conn.execute(
        "SELECT seq, step, value FROM metrics WHERE run_id = ? AND key = ? ORDER BY seq",
        [run_id, key],
    ).fetchall()
    out: dict[tuple[int, int], tuple[Any, ...]] = {}
    for number, size in enumerate(levels.SIZES):
        if number == 0:
            continue
        buckets: dict[int, list[tuple[int, int, float | None]]] = {}
        for point in points:
            buckets.setdefault(point[0] // size, []).append(point)
        for bucket, members in buckets.items():
            valued = [(step, v) for _, step, v in members if v is not None]
            if not valued:
                out[number, bucket] = (len(members), None, None, None, None, None, None)
                continue
            low = min(valued, key=lambda p: p[1])  # the first of equal values, as min() does
            high = max(valued, key=lambda p: p[1])
            high = next(p for p in valued if p[1] == high[1])
            out[number, bucket] = (len(members), valued[0][1], valued[-1][1], *low, *high)
    return out


def _stored(
    conn: sqlite3.Connection, run_id: int, key: int
) -> dict[tuple[int, int], tuple[Any, ...]]:
    return {
        (row[0], row[1]): tuple(row[2:])
        for row in conn.execute(
            f"SELECT level, bucket, {levels.COLUMNS} FROM metric_levels WHERE run_id = ? "
            "AND key = ?",
            [run_id, key],
        )
    }


def _assert_levels_agree(conn: sqlite3.Connection, run_id: int, key: int) -> None:
    expected, stored = _expected(conn, run_id, key), _stored(conn, run_id, key)
    assert stored.keys() == expected.keys()
    for place, want in expected.items():
        assert stored[place] == want, (place, stored[place], want)


@st.composite
def curves(draw: st.DrawFn) -> tuple[list[float], list[int]]:
    """A noisy loss curve with spikes, NaN and inf here and there, and where its batches end."""
    n = draw(st.integers(1, 3000))
    rng = random.Random(draw(st.integers(0, 2**32)))
    values = [math.exp(-i / 500) + rng.random() * 0.01 for i in range(n)]
    for _ in range(draw(st.integers(0, 5))):
        values[rng.randrange(n)] = rng.choice([50.0, -50.0, 1e300, -1e300])
    specials = draw(st.lists(st.sampled_from([math.nan, math.inf, -math.inf]), max_size=4))
    for special in specials:
        values[rng.randrange(n)] = special
    if draw(st.booleans()):  # a run of NaN longer than a bucket
        start = rng.randrange(n)
        values[start : start + 40] = [math.nan] * len(values[start : start + 40])
    cuts = draw(st.lists(st.integers(1, max(1, n - 1)), max_size=12))
    return values, cuts


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(curve=curves(), typed=st.booleans(), keys=st.integers(1, 2))
def test_every_level_bucket_agrees_with_the_raw_points(
    curve: tuple[list[float], list[int]], typed: bool, keys: int
) -> None:
    values, cuts = curve
    db = open_memory_store()
    try:
        _write(_store(db), values, cuts, typed=typed, keys=keys)
        for key in range(keys):
            _assert_levels_agree(db.conn, 1, key)
    finally:
        db.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    curve=curves(),
    width=st.integers(1, 60),
    zoom=st.one_of(st.none(), st.tuples(st.integers(-50, 30_000), st.integers(0, 30_000))),
)
def test_the_largest_spike_is_always_in_the_reduced_curve(
    curve: tuple[list[float], list[int]], width: int, zoom: tuple[int, int] | None
) -> None:
    values, cuts = curve
    db = open_memory_store()
    try:
        _write(_store(db), values, cuts)
        reduced = series(db, 1, "loss", max_points=width, step_range=zoom)
        first, last = zoom or (-(2**63), 2**63 - 1)
        raw = [
            (step, v) for step, v in series(db, 1, "loss", max_points=None) if first <= step <= last
        ]
    finally:
        db.close()
    assert all(first <= step <= last for step, _ in reduced)
    assert len(reduced) <= max(2 * width, len(raw))
    if raw:
        assert max(raw, key=lambda p: p[1])[1] == max(v for _, v in reduced)
        assert min(raw, key=lambda p: p[1])[1] == min(v for _, v in reduced)
        assert set(reduced) <= set(raw)  # real points, never made up
        assert [s for s, _ in reduced] == sorted(s for s, _ in reduced)
    else:
        assert reduced == []


def test_a_long_curve_is_read_from_a_few_thousand_rows_with_its_spike() -> None:
    db = open_memory_store()
    try:
        values = [1.0 + (i % 7) * 0.01 for i in range(300_000)]
        values[123_457] = 1000.0
        _write(_store(db), values, list(range(0, 300_000, 8192)))
        reduced = series(db, 1, "loss", max_points=1000)
        number = levels.level_for(300_000, 2000)  # what series reads
        assert levels.SIZES[number] > 1  # from a level, not the points
        assert len(levels.cover(db.conn, 1, 0, 0, 300_000, number)) <= 2000
        assert (1_234_570, 1000.0) in reduced
        assert 1000 <= len(reduced) <= 2000
        # Zoomed to 1 % of it: finer, and the spike still there.
        zoomed = series(db, 1, "loss", max_points=1000, step_range=(1_200_000, 1_230_000))
        assert (1_234_570, 1000.0) not in zoomed
        assert all(1_200_000 <= s <= 1_230_000 for s, _ in zoomed) and len(zoomed) > 1000
        zoomed = series(db, 1, "loss", max_points=100, step_range=(1_000_000, 1_500_000))
        assert (1_234_570, 1000.0) in zoomed
    finally:
        db.close()


def test_refused_and_repeated_points_leave_the_levels_right() -> None:
    db = open_memory_store()
    try:
        writer = _store(db)
        _write(writer, [float(i % 5) for i in range(100)], [37])
        unbindable: Any = {"x": 1}
        # A place already taken (refused), a value SQLite cannot bind, and places back in
        # time: the batch's buckets are computed again from what was stored.
        writer.add_points(
            Columns(
                [0, 0, 0, 0],
                [50, 100, 101, 3],
                [1, 2, 3, 4],
                [99.0, unbindable, -7.0, 8.0],
                [0] * 4,
            )
        )
        writer.flush()
        writer.add_points(
            Columns(
                array("q", [0, 0]),
                array("q", [102, 103]),
                array("q", [5, 6]),
                array("d", [1.0, math.nan]),
                array("q", [0, 0]),
            )
        )
        writer.flush()
        assert writer.rejected == 3  # 50, the unbindable value and 3
        _assert_levels_agree(db.conn, 1, 0)
    finally:
        db.close()


def test_the_migration_computes_the_levels_of_stored_runs(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = open_store(path)
    db.execute(RUN, [1])
    db.execute("INSERT INTO metric_keys VALUES (1, 0, 'loss')")
    rows = [(1, 0, i, i, math.nan if i % 97 == 0 else math.sin(i), 0) for i in range(20_000)]
    db.conn.executemany("INSERT INTO metrics VALUES (?, ?, ?, ?, ?, ?)", rows)
    # The store as the studylog before levels left it: no table, schema version 7.
    db.execute("DROP TABLE metric_levels")
    db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm008_metric_levels'")
    db.execute("PRAGMA user_version = 7")
    db.close()
    db = open_store(path)
    try:
        _assert_levels_agree(db.conn, 1, 0)
        migrate(db)  # again: nothing to do
        assert series(db, 1, "loss", 100) == series(db, 1, "loss", 100)
    finally:
        db.close()


def test_points_stored_without_levels_are_still_reduced() -> None:
    """Points inserted around the writer (an old benchmark, a test) have no levels: read as
    before, from the points."""
    db = open_memory_store()
    try:
        db.execute(RUN, [1])
        db.execute("INSERT INTO metric_keys VALUES (1, 0, 'loss')")
        rows = [(1, 0, i, i, float(i % 10), 0) for i in range(10_000)]
        rows[4321] = (1, 0, 4321, 4321, 77.0, 0)
        db.conn.executemany("INSERT INTO metrics VALUES (?, ?, ?, ?, ?, ?)", rows)
        reduced = series(db, 1, "loss", max_points=50, step_range=(4000, 5000))
        assert (4321, 77.0) in reduced and all(4000 <= s <= 5000 for s, _ in reduced)
    finally:
        db.close()


def test_levels_stay_consistent_when_studylog_is_killed_mid_run(
    workspace: Workspace, write_note: Any
) -> None:
    write_note(
        "endless.md",
        """# Endless

```python run name=endless
import math
from studylog import track
step = 0
while True:
    track.log(step=step, loss=math.sin(step) if step % 101 else float("nan"))
    step += 1
```
""",
    )
    studylog = subprocess.Popen(
        [sys.executable, "-m", "studylog", "run", "endless", "--workspace", str(workspace.root)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def stored() -> int:
        try:
            conn = sqlite3.connect(f"file:{workspace.db_path}?mode=ro", uri=True, timeout=10)
        except sqlite3.OperationalError:
            return 0
        try:
            return conn.execute("SELECT count(*) FROM metrics").fetchone()[0]
        except sqlite3.OperationalError:  # no schema yet
            return 0
        finally:
            conn.close()

    try:
        wait_for(lambda: stored() > 50_000, "points in the store", seconds=120)
    finally:
        studylog.send_signal(signal.SIGKILL)  # mid-write, as likely as not
        studylog.wait(30)
    conn = sqlite3.connect(workspace.db_path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        _assert_levels_agree(conn, 1, 0)
    finally:
        conn.close()


async def test_the_plot_zooms_into_a_range_read_again_from_the_store(tmp_path: Path) -> None:
    from studylog.store.history import get_run
    from studylog.tui.app import StudylogApp
    from studylog.tui.screens.compare import CompareScreen
    from studylog.tui.widgets.metric_plot import MetricPlot
    from tests.tui_helpers import make_workspace, notifications, until
    from tests.tui_helpers import settings as tui_settings

    ws = make_workspace(tmp_path / "ws")
    db = open_store(ws.db_path)
    values = [1.0 / (1 + i / 1000) for i in range(200_001)]  # steps 0 to 2,000,000
    values[150_001] = 9.0  # a spike no overview of 400 buckets draws... but keeps
    _write(_store(db, 1), values, list(range(0, 200_000, 10_000)))
    db.close()
    app = StudylogApp(ws, tui_settings())
    async with app.run_test(size=(140, 45)) as pilot:
        run = get_run(app.db, 1)
        overview = series(app.db, 1, "loss")
        app.push_screen(CompareScreen([run], {"#1 s · loss": overview}))
        await pilot.pause()
        plot = app.screen.query_one(MetricPlot)
        plot.focus()
        await pilot.press("plus", "plus", "plus")  # an eighth of the steps, around the middle
        assert plot.step_range == (875_000, 1_125_000)
        await until(pilot, lambda: plot.detail_range == plot.step_range, "the range read again")
        detail = plot.detail["#1 s · loss"]
        first, last = plot.step_range
        assert all(first <= s <= last for s, _ in detail)
        shown_before = [p for p in overview if first <= p[0] <= last]
        assert len(detail) > 4 * len(shown_before)  # finer than the overview
        await pilot.press("right_square_bracket", "right_square_bracket")
        assert plot.step_range == (1_125_000, 1_375_000)
        await until(pilot, lambda: plot.detail_range == plot.step_range, "the next range")
        assert (1_500_010, 9.0) not in plot.detail["#1 s · loss"]
        await pilot.press("right_square_bracket", "right_square_bracket")
        await until(pilot, lambda: plot.detail_range == plot.step_range, "the spike's range")
        assert (1_500_010, 9.0) in plot.detail["#1 s · loss"]
        await pilot.press("minus")
        assert plot.step_range is not None and plot.step_range[1] - plot.step_range[0] == 500_000
        await pilot.press("0")
        assert plot.step_range is None
        assert not notifications(app, "warning")


async def test_remote_curves_are_drawn_apart_from_your_own(tmp_path: Path) -> None:
    from studylog.store.history import get_run
    from studylog.sync.remote import RemoteCurves
    from studylog.tui.app import StudylogApp
    from studylog.tui.screens.compare import CompareScreen
    from studylog.tui.widgets.metric_plot import OWN_MARKER, REMOTE_MARKER, MetricPlot
    from tests.store_helpers import remote_run
    from tests.tui_helpers import make_workspace
    from tests.tui_helpers import settings as tui_settings

    ws = make_workspace(tmp_path / "ws")
    db = open_store(ws.db_path)
    _write(_store(db, 1), [1.0 / (i + 1) for i in range(30)], [])
    db.close()
    app = StudylogApp(ws, tui_settings())
    async with app.run_test(size=(140, 45)) as pilot:
        run = get_run(app.db, 1)
        screen = CompareScreen([run], {"#1 s · loss": series(app.db, 1, "loss")})
        app.push_screen(screen)
        await pilot.pause()
        teammate = remote_run()
        screen._overlay(
            [RemoteCurves(teammate, {"loss": [(i, 0.5 / (i + 1)) for i in range(30)]})], "http://x"
        )
        await pilot.pause()
        plot = screen.query_one(MetricPlot)
        own, remote = plot.drawn["#1 s · loss"], plot.drawn["⇣ s@alice · loss"]
        assert own == ("#1 s · loss", OWN_MARKER, None)
        legend, marker, color = remote
        assert legend == "⇣ s@alice · loss (remote)" and marker == REMOTE_MARKER != OWN_MARKER
        assert color is not None
        assert "(remote)" in str(plot.render())  # the legend on screen says which is which


@pytest.mark.parametrize("width", [1, 7, 400])
def test_level_for_reads_at_most_four_rows_a_column(width: int) -> None:
    for span in (1, 10, 1000, 10**5, 10**6, 10**8):
        number = levels.level_for(span, 4 * width)
        rows = -(-span // levels.SIZES[number])
        assert rows <= 4 * width or number == len(levels.SIZES) - 1


def test_a_bucket_split_across_batches_of_steps_that_are_places() -> None:
    """The usual batch (one series, its steps its places) goes in through a shorter insert;
    a level-1 bucket cut across two batches, and two batches waiting in one flush, still give
    the raw points exactly and levels that agree with them."""
    db = open_memory_store()
    try:
        writer = _store(db)
        values = [math.exp(-i / 40) for i in range(100)]
        values[21] = 9.0  # a spike in the bucket cut in two (places 16..31)
        for start, end, flush in ((0, 20, True), (20, 45, False), (45, 100, True)):
            places = array("q", range(start, end))
            writer.add_points(
                Columns(
                    array("q", [0] * (end - start)),
                    places,
                    array("q", places),
                    array("d", values[start:end]),
                    array("q", [7] * (end - start)),
                )
            )
            if flush:
                writer.flush()
        stored = db.conn.execute(
            "SELECT key, seq, step, value, ms FROM metrics WHERE run_id = 1 ORDER BY seq"
        ).fetchall()
        assert stored == [(0, i, i, values[i], 7) for i in range(100)]
        _assert_levels_agree(db.conn, 1, 0)
        assert _stored(db.conn, 1, 0)[1, 1][5:] == (21, 9.0)  # the spike is the bucket's max
    finally:
        db.close()


def test_the_background_writer_stores_points_without_waiting_for_its_deadline(
    tmp_path: Path,
) -> None:
    """A writer with nothing else to do writes what came at once: it never sits idle on
    points until its deadline (which cost a fast-logging run its first quarter second)."""
    from studylog.runner.metric_writer import BackgroundMetricWriter

    path = tmp_path / "store.db"
    db = open_store(path)
    db.execute(RUN, [1])
    db.close()
    writer = BackgroundMetricWriter(path, 1, every=3600.0, max_points=10**9)
    try:
        writer.add_key(0, "loss")
        writer.add_points(Columns([0, 0, 0], [0, 1, 2], [0, 1, 2], [3.0, 2.0, 1.0], [0, 0, 0]))
        reader = open_store(path)
        try:
            wait_for(
                lambda: reader.execute("SELECT count(*) FROM metrics").fetchone()[0] == 3,
                "the points stored before the writer's deadline",
                seconds=30,
            )
            assert series(reader, 1, "loss", max_points=None) == [(0, 3.0), (1, 2.0), (2, 1.0)]
        finally:
            reader.close()
    finally:
        writer.close()
