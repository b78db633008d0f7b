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
| `Tab` `Shift+Tab` | next / previous panel: notes, note, snippets, runs, output, curves |
| `s` / `u` | to the snippets / to the runs |
| `b` | hide or show the notes (hidden by itself when narrow) |
| `m` | maximize the focused panel; again or `Esc` restores |
| `/` | search (Korean too); `↓` to the hits, `Enter` opens at the match |
| `t` | group the notes by topic or by date |
| `g` | the outline: jump to a section (closed ones open) |
| `r` / `R` | run the highlighted snippet / all; while a run goes, queue them |
| `c` | cancel the running one (the queue goes on) |
| `x` / `X` | take the highlighted snippet out of the queue / clear the queue |
| `Enter` (note) | open / close the section at the top (`space`, or click its title) |
| `Enter` (runs) | a past run's output and curves |
| `space` (runs) | mark a run; `v` compares the marked runs |
| `o` | edit in `$VISUAL` / `$EDITOR`; the view follows the file |
| `e` | export the note (Markdown, HTML, notebook) |
| `e` (compare) | save the compared curves as one PNG |
| `+` `-` (curves) | zoom in / out around the middle; `[` `]` earlier / later; `0` all |
| `n` | today's note, from a template, in `$EDITOR` |
| `T` | the to-dos of every note; `space` ticks one in its file |
| `L` | review the due cards: `space` answer, `1`-`4` again/hard/good/easy, `r` runs its snippet |
| `C` | the calendar: notes and runs per day, streak, topics |
| `Ctrl+P` | the command palette: every action by name |
| `?` | this help |
| `q` | quit |

Statuses: `✔ succeeded`, `✘ failed`, `⏱ timed out`, `■ cancelled`, `✘ out of memory`,
`✘ crashed`, `✘ interrupted`, `… running`, `≠ stale` (the code changed since the last run),
`· never run`.

In the notes: `▶` / `▼` a folded / open group, `◆2` a note with two snippets,
`?3` three review cards due (a group: its notes' together), `⚠` a note with warnings.

Notes changed on disk show up by themselves, the open one in place. Every run is
kept: `studylog runs` lists them from the command line too.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Markdown(HELP)
