"""A run's output: streamed lines arrive in a buffer and are drawn in chunks, so a flood of
output never floods the UI; a finished run's stored output is shown whole."""

from __future__ import annotations

import time

from rich.text import Text
from textual.widgets import RichLog

from studylog.labels import DRAW_SECONDS
from studylog.safe_text import visible, visible_output

# Keep this many lines on screen (the run's stored output keeps the rest, head and tail).
MAX_LINES = 5_000
# Draw at most this many lines a tick: a flood is summarised, so the app stays responsive
# (nobody reads 10,000 lines a second; the run keeps them).
MAX_DRAW = 200


class RunLog(RichLog):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, max_lines=MAX_LINES, wrap=True, markup=False, highlight=False)
        self._pending: list[str] = []
        self._scheduled = False  # a draw is on its way
        self._last_draw = 0.0  # time.monotonic() of the last draw

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

    def show_text(self, stdout: str, stderr: str, title: str) -> None:
        self._pending = []
        self.clear()
        self.border_title = Text(visible(title))  # a str title would be read as markup
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
