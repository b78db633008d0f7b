"""Exporting the 10,000-note corpus to HTML: notes per second, beside rendering the same
notes with markdown-it-py alone (the floor: parsing and rendering, nothing else).

    python benchmarks/bench_export.py [--notes N]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from _common import corpus_workspace, report

from studylog.export.exporter import export_notes
from studylog.paths import find_workspace
from studylog.settings import load_settings
from studylog.store.db import open_store
from studylog.store.index import index_notes
from studylog.store.queries import list_notes


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--notes", type=int, default=10_000)
    args = parser.parse_args()
    workspace = find_workspace(corpus_workspace())
    db = open_store(workspace.db_path)
    index_notes(db, workspace, load_settings(workspace.settings_file))
    paths = [n.path for n in list_notes(db) if n.readable][: args.notes]
    texts = [(workspace.notes_dir / p).read_text(encoding="utf-8") for p in paths]

    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    start = time.perf_counter()
    for text in texts:
        md.render(text)
    floor = time.perf_counter() - start

    out = Path(tempfile.mkdtemp(prefix="studylog-export-"))
    try:
        start = time.perf_counter()
        result = export_notes(db, workspace, paths, "html", out)
        ours = time.perf_counter() - start
    finally:
        shutil.rmtree(out)
        db.close()
    if result.failed:
        sys.exit(f"{len(result.failed)} notes failed: {result.failed[:3]}")
    count = len(paths)
    print(f"{count:,} notes to HTML (with highlighting, sanitizing and the index page)\n")
    report(
        "studylog export --format html",
        f"{count / ours:,.0f} notes/s",
        f"{count / floor:,.0f} notes/s",
        f"{ours / floor:.1f}× the time of markdown-it alone",
    )


if __name__ == "__main__":
    main()
