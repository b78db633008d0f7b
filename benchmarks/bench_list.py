"""`studylog list --json` on the 10,000-note corpus, whole process (the index is up to date,
so this includes the check that it is), beside `python -c "import studylog"` as the floor.

    python benchmarks/bench_list.py
"""

from __future__ import annotations

import json
import subprocess
import sys

from _common import corpus_workspace, median_time, report


def main() -> None:
    root = corpus_workspace()
    command = [sys.executable, "-m", "studylog", "list", "--json", "--workspace", str(root)]
    out = subprocess.run(command, capture_output=True, text=True, check=True)  # indexes if needed
    count = len(json.loads(out.stdout))
    floor = median_time(
        lambda: subprocess.run([sys.executable, "-c", "import studylog"], check=True)
    )
    listing = median_time(lambda: subprocess.run(command, capture_output=True, check=True))
    print(f"corpus: {count} notes listed\n")
    report(
        "studylog list --json",
        f"{listing * 1000:.0f} ms",
        f"{floor * 1000:.0f} ms",
        f"{listing / floor:.1f}× the import floor",
    )


if __name__ == "__main__":
    main()
