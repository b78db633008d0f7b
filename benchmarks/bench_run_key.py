"""Key `r` in the TUI to the snippet's first output line on screen (headless), warm (the run
forked from the warm parent the app started) beside cold (the same snippet marked
fresh=true), alternating, in one run. The snippet imports torch after its first line.

The key reaches the app as a terminal's would (the driver's message, not Pilot.press, which
waits for the whole process to go idle before it returns); the time ends when a screen
update the app sends to the terminal holds the line (the update a real driver writes,
rendered to terminal text here).

    python benchmarks/bench_run_key.py [--repeat N] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import median_p90_ms, report
from textual import events

from studylog.paths import Workspace
from studylog.settings import RunSettings, Settings
from studylog.store.history import get_run, list_runs
from studylog.tui.app import StudylogApp
from studylog.tui.screens.main import MainScreen

SNIPPET = 'print("first line of the run")\nimport torch\n'
LINE = "first line of the run"


class ScreenWatch:
    """The app's screen updates, rendered to the text a terminal would receive; `seen` is
    set once an update holds LINE."""

    def __init__(self, app: StudylogApp) -> None:
        self.app = app
        self.seen: asyncio.Event = asyncio.Event()
        self.watching = False
        original = app._display

        def display(screen: Any, renderable: Any) -> None:
            original(screen, renderable)
            if not self.watching or renderable is None or self.seen.is_set():
                return
            if LINE in renderable.render_segments(app.console):
                self.seen.set()

        app._display = display  # type: ignore[method-assign]

    def arm(self) -> None:
        self.seen.clear()
        self.watching = True


async def measure(
    root: Path, repeat: int, profile: cProfile.Profile | None
) -> dict[str, list[float]]:
    app = StudylogApp(Workspace(root), Settings(run=RunSettings(timeout=600)), warm=True)
    times: dict[str, list[float]] = {"warm": [], "cold": []}
    async with app.run_test(size=(160, 50)) as pilot:
        screen = app.screen
        assert isinstance(screen, MainScreen)
        watch = ScreenWatch(app)
        driver = app._driver
        assert driver is not None
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
            watch.arm()
            if profile is not None and name == "warm":
                profile.enable()
            start = time.perf_counter()
            driver.send_message(events.Key("r", "r"))
            await asyncio.wait_for(watch.seen.wait(), 60)
            times[name].append(time.perf_counter() - start)
            if profile is not None:
                profile.disable()
            watch.watching = False
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
    parser.add_argument("--profile", action="store_true", help="cProfile the warm presses")
    args = parser.parse_args()
    profile = cProfile.Profile() if args.profile else None
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "notes").mkdir()
        for name, attrs in (("warm", ""), ("cold", " fresh=true")):
            fence = f"```python run name={name}{attrs}"
            text = f"# {name}\n\n{fence}\n{SNIPPET}```\n"
            (root / "notes" / f"{name}.md").write_text(text, encoding="utf-8")
        times = asyncio.run(measure(root, args.repeat, profile))
    if profile is not None:
        pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
    print(f"{args.repeat} presses of r each; median / p90 (goal: warm median ≤ 50 ms)\n")
    report(
        "key r → first output line, warm",
        median_p90_ms(times["warm"]),
        f"cold {median_p90_ms(times['cold'])}",
        f"{statistics.median(times['cold']) / statistics.median(times['warm']):.1f}× faster",
    )


if __name__ == "__main__":
    main()
