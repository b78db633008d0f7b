"""Opening a note in the TUI: notes of about 5, 35 and 100 KB (Korean prose, code, tables,
lists, nested <details>), each timed from the open request to the first screen painted and
to the whole note rendered and painted (headless, 150×45; the request is the tree's
Chosen message, as Enter on a note sends it), beside Rich's own Markdown
rendering the same text to a console of the note view's width, in the same run.

Goals: first screen ≤ 100 ms at every size; whole note ≤ 2× Rich's render. The figures
are medians of opens after a first one (its imports paid), each beside one Rich render, in
turn; the first open of the process is reported on its own line.

    python benchmarks/bench_note_open.py [--sizes 5,35,100] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import io
import statistics
import tempfile
import time
from pathlib import Path

from _common import report
from rich.console import Console
from rich.markdown import Markdown

from studylog.paths import Workspace
from studylog.settings import RunSettings, Settings
from studylog.tui.app import StudylogApp
from studylog.tui.screens.main import MainScreen
from studylog.tui.widgets.note_tree import NoteTree
from studylog.tui.widgets.note_view import _RENDERED, NoteView

SIZE = (150, 45)

PROSE = (
    "역전파는 연쇄 법칙을 이용해 손실의 기울기를 각 층으로 전달한다. "
    "학습률이 너무 크면 손실이 발산하고, 너무 작으면 수렴이 느려진다. "
    "Adam은 1차·2차 모멘트를 추정해 매개변수마다 학습률을 조정한다.\n"
)
CODE = """```python
import torch
from torch import nn

model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
for step, (x, y) in enumerate(loader):
    loss = nn.functional.cross_entropy(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
```
"""
TABLE = """| 옵티마이저 | 학습률 | 정확도 |
| --- | ---: | ---: |
| SGD | 0.1 | 91.2% |
| 모멘텀 SGD | 0.05 | 93.8% |
| Adam | 0.001 | 94.5% |
"""
LIST = """- [ ] 소프트맥스 미분 유도
- [x] 시그모이드 미분 유도
- 배치 정규화: $\\mu_B = \\frac{1}{m}\\sum_i x_i$
  - 평균과 분산을 미니배치에서 계산
"""


def section(number: int) -> str:
    body = f"## {number}. 강의 노트\n\n{PROSE * 3}\n{CODE}\n{TABLE}\n{LIST}\n"
    inner = f'<details>\n<summary>풀이 {number}</summary>\n<div markdown="1">\n\n{PROSE}\n{CODE}\n</div>\n</details>\n'
    outer = (
        f"<details{' open' if number % 2 else ''}>\n<summary>심화 {number}</summary>\n"
        f'<div markdown="1">\n\n{PROSE * 2}\n{inner}\n</div>\n</details>\n'
    )
    return body + "\n" + outer + "\n"


def note_text(kilobytes: int) -> str:
    text = "---\ntitle: 벤치마크 노트\ndate: 2022-01-25\ntopic: Pytorch\n---\n# 벤치마크 노트\n\n"
    number = 1
    while len(text.encode()) < kilobytes * 1024:
        text += section(number)
        number += 1
    return text


def rich_render(text: str, width: int) -> tuple[float, float]:
    """Rich's own render of `text` at `width`: (wall, CPU) seconds."""
    console = Console(file=io.StringIO(), width=width, color_system="truecolor")
    start, cpu = time.perf_counter(), time.thread_time()
    console.print(Markdown(text))
    return time.perf_counter() - start, time.thread_time() - cpu


