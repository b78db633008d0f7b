"""A run's output: streamed lines arrive in a buffer and are drawn in chunks, so a flood of
output never floods the UI; a finished run's stored output is shown whole."""

from __future__ import annotations

import time

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.widgets import RichLog

from studylog.labels import DRAW_SECONDS
from studylog.safe_text import visible, visible_output

# Keep this many lines on screen (the run's stored output keeps the rest, head and tail).
MAX_LINES = 5_000
# Draw at most this many lines a tick: a flood is summarised, so the app stays responsive
# (nobody reads 10,000 lines a second; the run keeps them).
MAX_DRAW = 200
# A border title fits in the panel's width less this (corners, the rule's ends, spaces):
# longer, the border cuts it with "…".
TITLE_MARGIN = 6


class RunLog(RichLog):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, max_lines=MAX_LINES, wrap=True, markup=False, highlight=False)
        self._pending: list[str] = []
        self._scheduled = False  # a draw is on its way
        self._last_draw = 0.0  # time.monotonic() of the last draw
        self._title = ("", "")  # the title, and what follows it where there is room

    def set_title(self, title: str, more: str = "") -> None:
        """The panel's title; `more` (a run's cost) follows it, after " · ", only when the
        whole fits the panel's width, so the title is cut only when it alone does not fit."""
        self._title = (title, more)
        self._fit_title()

    def _fit_title(self) -> None:
        title, more = (visible(part) for part in self._title)
        room = self.size.width - TITLE_MARGIN
        if more and (room <= 0 or cell_len(f"{title} · {more}") <= room):
            title = f"{title} · {more}"  # room <= 0: not laid out yet, fitted on resize
        self.border_title = Text(title)  # a str title would be read as markup

    def on_resize(self, event: events.Resize) -> None:
        # RichLog's own handler (its deferred writes) runs too: handlers run up the classes.
        if self._title[1]:
            self._fit_title()

    def add_line(self, line: str) -> None:
        """A line of the running run: drawn at once when no draw was made in the last
        DRAW_SECONDS (the first line of a run shows without waiting for a tick), else with
        the next draw, so a flood costs at most one draw per DRAW_SECONDS."""
        self._pending.append(line)
        if self._scheduled:
            return
        self._scheduled = True
        wait = self._last_draw + DRAW_SECONDS - time.monotonic()
        if wait <= 0:
            self.call_next(self.draw)
        else:
            self.set_timer(wait, self.draw)

    def draw(self) -> None:
        self._scheduled = False
        if not self._pending:
            return
        self._last_draw = time.monotonic()
        pending, self._pending = self._pending, []
        if len(pending) > MAX_DRAW:
            skipped = len(pending) - MAX_DRAW
            self.write(Text(f"… {skipped} lines not drawn (kept in the run's output)", "dim"))
            pending = pending[-MAX_DRAW:]
        self.write(_output("".join(pending).rstrip("\n")))

    def start(self, title: str) -> None:
        """Empty, for a run that starts (its lines follow, `add_line`)."""
        self._pending = []
        self.clear()
        self.set_title(title)

    def show_text(self, stdout: str, stderr: str, title: str, more: str = "") -> None:
        self._pending = []
        self.clear()
        self.set_title(title, more)
        if stdout.strip():
            self.write(_output(stdout.rstrip("\n")))
        if stderr.strip():
            self.write(_output(stderr.rstrip("\n"), style="red"))
        if not stdout.strip() and not stderr.strip():
            self.write(Text("(no output)", style="dim"))


def _output(text: str, style: str = "") -> Text:
    """A run's output: its colours kept, every other control character shown, never obeyed
    (safe_text.visible_output)."""
    return Text.from_ansi(visible_output(text), style=style)
