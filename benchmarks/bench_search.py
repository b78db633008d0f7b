"""Search latency on the 10,000-note corpus: a ranked top 20 through the index, beside a
plain scan of the note texts with the same meaning (the baseline). Every query must find
exactly the notes the scan finds. Then ranking quality on the labelled queries of
tests/ranking_corpus.py: precision@1 and MRR of the index's BM25 ranking (title, headings
and meta weighted above the body), beside the scan's ranking by occurrences (the baseline).

Goal (issues 2 and 11): every query right and at most 30 ms (median); the labelled queries
ranked right (precision@1 and MRR at least 0.95).

    python benchmarks/bench_search.py
"""

from __future__ import annotations

import functools
import os
import statistics
import time
from collections.abc import Callable

import sqlite_utils
from _common import corpus_workspace, median_time, report

QUERIES = [
    ("Korean, 3+ syllables", "역전파"),
    ("English word", "optimizer"),
    ("Korean, 2 syllables", "학습"),
    ("identifier part", "loader"),
    ("identifier part", "grad"),
]


def _rank_only(db: sqlite_utils.Database, match: str) -> list[object]:
    """SQLite's own BM25 ranking of the matches, nothing of ours."""
    from studylog.store.search import _RANK

    sql = f"SELECT rowid, {_RANK} AS r FROM notes_fts WHERE notes_fts MATCH ? ORDER BY r LIMIT 20"
    return db.execute(sql, [match]).fetchall()


def main() -> None:
    from studylog.paths import Workspace
    from studylog.settings import Settings
    from studylog.store.db import open_store
    from studylog.store.index import index_notes
    from studylog.store.search import parse_query, scan_search, search

    root = corpus_workspace()
    workspace = Workspace(root)
    db = open_store(workspace.db_path)
    index_notes(db, workspace, Settings())
    total = db.execute("SELECT count(*) FROM notes").fetchone()[0]
    print(f"corpus: {total} notes; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print("(a loaded machine stretches every figure: best of 21 is the closest to a quiet one)\n")
    for label, query in QUERIES:
        everything = {h.path for h in search(db, query, limit=total)}
        scanned = {row[0] for row in scan_search(db, parse_query(query), limit=total)}
        right = everything == scanned
        times = sample_times(functools.partial(search, db, query, limit=20), repeat=21)
        fts = statistics.median(times)
        scan = median_time(lambda q=query: scan_search(db, parse_query(q), limit=20), repeat=5)
        verdict = (
            f"{len(everything)} notes, {'same as scan' if right else 'DIFFERS from scan'}; "
            + ("ok" if fts <= 0.030 and right else "MISSES GOAL")
        )
        report(
            f"search {query!r} ({label})", f"{fts * 1000:.1f} ms", f"{scan * 1000:.0f} ms", verdict
        )
        # Where the time goes: SQLite ranking every matching note (BM25 per column) is the
        # floor; the rest is ours (confirming Korean phrases, reading the 20 notes, excerpts).
        match = " AND ".join(t.fts_phrase() for t in parse_query(query))
        rank = sample_times(functools.partial(_rank_only, db, match), repeat=21)
        print(
            f"  best of 21: {min(times) * 1000:.1f} ms, of which SQLite's BM25 ranking of "
            f"every match {min(rank) * 1000:.1f} ms"
        )
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    db.close()
    ranking()


def sample_times(fn: Callable[[], object], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def ranking() -> None:
    import sys
    from pathlib import Path

    from studylog.notes.parse import parse_note
    from studylog.store.db import open_memory_store
    from studylog.store.index import _Writer
    from studylog.store.search import parse_query, scan_search, search

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from ranking_corpus import NOTES, QUERIES, precision_at_1_and_mrr

    db = open_memory_store()
    writer = _Writer(db)
    for path, text in NOTES.items():
        writer.put(parse_note(text, path), None, None, None, None)
    writer.flush()
    ranked = {q: [h.path for h in search(db, q, limit=10)] for q, _ in QUERIES}
    scanned = {q: [r[0] for r in scan_search(db, parse_query(q), limit=10)] for q, _ in QUERIES}
    p1, mrr = precision_at_1_and_mrr(ranked)
    base_p1, base_mrr = precision_at_1_and_mrr(scanned)
    verdict = "ok" if p1 >= 0.95 and mrr >= 0.95 else "MISSES GOAL"
    print(f"\nranking: {len(QUERIES)} labelled queries over {len(NOTES)} notes")
    report("precision@1", f"{p1:.2f}", f"{base_p1:.2f}", verdict)
    report("MRR", f"{mrr:.2f}", f"{base_mrr:.2f}", verdict)


if __name__ == "__main__":
    main()
