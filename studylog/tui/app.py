"""The studylog app: the services the screens use (store, runner, workspace), the keys that
work everywhere, the command palette, and errors turned into notifications."""

from __future__ import annotations

import functools
import gc
import os
import shlex
import shutil
import sqlite3
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.screen import Screen

if TYPE_CHECKING:
    from studylog.runner.session import RunSession
    from studylog.store.runs import Interrupted
    from studylog.store.search import Hit

from studylog.paths import Workspace
from studylog.procctl import end_leftovers
from studylog.safe_text import visible
from studylog.settings import Settings
from studylog.store.db import connect, describe_store_error, open_store
from studylog.store.queries import NoteDetail, NoteSummary, get_note, list_notes
from studylog.tui.screens.main import MainScreen
from studylog.tui.state import load_state, save_state


class NoteIndex:
    """Indexing from a worker thread: SQLite connections stay in their thread, so each pass
    opens its own."""

    def __init__(self, workspace: Workspace, settings: Settings) -> None:
        self.workspace = workspace
        self.settings = settings

    def refresh_index(self) -> list[NoteSummary]:
        from studylog.store.index import index_notes  # the parser's imports: after the paint

        db = connect(self.workspace.db_path)
        try:
            # No retry_locked here: a pass that meets a lock is notified, and the next
            # watch pass tries again.
            index_notes(db, self.workspace, self.settings)
            return list_notes(db)
        finally:
            db.close()

    def read_note(self, path: str) -> NoteDetail:
        """One note in full, on a connection of its own: called from a thread, so a note
        read never waits on the UI loop (nor the UI loop on the store)."""
        db = connect(self.workspace.db_path)
        try:
            return get_note(db, path, self.workspace)
        finally:
            db.close()

    def search(self, query: str, limit: int = 30) -> list[Hit]:
        """The notes matching `query`, best first, on a connection of its own (a thread's)."""
        from studylog.store.search import search

        db = connect(self.workspace.db_path)
        try:
            return search(db, query, limit=limit)
        finally:
            db.close()


