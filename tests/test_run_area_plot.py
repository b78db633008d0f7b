"""The run area's curves take room only when there is a curve to draw (issue 9, newcomer
pass): at 80x24, a snippet never run, or a run without metrics, gives the plot's rows to
the output. Real child processes, a real store."""

from __future__ import annotations

from pathlib import Path

from studylog.tui.app import StudylogApp
from tests.tui_helpers import make_workspace, open_snippets, settings, until

NOTE = "plot/2022-03-05-plot.md"
TEXT = """---
title: Plot or not
date: 2022-03-05
topic: Plot
---
# Plot or not

```python run name=quiet
for i in range(40):
    print("line", i)
```

```python run name=curve
from studylog import track
for step in range(20):
    track.log(step=step, loss=1.0 / (step + 1))
print("done")
```
"""


async def test_no_curve_gives_the_plot_rows_to_the_output_at_80x24(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws", {NOTE: TEXT})
    app = StudylogApp(ws, settings())
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_snippets(pilot, NOTE, "quiet")
        area = screen.run_area
        assert area is not None
        log, plot = area.log_view, area.plot

        # Never run: no curve, no plot; the output panel has the rows.
        await until(pilot, lambda: not plot.display, "the empty plot to hide")
        await pilot.pause()
        tall = log.region.height
        assert tall > 5 and plot.region.height == 0

        # Run without metrics: its output keeps the rows, while it runs and after.
        await pilot.press("s", "r")
        await until(pilot, lambda: any("line 39" in s.text for s in log.lines), "its output")
        await until(pilot, lambda: screen.running is None, "the run to end", seconds=60)
        await pilot.pause()
        assert not plot.display and log.region.height == tall

        # A run with a curve: the plot comes back and takes its rows from the output.
        await pilot.press("down", "r")
        await until(pilot, lambda: screen.running is None and plot.curves, "the curve run")
        await until(pilot, lambda: plot.display and plot.region.height > 0, "the plot to show")
        await pilot.pause()
        assert log.region.height < tall
        assert plot.region.height >= 7

        # Back on the run without metrics: hidden again.
        await pilot.press("up")
        await until(pilot, lambda: not plot.display, "the plot to hide again")
        await pilot.pause()
        assert log.region.height == tall
