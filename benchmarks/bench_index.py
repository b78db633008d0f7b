"""Indexing speed on the 10,000-note corpus, beside markdown-it-py alone reading and parsing
the same files (the baseline, one process).

Goals (issue 2): cold index ≤ 2× the baseline; re-index with nothing changed < 5% of the cold
index; with one file changed < 1% of it.

    python benchmarks/bench_index.py
"""

from __future__ import annotations

import os
import shutil

from _common import corpus_workspace, median_time, report, timed


def main() -> None:
    from markdown_it import MarkdownIt

    from studylog.paths import Workspace
    from studylog.settings import Settings
    from studylog.store import index as index_module
    from studylog.store.db import open_store
    from studylog.store.index import index_notes

    root = corpus_workspace()
    files = sorted((root / "notes").rglob("*.md"))
    size_mb = sum(f.stat().st_size for f in files) / 1e6
    print(f"corpus: {len(files)} notes, {size_mb:.1f} MB; {os.cpu_count()} CPUs\n")

    md = MarkdownIt("commonmark")

    def parse_all() -> None:
        for f in files:  # tokens dropped as we go: keeping 10,000 lists alive slows the GC
            md.parse(f.read_text(encoding="utf-8"))

    baseline = timed(parse_all)

    shutil.rmtree(root / ".studylog", ignore_errors=True)
    workspace, settings = Workspace(root), Settings()
    db = open_store(workspace.db_path)
    cold = timed(lambda: index_notes(db, workspace, settings))
    report(
        "cold index", f"{cold:.2f} s", f"{baseline:.2f} s", f"{cold / baseline:.2f}× (goal ≤ 2×)"
    )
    db.close()

    # The same in one process, for comparison: worker processes are what makes the figure.
    parallel_min, index_module.PARALLEL_MIN = index_module.PARALLEL_MIN, len(files) + 1
    shutil.rmtree(root / ".studylog", ignore_errors=True)
    db = open_store(workspace.db_path)
    serial = timed(lambda: index_notes(db, workspace, settings))
    report(
        "cold index, one process",
        f"{serial:.2f} s",
        f"{baseline:.2f} s",
        f"{serial / baseline:.2f}×",
    )
    index_module.PARALLEL_MIN = parallel_min

    noop = median_time(lambda: index_notes(db, workspace, settings))
    report(
        "re-index, nothing changed",
        f"{noop * 1000:.0f} ms",
        f"{cold:.2f} s",
        f"{noop / cold:.2%} of cold (goal < 5%)",
    )

    target = files[len(files) // 2]
    original = target.read_text(encoding="utf-8")
    edits = iter(range(1000))

    def edit() -> None:
        target.write_text(original + f"\n수정 {next(edits)}\n", encoding="utf-8")

    one = median_time(lambda: index_notes(db, workspace, settings), setup=edit)
    target.write_text(original, encoding="utf-8")
    index_notes(db, workspace, settings)
    report(
        "re-index, one file changed",
        f"{one * 1000:.0f} ms",
        f"{cold:.2f} s",
        f"{one / cold:.2%} of cold (goal < 1%)",
    )
    db.close()


if __name__ == "__main__":
    main()
