"""Search latency on the 10,000-note corpus: a ranked top 20 through the index, beside a
plain scan of the note texts with the same meaning (the baseline). Every query must find
exactly the notes the scan finds.

Goal (issue 2): every query right and at most 30 ms (median).

    python benchmarks/bench_search.py
"""

from __future__ import annotations

from _common import corpus_workspace, median_time, report

QUERIES = [
    ("Korean, 3+ syllables", "역전파"),
    ("English word", "optimizer"),
    ("Korean, 2 syllables", "학습"),
]


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
    print(f"corpus: {total} notes\n")
    for label, query in QUERIES:
        everything = {h.path for h in search(db, query, limit=total)}
        scanned = {row[0] for row in scan_search(db, parse_query(query), limit=total)}
        right = everything == scanned
        fts = median_time(lambda q=query: search(db, q, limit=20), repeat=21)
        scan = median_time(lambda q=query: scan_search(db, parse_query(q), limit=20), repeat=5)
        verdict = (
            f"{len(everything)} notes, {'same as scan' if right else 'DIFFERS from scan'}; "
            + ("ok" if fts <= 0.030 and right else "MISSES GOAL")
        )
        report(
            f"search {query!r} ({label})", f"{fts * 1000:.1f} ms", f"{scan * 1000:.0f} ms", verdict
        )
    db.close()


if __name__ == "__main__":
    main()
