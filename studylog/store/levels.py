"""Coarser levels of each metric series, kept as the points arrive, so that a curve of any
length, at any zoom, is read from a few thousand rows with its spikes kept.

Level 1 summarises the points of each bucket of SIZES[1] places (`seq // SIZES[1]`), each
level above FACTOR buckets of the one below: per bucket the number of points (NaN included),
the first and last value, and the lowest and highest point (step and value). NaN is no
value, as `series` skips it. The metric writer adds a batch's summaries in the transaction that
inserts its points, so the levels always agree with the points, even after a kill."""

from __future__ import annotations

import math
import operator
import sqlite3
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from itertools import compress, islice, repeat
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from studylog.protocol import Columns

# Places per bucket at each level; level 0 is the points themselves. Above level 1, each
# level's buckets hold FACTOR of the level below: a reader wanting n buckets of a long range
# finds a level with between n/2 and 2n of them (history.series).
FACTOR = 4
SIZES = (1, 16, *(16 * FACTOR**n for n in range(1, 10)))  # up to 4,194,304 places

# [count, first_value, last_value, min_step, min_value, max_step, max_value]: the values are
# None when every point of the bucket is NaN.
Summary = list[Any]

COLUMNS = "count, first_value, last_value, min_step, min_value, max_step, max_value"

# A bucket already stored gets the new points of its series after its own (the writer checks
# that they come later): counts add, the first stays, the last moves, extremes compare.
# Ties keep the earlier point, like min()/max() over the raw points in order.
_UPSERT = f"""INSERT INTO metric_levels (run_id, key, level, bucket, {COLUMNS})
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (run_id, key, level, bucket) DO UPDATE SET
        count = count + excluded.count,
        first_value = coalesce(first_value, excluded.first_value),
        last_value = coalesce(excluded.last_value, last_value),
        min_step = CASE WHEN min_value IS NULL OR excluded.min_value < min_value
                        THEN excluded.min_step ELSE min_step END,
        min_value = CASE WHEN min_value IS NULL OR excluded.min_value < min_value
                         THEN excluded.min_value ELSE min_value END,
        max_step = CASE WHEN max_value IS NULL OR excluded.max_value > max_value
                        THEN excluded.max_step ELSE max_step END,
        max_value = CASE WHEN max_value IS NULL OR excluded.max_value > max_value
                         THEN excluded.max_value ELSE max_value END"""

_INSERT = f"""INSERT OR REPLACE INTO metric_levels (run_id, key, level, bucket, {COLUMNS})
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"""


def _has_value(value: object) -> bool:
    return (type(value) is float and value == value) or type(value) is int


def merge(a: Summary, b: Summary) -> Summary:
    """The summary of a bucket's points `a` followed by the points `b`."""
    if b[1] is None:
        return [a[0] + b[0], *a[1:]]
    if a[1] is None:
        return [a[0] + b[0], *b[1:]]
    low = a[3:5] if a[4] <= b[4] else b[3:5]
    high = a[5:7] if a[6] >= b[6] else b[5:7]
    return [a[0] + b[0], a[1], b[2], *low, *high]


def summarize_points(
    seqs: Sequence[int], steps: Sequence[int], values: Sequence[Any], size: int
) -> list[tuple[int, Summary]]:
    """(bucket, summary) of points whose places grow strictly, buckets of `size` places: one
    point at a time, for points with NaN (or not from the channel) and for `rebuild`."""
    n = len(seqs)
    out: list[tuple[int, Summary]] = []
    i = 0
    while i < n:
        bucket = seqs[i] // size
        j = bisect_left(seqs, (bucket + 1) * size, i, n)
        summary: Summary = [j - i, None, None, None, None, None, None]
        for k in range(i, j):
            value = values[k]
            if _has_value(value):
                summary = merge(summary, [0, value, value, steps[k], value, steps[k], value])
        out.append((bucket, summary))
        i = j
    return out


