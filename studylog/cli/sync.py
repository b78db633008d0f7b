"""Study-group commands: sync (send runs to an MLflow server) and the listing behind
`runs --remote` (the group's runs of a snippet)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from studylog.cli import cli
from studylog.cli.common import (
    Session,
    console,
    fail,
    json_option,
    listing_console,
    print_json,
    session,
    workspace_option,
    ws_of,
)
from studylog.labels import plural

if TYPE_CHECKING:
    from rich.table import Table

    from studylog.store.history import RunDetail
    from studylog.sync.remote import RemoteRun


@cli.command()
@click.option(
    "--to",
    "to",
    metavar="URI",
    help="The MLflow tracking server (default: [sync] mlflow_uri in studylog.toml, "
    "else $MLFLOW_TRACKING_URI).",
)
@json_option
@workspace_option
@click.pass_context
def sync(ctx: click.Context, to: str | None, as_json: bool, workspace: Path | None) -> None:
    """Send every finished run not yet sent to an MLflow tracking server, exactly once.

    One experiment per workspace ([sync] experiment in studylog.toml names it), one MLflow
    run per run, with its params, every metric point, tags and its output and code as
    artifacts. Stopped half way, the next sync picks up without duplicates. Credentials
    come from MLflow's own variables (MLFLOW_TRACKING_USERNAME, MLFLOW_TRACKING_PASSWORD,
    MLFLOW_TRACKING_TOKEN) and are never stored.

    Example: studylog sync --to http://127.0.0.1:5000
    """
    from rich.text import Text

    from studylog.sync.client import SyncError, resolve_target
    from studylog.sync.push import sync_runs

    out = console()

    def on_run(run: RunDetail, points: int) -> None:
        if not as_json:
            s = run.summary
            out.print(
                Text(f"✓ #{s.id} {s.snippet} ", style="green")
                + Text(f"{label(s.note_path)} · {points:,} {plural(points, 'point')}", style="dim")
            )

    with session(ws_of(ctx, workspace)) as s:
        label = s.workspace.label
        try:
            target = resolve_target(to, s.settings.sync, s.workspace)
            report = sync_runs(s.db, s.workspace, target, on_run)
        except SyncError as exc:
            raise fail(str(exc)) from exc
    err = console(stderr=True)
    for warning in report.warnings:
        err.print(Text(f"⚠ {warning}", style="yellow"))
    if as_json:
        print_json(report.to_json())
        return
    already = f"; {report.skipped} already there" if report.skipped else ""
    out.print(
        f"Sent {report.sent} run(s), {report.points:,} point(s) to {report.server} "
        f"(experiment {report.experiment!r}){already}."
    )


def _my_code(s: Session, note_path: str | None) -> dict[tuple[str, str], str]:
    """(note, snippet) → the hash of your code: your latest run's, and for NOTE its current
    code (what a teammate's run is compared with)."""
    mine = {
        (note, snippet): code_hash
        for note, snippet, code_hash in s.db.execute(
            """SELECT note_path, snippet, code_hash FROM runs WHERE id IN
                   (SELECT max(id) FROM runs GROUP BY note_path, snippet)"""
        )
    }
    if note_path is not None:
        from studylog.runner.snippets import RunError, snippet_code
        from studylog.store.queries import get_note, resolve_note
        from studylog.store.runs import code_hash

        for snippet in get_note(
            s.db, resolve_note(s.db, note_path, s.workspace), s.workspace
        ).snippets:
            try:
                mine[(note_path, snippet.name)] = code_hash(snippet_code(s.workspace, snippet))
            except RunError:
                continue  # its file is gone: compared with the latest run's code, if any
    return mine


def remote_history(
    workspace: Path | None, note: str | None, snippet_name: str | None, limit: int, as_json: bool
) -> None:
    """`studylog runs --remote`: the group's runs from the MLflow server, never stored here."""
    from studylog.cli.common import index_notes_now
    from studylog.store.queries import NoteNotFound, get_note, resolve_note
    from studylog.store.sync_state import workspace_uuid
    from studylog.sync.client import SyncError, resolve_target
    from studylog.sync.remote import remote_runs

    with session(workspace) as s:
        note_path = None
        if note is not None:
            index_notes_now(s)
            try:
                note_path = get_note(
                    s.db, resolve_note(s.db, note, s.workspace), s.workspace
                ).summary.path
            except NoteNotFound as exc:
                raise fail(str(exc)) from exc
        try:
            target = resolve_target(None, s.settings.sync, s.workspace, for_what="list runs from")
            found = remote_runs(
                target, workspace_uuid(s.db), _my_code(s, note_path), note_path, snippet_name, limit
            )
        except SyncError as exc:
            raise fail(str(exc)) from exc
    if as_json:
        print_json([r.to_json() for r in found])
        return
    if not found:
        what = s.workspace.label(note_path) if note_path else "any note"
        console().print(f"No runs of {what} on {target.server} yet. Send yours: `studylog sync`.")
        return
    listing_console().print(remote_table(found, target.server))


def remote_table(found: list[RemoteRun], server: str) -> Table:
    """The group's runs as a table. Every name in it comes from the server (a teammate's
    note, snippet, metric and user names): Text cells, never read as markup, their control
    characters shown."""
    from rich.table import Table
    from rich.text import Text

    from studylog.labels import duration_text
    from studylog.rich_labels import metrics_cell
    from studylog.safe_text import visible

    table = Table(title=Text(visible(f"Remote runs on {server} (read-only)")), title_justify="left")
    for column in ("run", "member", "note · snippet", "status", "started", "took", "final", "code"):
        table.add_column(column)
    for r in found:
        code = {None: Text(""), True: Text("same"), False: Text("differs", style="yellow")}
        member = f"{r.user} (you)" if r.mine else r.user
        table.add_row(
            Text(visible(r.mlflow_run_id[:8])),
            Text(visible(member)),
            Text(visible(f"{r.note} · {r.snippet}")),
            Text(visible(r.status)),
            Text(visible(r.started[:16].replace("T", " "))),
            duration_text(r.duration),
            metrics_cell(r.final_metrics, limit=None),
            code[r.same_code],
        )
    return table
