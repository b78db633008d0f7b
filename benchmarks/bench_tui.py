"""TUI start: from process start to the first painted screen, with the 10,000-note corpus
(indexed beforehand), beside a minimal Textual app that paints one label (the floor). Also
the time until the notes are in the tree (they load in a worker after the first paint).

    python benchmarks/bench_tui.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

from _common import corpus_workspace, report

HERE = Path(__file__).parent


def main() -> None:
    root = corpus_workspace()
    subprocess.run(  # the index is up to date before timing
        [sys.executable, "-m", "studylog", "index", "--workspace", str(root)],
        check=True,
        capture_output=True,
    )

    def start(*args: str) -> float:
        """Seconds from starting the process to the moment it reports."""
        began = time.time()
        out = subprocess.run(
            [sys.executable, str(HERE / "_first_paint.py"), *args],
            check=True,
            capture_output=True,
            text=True,
        )
        return float(out.stdout.split()[-1]) - began

    def median(*args: str) -> float:
        return statistics.median(start(*args) for _ in range(7))

    floor = median("floor")
    painted = median("studylog", str(root))
    notes = median("studylog-notes", str(root))
    print("10,000-note corpus, headless, median of 7 fresh processes\n")
    report(
        "first painted screen",
        f"{painted * 1000:.0f} ms",
        f"{floor * 1000:.0f} ms",
        f"{painted / floor:.2f}× the one-label app (goal ≤ 2×)",
    )
    report(
        "notes in the tree",
        f"{notes * 1000:.0f} ms",
        f"{floor * 1000:.0f} ms",
        f"{notes / floor:.2f}× the one-label app",
    )


if __name__ == "__main__":
    main()
