"""`studylog run`: run a note's snippets, streaming their output live (and to the blog when
`sync` is set up). The history, `runs` and `runs show`: cli/runs.py."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from studylog.cli import cli
from studylog.cli.common import (
    PositiveSeconds,
    Session,
    console,
    fail,
    json_option,
    note_detail,
    print_json,
    session,
    workspace_option,
    ws_of,
)
from studylog.labels import DRAW_SECONDS

if TYPE_CHECKING:
    from rich.console import Console

    from studylog.notes.model import Snippet
    from studylog.runner.events import RunFinished
    from studylog.runner.session import SessionEvent
    from studylog.store.queries import NoteDetail
    from studylog.sync.live import LiveSync

# After Ctrl-C or SIGTERM a run has this long to end by itself (its processes killed, its
# record written) before studylog stops waiting on it; a second signal stops at once. Either
# way the run is recorded as cancelled.
CANCEL_GRACE_SECONDS = 1.5


def _chosen(detail: NoteDetail, name: str | None, run_all: bool, where: str) -> list[Snippet]:
    snippets = detail.snippets
    names = ", ".join(s.name for s in snippets)
    if not snippets:
        raise fail(
            f"{where} has no snippets. Attach one with a ```python run fence, a link to a "
            "file under experiments/, or a `snippets:` list in its front matter."
        )
    if name is not None:
        found = [s for s in snippets if s.name == name]
        if not found:
            raise fail(f"{where} has no snippet {name!r}; its snippets: {names}")
        return found
    if run_all or len(snippets) == 1:
        return snippets
    raise fail(
        f"{where} has {len(snippets)} snippets ({names}); "
        "choose one with --snippet NAME or run them all with --all"
    )


class _Printer:
    """Streams a run's output and keeps a status line under it (on a terminal)."""

    def __init__(self, out: Console, live: bool, label: Callable[[str], str]) -> None:
        self.out = out
        self.label = label
        self.live = live
        self.pending: list[str] = []
        self.latest: dict[str, tuple[int, float]] = {}
        self.points = 0
        self.snippet = ""
        self.t0 = time.monotonic()

    def on_event(self, event: SessionEvent) -> None:
        from studylog.runner.events import MetricPoints, OutputLine, RunStarted

        if isinstance(event, OutputLine):
            self.pending.append(event.line)
        elif isinstance(event, MetricPoints):
            self.latest.update(event.latest())
            self.points += event.count
        elif isinstance(event, RunStarted):
            self.snippet, self.t0 = event.snippet, time.monotonic()
            self.latest, self.points = {}, 0
            from studylog.cli.views import safe

            line = safe(f"▶ {event.snippet}", "bold")
            line.append_text(safe(f" {self.label(event.note_path)} · run #{event.run_id}", "dim"))
            self.out.print(line)

    def draw(self) -> None:
        if not self.pending:
            return
        text, self.pending = "".join(self.pending), []
        # Never the snippet's bytes as they are: an escape sequence in them would command the
        # terminal (`runs show RUN --raw` gives them on request).
        if self.live:
            from studylog.cli.run_views import output_text

            self.out.print(output_text(text.rstrip("\n")), soft_wrap=True)
        else:
            from studylog.safe_text import visible_output

            self.out.file.write(visible_output(text, colours=False))
            self.out.file.flush()

    def status(self) -> object:
        from studylog.rich_labels import live_status

        return live_status(
            self.snippet, time.monotonic() - self.t0, self.latest, points=self.points
        )


async def _run_all(
    s: Session,
    detail: NoteDetail,
    snippets: list[Snippet],
    seed: int | None,
    timeout: float | None,
    printer: _Printer | None,
    live: LiveSync | None = None,
) -> list[RunFinished]:
    from studylog.runner.events import RunFinished
    from studylog.runner.session import RunSession

    runs = RunSession(s.workspace, s.settings.run)
    if len(snippets) > 1 and s.settings.run.warm:
        # A warm parent for the batch, ended with it: it holds this command's settings and
        # environment, so the next command starts its own.
        runs.start_warm(seed)
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    timers: list[asyncio.TimerHandle] = []

    def force() -> None:
        if main is not None and not main.done():
            main.cancel()  # Runner.run kills the run's processes and records it cancelled

    def stop() -> None:
        if runs.cancelling:
            force()
        elif runs.stop():  # the rest of the batch never starts
            timers.append(loop.call_later(CANCEL_GRACE_SECONDS, force))

    def on_event(event: SessionEvent) -> None:
        if live is not None:
            live.on_event(event)
        if printer is None:
            return
        printer.on_event(event)
        if isinstance(event, RunFinished) and not (main is not None and main.cancelling()):
            printer.draw()
            _print_summary(s, printer.out, event)

    # Ctrl-C reaches studylog only (the snippet has its own session): cancel, and record it.
    loop.add_signal_handler(signal.SIGINT, stop)
    loop.add_signal_handler(signal.SIGTERM, stop)
    live_display = None
    if printer is not None and printer.live:
        from rich.live import Live

        live_display = Live(
            get_renderable=printer.status,  # type: ignore[arg-type]
            console=printer.out,
            transient=True,
            refresh_per_second=8,
        )
        live_display.start()
    drawer = asyncio.ensure_future(_draw(printer)) if printer is not None else None
    try:
        await runs.run(
            detail, snippets, on_event=on_event, seed=seed, timeout=timeout, keep_going=False
        )
    except asyncio.CancelledError:
        if not timers:  # not stopped by a signal
            raise
        # Stopped by a signal: the run in progress is recorded, and not in `finished`.
    finally:
        for timer in timers:
            timer.cancel()
        if drawer is not None:
            drawer.cancel()
        if live_display is not None:
            live_display.stop()
        loop.remove_signal_handler(signal.SIGINT)
        loop.remove_signal_handler(signal.SIGTERM)
        await asyncio.to_thread(runs.close)
    return runs.finished