# A level's buckets as columns: bucket, count, first, last, min_step, min, max_step, max.
Columns8 = tuple[Sequence[Any], ...]


def _group(level: Columns8, ratio: int, points: bool) -> Columns8:
    """The buckets of the next level (`ratio` places or buckets of this one each), as columns.
    Every step runs in C over the columns (map over slices): the ingestion hot path. Needs
    values without NaN, and buckets (or places) that grow."""
    buckets, counts, firsts, lasts, min_steps, mins, max_steps, maxs = level
    n = len(buckets)
    if buckets[-1] - buckets[0] == n - 1:  # contiguous: the groups start every `ratio`
        offset = buckets[0] % ratio
        starts = [0, *range(ratio - offset, n, ratio)]
    else:
        starts, i = [], 0
        while i < n:
            starts.append(i)
            i = bisect_left(buckets, (buckets[i] // ratio + 1) * ratio, i, n)
    ends = [*starts[1:], n]
    lasts_at = [end - 1 for end in ends]
    spans = list(map(slice, starts, ends))
    low_parts = list(map(mins.__getitem__, spans))
    high_parts = low_parts if points else list(map(maxs.__getitem__, spans))
    lows = list(map(min, low_parts))
    highs = list(map(max, high_parts))
    index = type(low_parts[0]).index
    return (
        [b // ratio for b in map(buckets.__getitem__, starts)],
        list(map(operator.sub, ends, starts))
        if points
        else list(map(sum, map(counts.__getitem__, spans))),
        list(map(firsts.__getitem__, starts)),
        list(map(lasts.__getitem__, lasts_at)),
        list(map(min_steps.__getitem__, map(operator.add, starts, map(index, low_parts, lows)))),
        lows,
        list(map(max_steps.__getitem__, map(operator.add, starts, map(index, high_parts, highs)))),
        highs,
    )


def _plain_rows(
    run_id: int, key: int, seqs: Sequence[int], steps: Sequence[int], values: Sequence[float]
) -> list[tuple[Any, ...]]:
    """Every level's rows of a batch of one series whose values have no NaN."""
    rows: list[tuple[Any, ...]] = []
    level: Columns8 = (seqs, (), values, values, steps, values, steps, values)
    for number in range(1, len(SIZES)):
        ratio = SIZES[number] // SIZES[number - 1]
        level = _group(level, ratio, points=number == 1)
        rows.extend(zip(repeat(run_id), repeat(key), repeat(number), *level, strict=False))
    return rows


def coarser(rows: Iterable[tuple[int, Summary]]) -> list[tuple[int, Summary]]:
    """The next level's buckets from a level's rows in bucket order."""
    out: list[tuple[int, Summary]] = []
    for bucket, summary in rows:
        parent = bucket // FACTOR
        if out and out[-1][0] == parent:
            out[-1] = (parent, merge(out[-1][1], summary))
        else:
            out.append((parent, list(summary)))
    return out


def _split(batch: Columns) -> dict[int, tuple[Sequence[int], Sequence[int], Sequence[Any]]]:
    """A batch's columns per series (one pass in C per series)."""
    keys = batch.key
    distinct = set(keys)
    if len(distinct) == 1:
        return {next(iter(distinct)): (batch.seq, batch.step, batch.value)}
    out = {}
    for key in distinct:
        chosen = list(map(key.__eq__, keys))
        columns: list[Any] = []
        for column in (batch.seq, batch.step, batch.value):
            kept = compress(column, chosen)
            columns.append(
                array(column.typecode, kept) if isinstance(column, array) else list(kept)
            )
        out[key] = (columns[0], columns[1], columns[2])
    return out


def _plain(values: Sequence[Any]) -> list[float] | None:
    """The values as a list when they are floats and none is NaN (what the channel delivers,
    almost always; the sum is NaN when one is, or when inf meets -inf: then the slow path)."""
    if not (isinstance(values, array) and values.typecode == "d"):
        return None
    floats = values.tolist()  # a float object each, once: min/max/index then run in C
    return None if math.isnan(sum(floats)) else floats


def _growing(seqs: Sequence[int]) -> bool:
    if seqs[-1] - seqs[0] == len(seqs) - 1 and list(seqs) == list(range(seqs[0], seqs[-1] + 1)):
        return True  # the usual batch: places one after another (a C comparison of lists)
    return all(map(operator.lt, seqs, islice(seqs, 1, None)))


class LevelWriter:
    """A run's levels, written beside its points by store.metrics.MetricWriter."""

    def __init__(self, run_id: int) -> None:
        self.run_id = run_id
        self.last_seq: dict[int, int] = {}  # per series: the highest place written so far

    def write(self, conn: sqlite3.Connection, batch: Columns, complete: bool) -> None:
        """Add the summaries of `batch`, just inserted (`complete`: every point landed).
        Points after all those written so far are summarised here and merged into their
        buckets; anything else (a refused point, a place repeated or out of order) has its
        buckets computed again from the stored points."""
        rows: list[tuple[Any, ...]] = []
        for key, (seqs, steps, values) in _split(batch).items():
            if not seqs:
                continue
            last = self.last_seq.get(key, -1)
            if complete and seqs[0] > last and _growing(seqs):
                self.last_seq[key] = seqs[-1]
                floats = _plain(values)
                if floats is not None:
                    rows.extend(_plain_rows(self.run_id, key, seqs, steps, floats))
                    continue
                level = summarize_points(seqs, steps, values, SIZES[1])
                for number in range(1, len(SIZES)):
                    if number > 1:
                        level = coarser(level)
                    rows.extend((self.run_id, key, number, b, *s) for b, s in level)
            else:
                self.last_seq[key] = max(last, max(seqs))
                rebuild(conn, self.run_id, key, min(seqs), max(seqs))
        conn.executemany(_UPSERT, rows)


def rebuild(conn: sqlite3.Connection, run_id: int, key: int, lo: int, hi: int) -> None:
    """Compute again, from the stored points, every level's buckets that hold places lo..hi."""
    size = SIZES[1]
    first, last = lo // size, hi // size
    # Level 1 from the points, a slice at a time (a long series is never read whole).
    step = SIZES[3] // size
    for start in range(first, last + 1, step):
        end = min(start + step, last + 1)
        points = conn.execute(
            "SELECT seq, step, value FROM metrics WHERE run_id = ? AND key = ? AND seq >= ? "
            "AND seq < ? ORDER BY seq",
            [run_id, key, start * size, end * size],
        ).fetchall()
        seqs = [p[0] for p in points]
        summaries = summarize_points(seqs, [p[1] for p in points], [p[2] for p in points], size)
        _replace(conn, run_id, key, 1, start, end, summaries)
    for number in range(2, len(SIZES)):
        first, last = first // FACTOR, last // FACTOR
        below = conn.execute(
            f"SELECT bucket, {COLUMNS} FROM metric_levels WHERE run_id = ? AND key = ? "
            "AND level = ? AND bucket >= ? AND bucket < ? ORDER BY bucket",
            [run_id, key, number - 1, first * FACTOR, (last + 1) * FACTOR],
        ).fetchall()
        summaries = coarser((row[0], list(row[1:])) for row in below)
        _replace(conn, run_id, key, number, first, last + 1, summaries)


def _replace(
    conn: sqlite3.Connection,
    run_id: int,
    key: int,
    level: int,
    start: int,
    end: int,
    summaries: list[tuple[int, Summary]],
) -> None:
    conn.execute(
        "DELETE FROM metric_levels WHERE run_id = ? AND key = ? AND level = ? AND bucket >= ? "
        "AND bucket < ?",
        [run_id, key, level, start, end],
    )
    conn.executemany(_INSERT, [(run_id, key, level, b, *s) for b, s in summaries])


def rebuild_all(conn: sqlite3.Connection) -> None:
    """Every series' levels from its points (the migration that adds them)."""
    for run_id, key, top in conn.execute(
        "SELECT run_id, key, (SELECT max(seq) FROM metrics m WHERE m.run_id = k.run_id "
        "AND m.key = k.key) FROM metric_keys k"
    ).fetchall():
        if top is not None:
            rebuild(conn, run_id, key, 0, top)


# -- reading -----------------------------------------------------------------------------

# (place of the first point covered, min step, min value, max step, max value)
Extremes = tuple[int, int, float, int, float]


def has_levels(conn: sqlite3.Connection, run_id: int, key: int, top: int) -> bool:
    """Whether the series' levels reach its last place `top` (points inserted some other way,
    by a test or a benchmark, have none)."""
    return (
        conn.execute(
            "SELECT 1 FROM metric_levels WHERE run_id = ? AND key = ? AND level = 1 AND bucket = ?",
            [run_id, key, top // SIZES[1]],
        ).fetchone()
        is not None
    )


def level_for(span: int, rows: int) -> int:
    """The finest level that covers `span` places in at most `rows` buckets (else the
    coarsest)."""
    for number, size in enumerate(SIZES):
        if -(-span // size) <= rows:
            return number
    return len(SIZES) - 1


def cover(
    conn: sqlite3.Connection, run_id: int, key: int, lo: int, hi: int, number: int
) -> list[Extremes]:
    """The extremes of places lo..hi-1 in order: whole buckets of level `number`, and the
    ragged ends from the finer levels (so exactly those places, no more)."""
    out: list[Extremes] = []
    _cover(conn, run_id, key, lo, hi, number, out)
    return out


def _cover(
    conn: sqlite3.Connection,
    run_id: int,
    key: int,
    lo: int,
    hi: int,
    number: int,
    out: list[Extremes],
) -> None:
    if lo >= hi:
        return
    if number == 0:
        out.extend(
            (seq, step, value, step, value)
            for seq, step, value in conn.execute(
                "SELECT seq, step, value FROM metrics WHERE run_id = ? AND key = ? "
                "AND seq >= ? AND seq < ? AND value IS NOT NULL ORDER BY seq",
                [run_id, key, lo, hi],
            )
        )
        return
    size = SIZES[number]
    start, end = -(-lo // size), hi // size  # the whole buckets inside
    if start >= end:
        _cover(conn, run_id, key, lo, hi, number - 1, out)
        return
    _cover(conn, run_id, key, lo, start * size, number - 1, out)
    out.extend(  # rows as they come, no Python per row: the read path of every redraw
        conn.execute(
            "SELECT bucket * ?, min_step, min_value, max_step, max_value FROM metric_levels "
            "WHERE run_id = ? AND key = ? AND level = ? AND bucket >= ? AND bucket < ? "
            "AND min_value IS NOT NULL ORDER BY bucket",
            [size, run_id, key, number, start, end],
        )
    )
    _cover(conn, run_id, key, end * size, hi, number - 1, out)


def reduce(
    extremes: Iterable[Extremes], lo: int, span: int, buckets: int
) -> list[tuple[int, float]]:
    """The lowest and highest point of each of `buckets` equal ranges of places, in order."""
    out: list[tuple[int, float]] = []
    current = -1
    low: tuple[int, float] = (0, 0.0)
    high: tuple[int, float] = (0, 0.0)
    for seq, min_step, min_value, max_step, max_value in extremes:
        group = (seq - lo) * buckets // span
        if group != current:
            if current >= 0:
                _emit(out, low, high)
            current, low, high = group, (min_step, min_value), (max_step, max_value)
            continue
        if min_value < low[1]:
            low = (min_step, min_value)
        if max_value > high[1]:
            high = (max_step, max_value)
    if current >= 0:
        _emit(out, low, high)
    return out


def _emit(out: list[tuple[int, float]], low: tuple[int, float], high: tuple[int, float]) -> None:
    if low == high:
        out.append(low)
    else:
        out.extend(sorted((low, high), key=operator.itemgetter(0)))
