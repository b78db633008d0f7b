"""Run by bench_tui.py in a fresh process: start an app headless and print the wall-clock
time (time.time()) at which its first screen has painted, or at which the notes are in the
tree; then exit. The parent subtracts the time it started the process.

    python benchmarks/_first_paint.py floor|studylog|studylog-notes [WORKSPACE]
"""

from __future__ import annotations

import sys
import time


def floor() -> None:
    from textual.app import App, ComposeResult
    from textual.widgets import Label

    class Floor(App[None]):
        def compose(self) -> ComposeResult:
            yield Label("hello")

        def on_mount(self) -> None:
            self.call_after_refresh(self.painted)

        def painted(self) -> None:
            print(time.time(), flush=True)
            self.exit()

    app = Floor()
    app.run(headless=True)
    sys.exit(app.return_code or 0)


def studylog(root: str, wait_for_notes: bool) -> None:
    from studylog.paths import find_workspace
    from studylog.settings import load_settings
    from studylog.tui.app import StudylogApp
    from studylog.tui.widgets.note_tree import NoteTree

    workspace = find_workspace(root)

    class Timed(StudylogApp):
        def on_mount(self) -> None:
            if not wait_for_notes:
                self.call_after_refresh(self.painted)
                return

            def check() -> None:
                trees = self.screen.query(NoteTree)
                if trees and trees.first().root.children:
                    self.call_after_refresh(self.painted)

            self.set_interval(0.01, check)

        def painted(self) -> None:
            print(time.time(), flush=True)
            self.exit()

    app = Timed(workspace, load_settings(workspace.settings_file))
    app.run(headless=True)
    sys.exit(app.return_code or 0)


if __name__ == "__main__":
    if sys.argv[1] == "floor":
        floor()
    else:
        studylog(sys.argv[2], wait_for_notes=sys.argv[1] == "studylog-notes")