async def _draw(printer: _Printer | None) -> None:
    assert printer is not None
    while True:
        await asyncio.sleep(DRAW_SECONDS)
        printer.draw()


def _print_summary(s: Session, out: Console, finished: RunFinished) -> None:
    from studylog.cli.run_views import PLOTTED_METRICS, run_summary
    from studylog.store.history import get_run, series

    run = get_run(s.db, finished.run_id)
    curves = {  # only those the summary draws: a run may have thousands
        m.name: [v for _, v in series(s.db, run.summary.id, m.name, max_points=32)]
        for m in run.metrics[:PLOTTED_METRICS]
    }
    out.print(run_summary(finished.status, run, curves, s.workspace.label))


@cli.command()
@click.argument("note")
@click.option("--snippet", "snippet_name", metavar="NAME", help="Run this snippet of the note.")
@click.option("--all", "run_all", is_flag=True, help="Run every snippet of the note, in order.")
@click.option(
    "--timeout",
    type=PositiveSeconds(),
    metavar="S",
    help="Seconds a snippet may run (default: its timeout=, else studylog.toml's).",
)
@click.option("--seed", type=int, metavar="N", help="Seed for random, NumPy and torch (default 0).")
@click.option(
    "--sync",
    "live_sync",
    is_flag=True,
    help="Send the run to the MLflow server while it goes ([sync] mlflow_uri in "
    "studylog.toml, else $MLFLOW_TRACKING_URI); a server that is away only delays it.",
)
@json_option
@workspace_option
@click.pass_context
def run(
    ctx: click.Context,
    note: str,
    snippet_name: str | None,
    run_all: bool,
    timeout: float | None,
    seed: int | None,
    live_sync: bool,
    as_json: bool,
    workspace: Path | None,
) -> None:
    """Run a note's snippets, streaming their output; every run is kept.

    Exits non-zero when a run does not succeed or some of its metrics or params could not be
    stored. Ctrl-C cancels the run (and records it).

    With --sync the run goes to the MLflow server as it runs (params and points as they
    land); a server that is away is a warning, and what it missed is sent when it is back
    or by a later `studylog sync`.

    Example: studylog run optimization --snippet adam --seed 1
    """
    from studylog.runner.snippets import RunError

    with session(ws_of(ctx, workspace), writes=True) as s:
        detail = note_detail(s, note)
        snippets = _chosen(detail, snippet_name, run_all, s.workspace.label(detail.summary.path))
        printer = None if as_json else _Printer(console(), sys.stdout.isatty(), s.workspace.label)
        live = _live_sync(s) if live_sync else None
        try:
            finished = asyncio.run(_run_all(s, detail, snippets, seed, timeout, printer, live))
        except RunError as exc:
            raise fail(str(exc)) from exc
        finally:
            behind = _finish_live(live)
        if as_json:
            from studylog.store.history import get_run

            print_json(
                [
                    {
                        **get_run(s.db, f.run_id).summary.to_json(),
                        "warnings": f.warnings,
                        "lost": f.lost,
                        **({} if live is None else {"synced": f.run_id not in behind}),
                    }
                    for f in finished
                ]
            )
    if any(f.status != "succeeded" or f.lost for f in finished) or len(finished) < len(snippets):
        sys.exit(1)


def _live_sync(s: Session) -> LiveSync:
    """The companion that sends the runs to the MLflow server as they go."""
    from rich.text import Text

    from studylog.sync.client import SyncError, resolve_target
    from studylog.sync.live import LiveSync

    try:
        target = resolve_target(None, s.settings.sync, s.workspace, for_what="send the run to")
    except SyncError as exc:
        raise fail(str(exc)) from exc
    err = console(stderr=True)

    def warn(text: str) -> None:  # from the companion's thread
        err.print(Text(f"⚠ {text}", style="yellow"))

    live = LiveSync(s.workspace, target, on_warning=warn)
    live.start()
    return live


def _finish_live(live: LiveSync | None) -> set[int]:
    """Wait for the server to take the rest; the runs it does not have complete."""
    if live is None:
        return set()
    from rich.text import Text

    from studylog.sync.live import pending_message

    report = live.finish()
    err = console(stderr=True)
    for warning in live.report.warnings:
        err.print(Text(f"⚠ {warning}", style="yellow"))
    message = pending_message(report)
    if message is not None:
        err.print(Text(f"⚠ {message}", style="yellow"))
    elif report.complete:
        err.print(Text(f"✓ synced to {report.server}", style="green"))
    return set(report.behind)
