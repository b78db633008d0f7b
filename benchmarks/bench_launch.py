"""Launch overhead: from the run request to a snippet's first statement and to the end of its
`import torch`, through studylog's runner (child process, bootstrap, seeding hook, channel),
beside the same in a bare `python -c` started the same way.

    python benchmarks/bench_launch.py [--repeat N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import report

from studylog.paths import Workspace
from studylog.runner.events import RunEvent
from studylog.runner.service import Runner, RunTarget
from studylog.settings import Settings
from studylog.store.db import open_store
from studylog.store.index import index_notes
from studylog.store.queries import get_note

# The snippet prints the clock at its first statement and after importing torch.
SNIPPET = "import time; print(time.time())\nimport torch\nprint(time.time())"


def through_studylog(root: Path, repeat: int) -> list[tuple[float, float]]:
    workspace = Workspace(root)
    (root / "notes").mkdir(parents=True)
    (root / "notes" / "launch.md").write_text(f"# Launch\n\n```python run\n{SNIPPET}\n```\n")
    settings = Settings()
    db = open_store(workspace.db_path)
    index_notes(db, workspace, settings)
    detail = get_note(db, "launch.md")
    runner = Runner(db, workspace, settings.run)
    target = RunTarget(detail.summary.id, "launch.md", detail.snippets[0])
    times = []
    for _ in range(repeat):
        lines: list[str] = []
        requested = time.time()

        def on_event(event: RunEvent, out: list[str] = lines) -> None:
            out.append(getattr(event, "line", ""))

        asyncio.run(runner.run(target, on_event=on_event))
        first, imported = (float(x) for x in "".join(lines).split())
        times.append((first - requested, imported - requested))
    db.close()
    return times


def bare_python(repeat: int) -> list[tuple[float, float]]:
    times = []
    for _ in range(repeat):
        requested = time.time()
        out = subprocess.run([sys.executable, "-c", SNIPPET], capture_output=True, text=True)
        first, imported = (float(x) for x in out.stdout.split())
        times.append((first - requested, imported - requested))
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    bare_python(1)  # warm the file cache for both
    with tempfile.TemporaryDirectory() as tmp:
        ours = through_studylog(Path(tmp) / "ws", args.repeat)
    bare = bare_python(args.repeat)
    med = lambda pairs, i: statistics.median(p[i] for p in pairs)  # noqa: E731
    print(f"median of {args.repeat} cold starts each (torch imported by the snippet)\n")
    report(
        "request → first statement",
        f"{med(ours, 0) * 1000:.0f} ms",
        f"{med(bare, 0) * 1000:.0f} ms",
        f"+{(med(ours, 0) - med(bare, 0)) * 1000:.0f} ms",
    )
    report(
        "request → torch imported",
        f"{med(ours, 1) * 1000:.0f} ms",
        f"{med(bare, 1) * 1000:.0f} ms",
        f"{med(ours, 1) / med(bare, 1):.2f}× bare python",
    )


if __name__ == "__main__":
    main()
