"""Which of the study group's runs a comparison overlays: every run of the compared snippets
that others sent to the MLflow server, each with its member, start, status and whether it ran
your code. Space toggles a run, Enter overlays the chosen ones, Escape changes nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, SelectionList, Static
from textual.widgets.selection_list import Selection

from studylog.safe_text import visible

if TYPE_CHECKING:
    from studylog.sync.remote import RemoteRun


class RunChoices(SelectionList[str]):
    """The runs offered, each a toggle; Enter confirms the choice instead of toggling."""

    BINDINGS = [
        Binding("space", "select", "Toggle"),
        Binding("enter", "screen.choose", "Overlay the chosen runs"),
    ]


def run_line(run: RemoteRun, with_snippet: bool) -> Text:
    """One run as a line of the list: member, (snippet,) started, status, code."""
    started = run.started.replace("T", " ")[:16] or "?"
    code = {True: "same code", False: "code differs", None: ""}[run.same_code]
    line = Text(no_wrap=True, overflow="ellipsis")
    line.append(f"{visible(run.user or '?'):<14.14} ", style="bold")
    if with_snippet:
        line.append(f"{visible(run.snippet):<14.14} ")
    line.append(f"{started:<17}")
    line.append(f"{visible(run.status):<11.11}")
    line.append(code, style="yellow" if run.same_code is False else "dim")
    return line


class TeammatesDialog(ModalScreen[list[str] | None]):
    """Dismissed with the MLflow run ids chosen (in the list's order), None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, runs: list[RemoteRun], chosen: set[str], server: str) -> None:
        super().__init__()
        self.runs = runs
        self.chosen = chosen
        self.server = server

    def compose(self) -> ComposeResult:
        with_snippet = len({(r.note, r.snippet) for r in self.runs}) > 1
        with Vertical(id="teammates"):
            yield Static(
                Text(visible(f"Teammates' runs on {self.server}: space toggles, enter overlays")),
                id="teammates-title",
            )
            yield RunChoices(
                *(
                    Selection(
                        run_line(r, with_snippet), r.mlflow_run_id, r.mlflow_run_id in self.chosen
                    )
                    for r in self.runs
                ),
                id="teammates-runs",
            )
        yield Footer()

    def on_mount(self) -> None:
        choices = self.query_one(RunChoices)
        choices.focus()
        choices.highlighted = 0

    def action_choose(self) -> None:
        selected = set(self.query_one(RunChoices).selected)
        self.dismiss([r.mlflow_run_id for r in self.runs if r.mlflow_run_id in selected])

    def action_cancel(self) -> None:
        self.dismiss(None)
