"""Run history: `runs` (of every note, or of one) and `runs show` (one run in full). Running
snippets, `run`: cli/run.py."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from studylog.cli import cli
from studylog.cli.common import (
    Session,
    console,
    fail,
    json_option,
    listing_console,
    note_detail,
    piped,
    print_json,
    session,
    workspace_option,
    ws_of,
)

F = TypeVar("F", bound=Callable[..., Any])


def _history_options(func: F) -> F:
    func = click.option(
        "--snippet", "snippet_name", metavar="NAME", help="Only this snippet's runs."
    )(func)
    func = click.option("--limit", default=50, show_default=True, help="How many runs to show.")(
        func
    )
    func = click.option(
        "--remote", is_flag=True, help="The group's runs on the MLflow server (see `sync`)."
    )(func)
    return json_option(workspace_option(func))


class _RunsGroup(click.Group):
    """`runs [NOTE]` lists runs, `runs show RUN` shows one: a word that is not a subcommand
    is the NOTE of a listing."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, cmd_name) or _note_history(cmd_name)

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_usage(ctx.command_path, "[NOTE] [OPTIONS] | show RUN [OPTIONS]")


@cli.group(cls=_RunsGroup, invoke_without_command=True)
@_history_options
@click.pass_context
def runs(
    ctx: click.Context,
    snippet_name: str | None,
    limit: int,
    remote: bool,
    as_json: bool,
    workspace: Path | None,
) -> None:
    """Run history, newest first: of every note, or of NOTE (and one snippet).

    `studylog runs show RUN` shows one run in full.

    Example: studylog runs optimization --snippet adam
    """
    ctx.obj = ws_of(ctx, workspace)
    if ctx.invoked_subcommand is None:
        _history(ctx.obj, None, snippet_name, limit, as_json, remote)


def _note_history(note: str) -> click.Command:
    @click.command(name=note, hidden=True)
    @_history_options
    @click.pass_context
    def history(
        ctx: click.Context,
        snippet_name: str | None,
        limit: int,
        remote: bool,
        as_json: bool,
        workspace: Path | None,
    ) -> None:
        # `runs --remote NOTE`: the flag went to the group, before the note
        remote = remote or bool(ctx.parent and ctx.parent.params.get("remote"))
        _history(ws_of(ctx, workspace), note, snippet_name, limit, as_json, remote)

    return history


def _history(
    workspace: Path | None,
    note: str | None,
    snippet_name: str | None,
    limit: int,
    as_json: bool,
    remote: bool = False,
) -> None:
    if remote:  # the group's runs from MLflow, never mixed into this history
        from studylog.cli.sync import remote_history

        return remote_history(workspace, note, snippet_name, limit, as_json)
    from studylog.runner.snippets import snippet_states
    from studylog.store.history import list_runs

    with session(workspace) as s:
        note_id, stale = None, {}
        if note is not None:
            detail = note_detail(s, note)
            note_id = detail.summary.id
            stale = {
                st.latest.id: st.stale
                for st in snippet_states(s.db, s.workspace, detail)
                if st.latest is not None
            }
        found = list_runs(s.db, note_id=note_id, snippet=snippet_name, limit=limit)
    if as_json:
        print_json([r.to_json() for r in found])
        return
    from studylog.cli.run_views import runs_table

    if not found:
        console().print("No runs yet. Start one with `studylog run NOTE`.")
        return
    out = listing_console()
    out.print(runs_table(found, stale, whole=piped(out)))


@runs.command("show")
@click.argument("which", metavar="RUN")
@click.option(
    "--metric",
    "metrics",
    metavar="NAME",
    multiple=True,
    help="Plot this metric (repeat for more); default: the first 8, the rest listed.",
)
@click.option(
    "--raw",
    is_flag=True,
    help="Write only the stored output, byte for byte, escape sequences and all "
    "(stdout to stdout, stderr to stderr).",
)
@json_option
@workspace_option
@click.pass_context
def runs_show(
    ctx: click.Context,
    which: str,
    metrics: tuple[str, ...],
    raw: bool,
    as_json: bool,
    workspace: Path | None,
) -> None:
    """One run in full: status, output, parameters, environment, and a plot of each metric.

    RUN is a run id (`12` or `#12`), `latest` (the newest run) or `succeeded` (the newest
    run that succeeded). Control characters in the output and names are shown, not obeyed;
    --raw writes the output as the snippet wrote it.

    Example: studylog runs show 12 --metric loss --metric accuracy; studylog runs show latest
    """
    from studylog.cli.run_views import metrics_to_plot
    from studylog.store.history import RunNotFound, get_run, series

    with session(ws_of(ctx, workspace)) as s:
        run_id = _run_id(s, which)
        try:
            detail = get_run(s.db, run_id)
        except RunNotFound as exc:
            raise fail(str(exc)) from exc
        known = {m.name for m in detail.metrics}
        unknown = [name for name in metrics if name not in known]
        if unknown:
            names = ", ".join(m.name for m in detail.metrics[:10])
            more = f" and {len(known) - 10:,} more" if len(known) > 10 else ""
            raise fail(
                f"run {run_id} has no metric {unknown[0]!r}; "
                + (f"its metrics: {names}{more}" if known else "it logged no metrics")
            )
        out = console()
        width = out.width
        plots: dict[str, Sequence[tuple[int, float]]] = {}
        if not (as_json or raw):
            plots = {
                m.name: series(s.db, run_id, m.name, max_points=width)
                for m in metrics_to_plot(detail.metrics, metrics)
            }
    if as_json:
        print_json(detail.to_json())
        return
    if raw:
        _write_raw(detail.stdout, sys.stdout)
        _write_raw(detail.stderr, sys.stderr)
        return
    from studylog.cli.run_views import run_detail

    out.print(run_detail(detail, plots, width, picked=bool(metrics), label=s.workspace.label))


def _run_id(s: Session, which: str) -> int:
    """`runs show RUN`: a run id, `latest` or `succeeded` (as export's --run reads them)."""
    from studylog.store.history import list_runs

    if which in ("latest", "succeeded"):
        status = "succeeded" if which == "succeeded" else None
        found = list_runs(s.db, limit=1, status=status)
        if not found:
            if status is None:
                raise fail("no runs yet, so no latest one: start one with `studylog run NOTE`")
            raise fail("no run has succeeded yet (`studylog runs` lists them all)")
        return found[0].id
    wanted = which.removeprefix("#")
    if not wanted.isdigit():
        raise fail(
            f"RUN is a run id, latest or succeeded, not {which!r} (`studylog runs` lists them)"
        )
    return int(wanted)


def _write_raw(text: str, stream: Any) -> None:
    """The stored output as its bytes (UTF-8; bytes that were not UTF-8 were stored as
    U+FFFD)."""
    stream.flush()
    stream.buffer.write(text.encode("utf-8", errors="replace"))
    stream.buffer.flush()
