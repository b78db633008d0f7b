"""Reading a curve: a 1,000,000-point series read back and reduced to what a terminal plot
shows (400 buckets, the lowest and highest point of each, so spikes survive), beside reading
all its rows into Python.

    python benchmarks/bench_curve.py [--points N]
"""

from __future__ import annotations

import argparse
import math
import random
import tempfile
from pathlib import Path

from _common import median_time, report

from studylog.store.db import open_store
from studylog.store.history import series


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = open_store(Path(tmp) / "curve.db")
        db.execute(
            "INSERT INTO runs (id, note_path, snippet, source, code, code_hash, seed, status, "
            "started) VALUES (1, 'c.md', 'c', 'fence', '', '', 0, 'succeeded', '')"
        )
        db.execute("INSERT INTO metric_keys VALUES (1, 0, 'loss')")
        rng = random.Random(0)
        rows = [
            (0, i, i, math.exp(-i / 2e5) + rng.random() * 0.01, i // 100)
            for i in range(args.points)
        ]
        db.conn.execute("BEGIN")
        db.conn.executemany("INSERT INTO metrics VALUES (1, ?, ?, ?, ?, ?)", rows)
        db.conn.execute("COMMIT")
        reduced = series(db, 1, "loss", max_points=400)
        full = median_time(
            lambda: db.execute(
                "SELECT step, value FROM metrics WHERE run_id = 1 AND key = 0 ORDER BY seq"
            ).fetchall()
        )
        ours = median_time(lambda: series(db, 1, "loss", max_points=400))
        db.close()
    print(f"{args.points:,} points → {len(reduced)} plotted (min and max of 400 buckets)\n")
    report(
        "series(max_points=400)",
        f"{ours * 1000:.0f} ms",
        f"{full * 1000:.0f} ms",
        f"{full / ours:.1f}× faster than reading every row",
    )


if __name__ == "__main__":
    main()
