"""Key-to-screen latency in the TUI: arrow keys in the notes tree, each timed from the key
event until the tree's cursor has moved and the screen has refreshed after it (headless),
while a snippet prints 10,000 lines a second and logs 1,000 metric points a second, beside
the same keys with nothing running; and the keys with a 100 KB note open (the mixed note
of bench_note_open.py) beside the same keys with a bundled note open.

    python benchmarks/bench_tui_latency.py [--keys N]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from _common import report
from bench_note_open import note_text
from textual import events

from studylog.paths import Workspace, sample_course
from studylog.settings import RunSettings, Settings
from studylog.tui.app import StudylogApp
from studylog.tui.screens.main import MainScreen
from studylog.tui.widgets.note_tree import NoteTree
from studylog.tui.widgets.note_view import NoteView
from studylog.tui.widgets.run_log import RunLog

BUNDLED_NOTE = "dl-basics/2022-01-20-backpropagation.md"
BUSY_NOTE = """# Busy snippet

```python run name=busy timeout=120
import time
from studylog import track

start = time.monotonic()
for tick in range(60_000):  # 100 ticks a second for up to 10 minutes
    for line in range(100):
        print(f"tick {tick} line {line} " + "x" * 40)
    for point in range(10):
        track.log(step=tick * 10 + point, loss=1.0 / (tick + 1))
    time.sleep(max(0.0, start + (tick + 1) / 100 - time.monotonic()))
```
"""


async def _press_times(pilot, keys: int) -> list[float]:
    """Not `pilot.press`, which waits for the app to be idle: a busy app never is."""
    app = pilot.app
    tree = app.screen.query_one(NoteTree)
    times = []
    tree.cursor_line = 2  # then down, down, up, up: the cursor always has somewhere to go
    for index in range(keys):
        key = "down" if index % 4 < 2 else "up"
        before = tree.cursor_line
        painted = asyncio.get_running_loop().create_future()
        start = time.perf_counter()
        app.post_message(events.Key(key, None))
        while tree.cursor_line == before:
            await asyncio.sleep(0.0005)
        app.call_after_refresh(lambda f=painted: f.done() or f.set_result(None))
        await painted
        times.append(time.perf_counter() - start)
        await asyncio.sleep(0.02)  # a person's pace, not a stream of keys
    return times


async def measure(root: Path, keys: int) -> tuple[list[float], list[float], int, list[float]]:
    app = StudylogApp(Workspace(root), Settings(run=RunSettings(timeout=600)))
    async with app.run_test(size=(160, 50)) as pilot:
        screen = app.screen
        assert isinstance(screen, MainScreen)
        while not screen.notes:
            await pilot.pause(0.05)
        tree = app.screen.query_one(NoteTree)
        idle_with: dict[str, list[float]] = {}
        for note in (BUNDLED_NOTE, "big.md"):  # the keys with each note open
            view = screen.query_one(NoteView)
            screen.open_note(note, quiet=True)
            while view.detail is None or view.detail.summary.path != note:
                await pilot.pause(0.05)
            await view.ready.wait()
            tree.focus()
            await pilot.pause(0.2)
            idle_with[note] = await _press_times(pilot, keys)
        idle = idle_with[BUNDLED_NOTE]
        screen.open_note("busy.md")
        while screen.snippet != "busy":
            await pilot.pause(0.05)
        tree.focus()
        await pilot.press("r")
        log = screen.query_one(RunLog)
        while len(log.lines) < 1000:  # the flood has begun
            await pilot.pause(0.05)
        busy = await _press_times(pilot, keys)
        lines = len(log.lines)
        await pilot.press("c")
        while screen.running is not None:
            await pilot.pause(0.05)
    return idle, busy, lines, idle_with["big.md"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", type=int, default=200)
    parser.add_argument("--note-kb", type=int, default=100, help="the large note's size")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="studylog-latency-"))
    try:
        shutil.copytree(sample_course() / "notes", root / "notes")
        shutil.copytree(sample_course() / "experiments", root / "experiments")
        (root / "notes" / "busy.md").write_text(BUSY_NOTE, encoding="utf-8")
        (root / "notes" / "big.md").write_text(note_text(args.note_kb), encoding="utf-8")
        idle, busy, lines, big = asyncio.run(measure(root, args.keys))
    finally:
        shutil.rmtree(root)
    ms = lambda s: f"{s * 1000:.1f} ms"  # noqa: E731
    print(
        f"{args.keys} arrow keys each; the run printed 10,000 lines/s "
        f"and logged 1,000 points/s ({lines} lines on screen when measured)\n"
    )
    report(
        "key to screen, median",
        ms(statistics.median(busy)),
        ms(statistics.median(idle)),
        "while a snippet floods vs nothing running",
    )
    report(
        f"key to screen, median, {args.note_kb} KB note open",
        ms(statistics.median(big)),
        ms(statistics.median(idle)),
        "vs the bundled note open (nothing running)",
    )
    report(
        f"key to screen, worst, {args.note_kb} KB note open",
        ms(max(big)),
        ms(max(idle)),
        "vs the bundled note open (nothing running)",
    )
    report(
        "key to screen, worst",
        ms(max(busy)),
        ms(max(idle)),
        "while a snippet floods vs nothing running",
    )


if __name__ == "__main__":
    main()
