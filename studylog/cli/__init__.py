"""The command line: a click group whose commands are a few lines over notes, store, runner
and views. Commands live in notes.py and runs.py; what they share in common.py."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from studylog import __version__
from studylog.cli.common import console, workspace_option


class _Group(click.Group):
    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_paragraph()
        formatter.write_text("Example: studylog list --by date")


@click.group(cls=_Group, invoke_without_command=True)
@workspace_option
@click.version_option(__version__, prog_name="studylog")
@click.pass_context
def cli(ctx: click.Context, workspace: Path | None) -> None:
    """studylog: browse, search and run your deep-learning study notes.

    With no command, opens the app (the TUI) on your workspace; without a terminal, prints
    your notes by topic.
    """
    ctx.obj = workspace
    if ctx.invoked_subcommand is None:
        if sys.stdin.isatty() and sys.stdout.isatty():
            _open_app(workspace)
            return
        ctx.invoke(_notes.list_cmd, workspace=workspace, by="topic", as_json=False)
        console().print("\n[dim]studylog show NOTE · studylog search QUERY · studylog --help[/]")


def _open_app(workspace: Path | None) -> None:
    from studylog.cli.common import fail
    from studylog.paths import WorkspaceError, find_workspace
    from studylog.settings import SettingsError, load_settings
    from studylog.store.db import StoreError

    try:
        found = find_workspace(workspace)
        settings = load_settings(found.settings_file)
        from studylog.tui.app import StudylogApp

        app = StudylogApp(found, settings, warm=settings.run.warm)
    except (WorkspaceError, SettingsError, StoreError) as exc:
        raise fail(str(exc)) from exc
    app.run()
    if app.return_code:  # e.g. a damaged store: the app printed why
        sys.exit(app.return_code)


# Registering the commands: each module adds its own to `cli`.
from studylog.cli import daily as _daily  # noqa: E402, F401
from studylog.cli import export as _export  # noqa: E402, F401
from studylog.cli import notes as _notes  # noqa: E402
from studylog.cli import run as _run  # noqa: E402, F401
from studylog.cli import runs as _runs  # noqa: E402, F401
from studylog.cli import sync as _sync  # noqa: E402, F401


def main() -> None:
    """Entry point of the `studylog` script and `python -m studylog`."""
    try:
        cli(prog_name="studylog")
    except KeyboardInterrupt:
        sys.exit(130)
