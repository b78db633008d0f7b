"""Key `r` in the TUI to the snippet's first output line on screen (headless), warm (the run
forked from the warm parent the app started) beside cold (the same snippet marked
fresh=true), alternating, in one run. The snippet imports torch after its first line.

    python benchmarks/bench_run_key.py [--repeat N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from _common import median_p90_ms, report

from studylog.paths import Workspace
from studylog.settings import RunSettings, Settings
from studylog.store.history import get_run, list_runs
from studylog.tui.app import StudylogApp
from studylog.tui.screens.main import MainScreen
from studylog.tui.widgets.run_log import RunLog

SNIPPET = 'print("first line of the run")\nimport torch\n'


def _shown(log: RunLog) -> bool:
    return any("first line of the run" in line.text for line in log.lines)


def _settle(done: asyncio.Future[None]) -> None:
    if not done.done():
        done.set_result(None)


async def measure(root: Path, repeat: int) -> dict[str, list[float]]:
    app = StudylogApp(Workspace(root), Settings(run=RunSettings(timeout=600)), warm=True)
    times: dict[str, list[float]] = {"warm": [], "cold": []}
    async with app.run_test(size=(160, 50)) as pilot:
        screen = app.screen
        assert isinstance(screen, MainScreen)
        while not screen.notes:
            await pilot.pause(0.05)
        while "run_session" not in app.__dict__ or app.run_session.runner.warm is None:
            await pilot.pause(0.05)
        warm = app.run_session.runner.warm
        while not warm.check_ready():
            if warm.failure:
                raise SystemExit(f"the warm parent did not start: {warm.failure}")
            await pilot.pause(0.1)
        for index in range(repeat * 2):
            name = "warm" if index % 2 == 0 else "cold"
            screen.open_note(f"{name}.md")
            while screen.snippet != name:
                await pilot.pause(0.05)
            await pilot.pause(0.2)
            log = screen.query_one(RunLog)
            painted = asyncio.get_running_loop().create_future()
            start = time.perf_counter()
            await pilot.press("r")
            while not _shown(log):
                await asyncio.sleep(0.0005)
            app.call_after_refresh(_settle, painted)
            await painted
            times[name].append(time.perf_counter() - start)
            while screen.running is not None:
                await pilot.pause(0.05)
            latest = list_runs(app.db)[0]
            path = get_run(app.db, latest.id).start_path
            if path != name:
                raise SystemExit(f"run {latest.id} of {name} started {path}")
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "notes").mkdir()
        for name, attrs in (("warm", ""), ("cold", " fresh=true")):
            fence = f"```python run name={name}{attrs}"
            text = f"# {name}\n\n{fence}\n{SNIPPET}```\n"
            (root / "notes" / f"{name}.md").write_text(text, encoding="utf-8")
        times = asyncio.run(measure(root, args.repeat))
    print(f"{args.repeat} presses of r each; median / p90 (goal: warm median ≤ 50 ms)\n")
    report(
        "key r → first output line, warm",
        median_p90_ms(times["warm"]),
        f"cold {median_p90_ms(times['cold'])}",
        f"{statistics.median(times['cold']) / statistics.median(times['warm']):.0f}× faster",
    )


if __name__ == "__main__":
    main()
