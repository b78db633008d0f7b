"""Reading a curve: a 1,000,000-point series ready to draw 1,000 points wide (the lowest and
highest point of 1,000 buckets, read from the stored levels), beside reading all its rows
into Python, in the same run. Also: a zoom to 5 % of the steps, and the reduction from the
points themselves that studylog did before the levels (as a second baseline). The points go
in through the metric writer, as a run's do, so the levels are written as in use.

    python benchmarks/bench_curve.py [--points N] [--width W]
"""

from __future__ import annotations

import argparse
import math
import random
import tempfile
from array import array
from pathlib import Path

from _common import median_time, report

from studylog.protocol import Columns
from studylog.store.db import open_store
from studylog.store.history import _reduce_points, series
from studylog.store.metrics import MetricWriter

BATCH = 8192  # about what the runner hands the writer at a time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--width", type=int, default=1000)
    args = parser.parse_args()
    n, width = args.points, args.width
    rng = random.Random(0)
    spike_at = rng.randrange(n)
    with tempfile.TemporaryDirectory() as tmp:
        db = open_store(Path(tmp) / "curve.db")
        db.execute(
            "INSERT INTO runs (id, note_path, snippet, source, code, code_hash, seed, status, "
            "started) VALUES (1, 'c.md', 'c', 'fence', '', '', 0, 'succeeded', '')"
        )
        writer = MetricWriter(db, 1)
        writer.add_key(0, "loss")
        for start in range(0, n, BATCH):
            end = min(start + BATCH, n)
            values = array(
                "d", (math.exp(-i / 2e5) + rng.random() * 0.01 for i in range(start, end))
            )
            if start <= spike_at < end:
                values[spike_at - start] = 50.0  # the largest value, somewhere
            writer.add_points(
                Columns(
                    array("q", [0] * (end - start)),
                    array("q", range(start, end)),
                    array("q", range(start, end)),
                    values,
                    array("q", [0] * (end - start)),
                )
            )
            writer.flush()
        reduced = series(db, 1, "loss", max_points=width)
        zoom = (n // 2, n // 2 + n // 20)
        zoomed = series(db, 1, "loss", max_points=width, step_range=zoom)
        full = median_time(
            lambda: db.execute(
                "SELECT step, value FROM metrics WHERE run_id = 1 AND key = 0 ORDER BY seq"
            ).fetchall()
        )
        ours = median_time(lambda: series(db, 1, "loss", max_points=width))
        ours_zoom = median_time(lambda: series(db, 1, "loss", max_points=width, step_range=zoom))
        before = median_time(lambda: _reduce_points(db, 1, 0, 0, n, width), repeat=3)
        db.close()
    spike = (spike_at, 50.0) in reduced
    print(
        f"{n:,} points → {len(reduced):,} to draw (min and max of at most {width:,} buckets); "
        f"the largest spike (step {spike_at:,}) in it: {'yes' if spike else 'NO'}\n"
    )
    report(
        f"series(max_points={width})",
        f"{ours * 1000:.1f} ms",
        f"{full * 1000:.0f} ms",
        f"{full / ours:.0f}× faster than reading every row (goal ≤ 20 ms)",
    )
    report(
        "  the same from the points (before)",
        f"{before * 1000:.0f} ms",
        f"{ours * 1000:.1f} ms",
        f"the levels are {before / ours:.0f}× faster",
    )
    report(
        f"zoom to steps {zoom[0]:,}–{zoom[1]:,}",
        f"{ours_zoom * 1000:.1f} ms",
        f"{full * 1000:.0f} ms",
        f"{len(zoomed):,} points, {full / ours_zoom:.0f}× faster than reading every row",
    )


if __name__ == "__main__":
    main()