async def open_times(root: Path, path: str) -> tuple[float, float, int, float, float]:
    """(first screen, whole note, note view width, first screen's and whole note's CPU
    time in the app's thread) for one open, headless. The CPU times tell figures apart on a
    loaded machine, where the wall times also hold other processes' turns."""
    workspace = Workspace(root)
    workspace.ui_state_file.unlink(missing_ok=True)  # no note reopened from the last session
    app = StudylogApp(workspace, Settings(run=RunSettings(timeout=60)))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, MainScreen)
        while not screen.notes:
            await pilot.pause(0.02)
        view = screen.query_one(NoteView)
        await pilot.pause()
        _RENDERED.clear()  # a cold open: no render kept from the run before
        start = time.perf_counter()
        cpu = time.thread_time()
        # The open request as the user makes it (Enter on the tree posts Chosen): what the
        # screen does for a choice (focus, sidebar, tree) is counted, not only the read
        # and the view.
        screen.query_one(NoteTree).post_message(NoteTree.Chosen(path))
        # `first_painted` is unset until the view's first show() has painted (no note was
        # reopened from a last session): a wait that does not spin. A loop of sleep(0)
        # here held the GIL against the store's read in its thread and was counted in the
        # app thread's CPU time: its cost, not the view's.
        await view.first_painted.wait()
        assert view.detail is not None and view.detail.summary.path == path
        first = time.perf_counter() - start
        first_cpu = time.thread_time() - cpu
        if view.ready.is_set():
            # The view sets `ready` with `first_painted` only when the whole note was
            # rendered before that first paint (this waiter runs before any later slice):
            # the whole note is on that paint.
            whole, whole_cpu = first, first_cpu
        else:
            await view.ready.wait()
            await view._painted()
            whole = time.perf_counter() - start
            whole_cpu = time.thread_time() - cpu
        width = view.scrollable_content_region.width
    return first, whole, width, first_cpu, whole_cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="5,35,100")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "notes").mkdir()
        for kb in (int(s) for s in args.sizes.split(",")):
            path = f"bench-{kb}kb.md"
            text = note_text(kb)
            (root / "notes" / path).write_text(text, encoding="utf-8")
            body = text.split("---\n", 2)[2]
            # A first open, not counted: the view's width for Rich, and the imports and
            # caches of a process that has opened a note before (as Rich's first render
            # below pays its own).
            cold = asyncio.run(open_times(root, path))
            width = cold[2]
            cold_rich = rich_render(body, width)
            runs, rich = [], []
            # Each open beside a render by Rich, in turn, each after a full collection: the
            # same process state for both (garbage left by the apps before made Rich's
            # renders in a row vary from 16 to 27 ms).
            for _ in range(args.repeat):
                gc.collect()
                runs.append(asyncio.run(open_times(root, path)))
                gc.collect()
                rich.append(rich_render(body, width))
            first = statistics.median(r[0] for r in runs)
            whole = statistics.median(r[1] for r in runs)
            first_cpu = statistics.median(r[3] for r in runs)
            whole_cpu = statistics.median(r[4] for r in runs)
            baseline = statistics.median(r[0] for r in rich)
            baseline_cpu = statistics.median(r[1] for r in rich)
            size = f"{len(text.encode()) / 1024:.0f} KB"
            report(
                f"open {size}: first screen",
                f"{first * 1000:.0f} ms",
                "goal 100 ms",
                "ok" if first <= 0.1 else "SLOW",
            )
            report(
                f"open {size}: whole note",
                f"{whole * 1000:.0f} ms",
                f"Rich {baseline * 1000:.0f} ms",
                f"{whole / baseline:.2f}× ({'ok' if whole <= 2 * baseline else 'SLOW'}, goal 2×)",
            )
            report(
                f"open {size}: first in the process",
                f"{cold[0] * 1000:.0f} / {cold[1] * 1000:.0f} ms",
                f"Rich {cold_rich[0] * 1000:.0f} ms",
                "first screen / whole note, imports included (Rich's first render beside it)",
            )
            report(
                f"open {size}: CPU first / whole",
                f"{first_cpu * 1000:.0f} / {whole_cpu * 1000:.0f} ms",
                f"Rich {baseline_cpu * 1000:.0f} ms",
                f"{whole_cpu / baseline_cpu:.2f}× (CPU time of the app's thread)",
            )


if __name__ == "__main__":
    main()
