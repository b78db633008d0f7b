"""A workspace for the TUI tests, and ways to wait for the app without sleeping blindly."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from textual.screen import Screen

from studylog.paths import Workspace
from studylog.settings import RunSettings, Settings

if TYPE_CHECKING:
    from textual.app import App
    from textual.notifications import Notification
    from textual.pilot import Pilot

    from studylog.tui.app import StudylogApp
    from studylog.tui.screens.main import MainScreen
    from studylog.tui.widgets.note_view import Fold, NoteView

T = TypeVar("T")
S = TypeVar("S", bound=Screen[Any])

DETAILS_NOTE = """---
title: Backpropagation by hand
date: 2022-01-20
topic: Deep Learning Basics
lecture: 4
tags: [backprop]
---
# 역전파

Intro before any section.

<details open>
<summary>Chain rule</summary>
<div markdown="1">

## 연쇄 법칙

The derivative of a composition.

<details>
<summary>Inner proof</summary>
<div markdown="1">

Proof text that starts hidden.

</div>
</details>

</div>
</details>

- [ ] derive softmax
- [x] derive sigmoid
"""

TRAINING = "pytorch/2022-01-21-training.md"  # RUN_NOTE's place in make_workspace

RUN_NOTE = """---
title: Training loop
date: 2022-01-21
topic: Pytorch
lecture: 5
---
# Training loop

```python run name=train
from studylog import track
for step in range(20):
    track.log(step=step, loss=1.0 / (step + 1))
print("trained 20 steps")
```

```python run name=broken
raise ValueError("shapes do not match")
```
"""

OPTIM_NOTE = """---
title: Two optimizers
date: 2022-01-22
topic: Pytorch
---
# Two optimizers

```python run name=sgd
from studylog import track
for step in range(10):
    track.log(step=step, loss=1.0 / (step + 1))
```

```python run name=adam
from studylog import track
for step in range(10):
    track.log(step=step, loss=0.5 / (step + 1))
```
"""

SLOW_NOTE = """---
title: Slow snippet
date: 2022-02-01
topic: Pytorch
---
# Slow

```python run name=slow
import time
from studylog import track
print("started", flush=True)
for step in range(5):
    track.log(step=step, loss=5.0 - step)
track.flush()
time.sleep(60)
```
"""


def make_workspace(root: Path, extra: Mapping[str, str | bytes] | None = None) -> Workspace:
    notes = {
        "dl/2022-01-20-backprop.md": DETAILS_NOTE,
        TRAINING: RUN_NOTE,
        "pytorch/2022-02-01-slow.md": SLOW_NOTE,
        "pytorch/2022-01-22-optim.md": OPTIM_NOTE,
        "broken.md": b"\x00\x01\x02 binary",
        **(extra or {}),
    }
    (root / "experiments").mkdir(parents=True, exist_ok=True)
    for path, text in notes.items():
        target = root / "notes" / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            target.write_bytes(text)
        else:
            target.write_text(text, encoding="utf-8")
    return Workspace(root)


def settings() -> Settings:
    return Settings(run=RunSettings(timeout=60, memory_limit_mb=2048))


def notifications(app: App[Any], severity: str | None = None) -> list[Notification]:
    """The app's notifications so far (of one severity if given): what a person saw."""
    return [n for n in app._notifications if severity is None or n.severity == severity]


def studylog_app(pilot: Pilot[Any]) -> StudylogApp:
    """The app a Pilot drives, as the StudylogApp it is (Pilot types it as a bare App)."""
    from studylog.tui.app import StudylogApp

    assert isinstance(pilot.app, StudylogApp)
    return pilot.app


def main_screen(pilot: Pilot[Any]) -> MainScreen:
    """The screen on top, which must be the main screen (notes, note view, runs)."""
    from studylog.tui.screens.main import MainScreen

    screen = pilot.app.screen
    assert isinstance(screen, MainScreen), f"the screen on top is {screen!r}"
    return screen


async def until(
    pilot: Pilot[Any], condition: Callable[[], T | None], what: str, seconds: float = 30.0
) -> T:
    """Let the app work until `condition()` holds (workers, timers, child processes)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        value = condition()
        if value:
            return value
        await pilot.pause(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def until_screen(pilot: Pilot[Any], kind: type[S], what: str, seconds: float = 30.0) -> S:
    """Let the app work until a screen of `kind` is on top, and return it."""
    await until(pilot, lambda: isinstance(pilot.app.screen, kind), what, seconds)
    screen = pilot.app.screen
    assert isinstance(screen, kind)
    return screen


async def notes_loaded(pilot: Pilot[Any]) -> MainScreen:
    """The main screen, once its notes are loaded."""
    screen = main_screen(pilot)
    await until(pilot, lambda: screen.notes, "the notes to load")
    return screen


async def open_note(pilot: Pilot[Any], path: str) -> tuple[MainScreen, NoteView]:
    """Open `path` on the main screen once the notes are loaded, and wait until its note
    view has all of it (every piece rendered)."""
    from studylog.tui.widgets.note_view import NoteView

    screen = await notes_loaded(pilot)
    screen.open_note(path)
    view = screen.query_one(NoteView)
    await until(
        pilot,
        lambda: (
            view.detail is not None and view.detail.summary.path == path and view.ready.is_set()
        ),
        f"{path} to open",
    )
    return screen, view


async def open_snippets(pilot: Pilot[Any], path: str, snippet: str) -> MainScreen:
    """Open `path` as `open_note` does, and wait until the run area shows its snippets with
    `snippet` chosen (the note's first: the one an opened note chooses)."""
    screen, _ = await open_note(pilot, path)
    await until(
        pilot,
        lambda: (
            screen.run_area is not None and screen.run_area.display and screen.snippet == snippet
        ),
        f"{path}'s snippets, {snippet} chosen",
    )
    return screen


def fold(view: NoteView, title: str) -> Fold:
    """The `<details>` section of the shown note titled `title`."""
    return next(f for f in view.sections() if f.title == title)