class StudylogApp(App[None]):
    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses live elsewhere
    TITLE = "studylog"
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help"),
    ]

    def __init__(self, workspace: Workspace, settings: Settings, *, warm: bool = False) -> None:
        super().__init__()
        self.workspace = workspace
        self.settings = settings
        self.warm = warm  # start a warm parent for the runs once the first screen is painted
        # The leftover processes of a studylog that died are ended once the app runs, off
        # its event loop (that can take seconds): see _end_leftovers.
        self.interrupted: list[Interrupted] = []
        # The caller reports a store that won't open.
        self.db = open_store(workspace.db_path, on_interrupted=self.interrupted.append)
        self.store = NoteIndex(workspace, settings)
        self.ui_state = load_state(workspace.ui_state_file)
        self.sub_title = visible(workspace.root.name)

    @functools.cached_property
    def run_session(self) -> RunSession:
        """Where snippets run (made when a note with snippets first opens)."""
        from studylog.runner.session import RunSession  # the screen paints sooner without it

        return RunSession(self.workspace, self.settings.run)

    def get_default_screen(self) -> Screen[None]:
        return MainScreen()

    def on_mount(self) -> None:
        if self.interrupted:
            self._end_leftovers()
        # Once the first screen is painted, what the app has made so far (modules, styles,
        # widgets: most of its objects, kept for its life) leaves the collector's watch: a
        # full collection during a note's open walked all of them (seen: 475 ms under load).
        self.call_after_refresh(gc.freeze)
        if self.warm:
            self.call_after_refresh(self._start_warm)

    @work(thread=True, group="leftovers", exit_on_error=False)
    def _end_leftovers(self) -> None:
        """End what the runs of a studylog that died left running (a killed supervisor's
        snippet and its children)."""
        end_leftovers(tag for found in self.interrupted for tag in found.owner_tags)

    @work(exclusive=True, group="warm", exit_on_error=False)
    async def _start_warm(self) -> None:
        """The warm parent, started from the app's own thread (it dies with the thread that
        started it); it imports torch in its own process, so this takes milliseconds."""
        self.run_session.start_warm()

    def on_unmount(self) -> None:
        gc.unfreeze()  # the app's objects collectable again (many apps run in one test process)
        if "run_session" in self.__dict__:
            self.run_session.close()
        self.db.close()

    def save_state(self) -> None:
        save_state(self.workspace.ui_state_file, self.ui_state)

    def action_help(self) -> None:
        from studylog.tui.screens.help import HelpScreen

        self.push_screen(HelpScreen())

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if isinstance(screen, MainScreen):
            for binding in MainScreen.BINDINGS:
                assert isinstance(binding, Binding)
                if binding.show or binding.key in MainScreen.PALETTE_KEYS:
                    yield SystemCommand(
                        binding.description,
                        f"{binding.description} (key {binding.key})",
                        lambda action=binding.action: screen.run_action(action),
                    )
            from studylog.tui.screens.daily import PALETTE

            for title, key, action in PALETTE:
                yield SystemCommand(
                    title, f"{title} (key {key})", functools.partial(screen.run_action, action)
                )
        yield SystemCommand("Help", "What each key does (key ?)", self.action_help)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every notification of the app (widgets' too) is plain text: messages quote note
        titles, snippet names, paths and errors, which are never markup and whose control
        characters are shown. `markup` is accepted and ignored."""
        del markup
        super().notify(
            visible(message), title=visible(title), severity=severity, timeout=timeout, markup=False
        )

    def report_error(self, error: BaseException | None) -> None:
        """A failed worker becomes a notification that says what happened and what to do."""
        if error is None:
            return
        if isinstance(error, sqlite3.Error):
            message = describe_store_error(self.workspace.db_path, error)
        elif isinstance(error, OSError):
            message = f"{error.filename or 'a file'}: {error.strerror or error}"
        else:
            message = f"{type(error).__name__}: {error}"
        self.notify(message, title="Something went wrong", severity="error", timeout=10)

    def _handle_exception(self, error: Exception) -> None:
        """A store that fails under a screen (a damaged file) closes the app with the
        message that says what to do, not a traceback; anything else as Textual does."""
        if isinstance(error, sqlite3.DatabaseError):
            message = describe_store_error(self.workspace.db_path, error)
            self.exit(return_code=1, message=Text(message, style="red"))
            return
        super()._handle_exception(error)

    def edit(self, path: Path) -> str | None:
        """Open `path` in $VISUAL / $EDITOR, the app suspended meanwhile; an error message
        that names the command and says what to set, or None. The command is looked up
        before the app gives the terminal away, so one that is not there costs nothing."""
        from textual.app import SuspendNotSupported

        variable = "VISUAL" if os.environ.get("VISUAL") else "EDITOR"
        editor = os.environ.get(variable, "").strip()
        fix = "Set $VISUAL or $EDITOR to an editor that waits, e.g. export EDITOR=nano."
        if not editor:
            return f"No editor is set. {fix}"
        try:
            command = shlex.split(editor)
        except ValueError as exc:
            return f"${variable}={editor!r} cannot be read as a command ({exc}). {fix}"
        if not command or shutil.which(command[0]) is None:
            missing = command[0] if command else editor
            return f"${variable}={editor!r}: {missing} is not installed or not on PATH. {fix}"
        try:
            if self.is_headless:  # no terminal to give away (tests): the editor runs as is
                done = subprocess.run([*command, str(path)], check=False, stdin=subprocess.DEVNULL)
            else:
                with self.suspend():
                    done = subprocess.run([*command, str(path)], check=False)
        except OSError as exc:
            return f"${variable}={editor!r} could not start: {exc.strerror or exc}. {fix}"
        except SuspendNotSupported:
            return f"This terminal cannot be handed to an editor; edit {path} outside the app."
        if done.returncode != 0:
            return (
                f"${variable}={editor!r} exited with status {done.returncode}; the note is "
                f"shown as it is on disk. {fix}"
            )
        return None
