"""Launch overhead: from the run request to a snippet's first statement and to the end of its
`import torch`, through studylog's runner (child process, bootstrap, seeding hook, channel),
warm (forked from the warm parent) and cold (a new interpreter), beside the same in a bare
`python -c` started the same way; median and p90, all in one run.

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

from _common import median_p90_ms, report

from studylog.paths import Workspace
from studylog.runner.events import RunEvent
from studylog.runner.service import Runner, RunTarget
from studylog.settings import Settings
from studylog.store.db import open_store
from studylog.store.history import get_run
from studylog.store.index import index_notes
from studylog.store.queries import get_note

# The snippet prints the clock at its first statement and after importing torch.
SNIPPET = "import time; print(time.time())\nimport torch\nprint(time.time())"


def through_studylog(root: Path, repeat: int, warm: bool) -> list[tuple[float, float]]:
    """`repeat` runs of the torch snippet through Runner.run: warm ones from a warm parent
    that was ready before the first, or cold ones (the snippet marked fresh=true)."""
    workspace = Workspace(root)
    (root / "notes").mkdir(parents=True, exist_ok=True)
    fence = "```python run" + ("" if warm else " fresh=true")
    name = "warm.md" if warm else "cold.md"
    (root / "notes" / name).write_text(f"# Launch\n\n{fence}\n{SNIPPET}\n```\n")
    settings = Settings()
    db = open_store(workspace.db_path)
    index_notes(db, workspace, settings)
    detail = get_note(db, name)
    runner = Runner(db, workspace, settings.run)
    target = RunTarget(detail.summary.id, name, detail.snippets[0])
    times = []

    async def go() -> None:
        if warm:
            parent = runner.start_warm()
            if not await parent.wait_ready(300):
                raise SystemExit(f"the warm parent did not start: {parent.failure}")
        for _ in range(repeat):
            lines: list[str] = []
            requested = time.time()

            def on_event(event: RunEvent, out: list[str] = lines) -> None:
                out.append(getattr(event, "line", ""))

            finished = await runner.run(target, on_event=on_event)
            path = get_run(db, finished.run_id).start_path
            if path != ("warm" if warm else "cold"):
                raise SystemExit(f"a run started {path}: {finished}")
            first, imported = (float(x) for x in "".join(lines).split())
            times.append((first - requested, imported - requested))

    try:
        asyncio.run(go())
    finally:
        runner.close()
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
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    bare_python(1)  # warm the file cache for all
    with tempfile.TemporaryDirectory() as tmp:
        warm = through_studylog(Path(tmp) / "ws", args.repeat, warm=True)
        cold = through_studylog(Path(tmp) / "ws", args.repeat, warm=False)
    bare = bare_python(args.repeat)
    med = lambda pairs, i: statistics.median(p[i] for p in pairs)  # noqa: E731
    print(f"{args.repeat} runs each of a torch snippet; median / p90 (goal: warm median ≤ 20 ms)\n")
    for i, what in enumerate(("request → first statement", "request → torch imported")):
        report(
            f"{what}, warm",
            median_p90_ms([p[i] for p in warm]),
            f"cold {median_p90_ms([p[i] for p in cold])}",
            f"{med(cold, i) / med(warm, i):.0f}× faster than cold",
        )
        report(
            f"{what}, cold",
            median_p90_ms([p[i] for p in cold]),
            f"bare {median_p90_ms([p[i] for p in bare])}",
            f"{med(cold, i) / med(bare, i):.2f}× bare python",
        )


if __name__ == "__main__":
    main()
