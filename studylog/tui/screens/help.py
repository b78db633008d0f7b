"""The help screen (?): what each key does, and where things are."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP = """\
# studylog

Your notes on the left, the open note on the right, and under it its snippets,
their runs, the output and the loss curves.

| key | does |
| --- | --- |
| `↑` `↓` `Enter` | move in a list or tree, open |
| `Tab` / `Shift+Tab` | next / previous panel |
| `/` | search the notes (Korean too); `↓` to the results, `Enter` opens |
| `t` | group the notes by topic or by date (remembered) |
| `g` | the note's outline: jump to a section |
| `r` | run the highlighted snippet |
| `R` | run all snippets of the note, in order |
| `c` | cancel the run |
| `Enter` (runs) | show a past run's output and curves |
| `space` (runs) | mark a run for comparison |
| `v` | compare the marked runs: curves overlaid |
| `o` | edit the note in `$EDITOR`; it is re-indexed when you return |
| `e` | export the note (Markdown, HTML or notebook) with its latest outputs |
| `e` (compare) | save the compared curves as one PNG |
| `Ctrl+P` | the command palette: every action by name |
| `?` | this help |
| `q` | quit |

Statuses: `✔ succeeded`, `✘ failed`, `⏱ timed out`, `■ cancelled`, `✘ out of memory`,
`✘ crashed`, `✘ interrupted`, `… running`, `≠ stale` (the code changed since the last run),
`· never run`.

Notes changed on disk show up by themselves. Every run is kept: `studylog runs` lists
them from the command line too.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Markdown(HELP)
