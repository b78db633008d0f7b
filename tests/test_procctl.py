"""The leftovers of a studylog that died: the store marks its runs interrupted and names their
owners, and kills nothing; the caller (the CLI, the app once it runs) ends their processes.
Real processes, a real store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from studylog.procctl import RUN_TAG_ENV, alive, owner_tag, process_mark, tagged_processes
from studylog.store.db import open_store
from studylog.store.history import list_runs
from studylog.store.runs import Interrupted, NewRun, start_run
from studylog.tui.app import StudylogApp
from tests.tui_helpers import make_workspace, settings, until

_SLEEPER = "import time; time.sleep(3600)  # studylog-procctl-test"


def _dead_owner() -> tuple[int, str | None]:
    """The pid and start mark of a process that has ended."""
    gone = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=-1)
    owner, mark = gone.pid, process_mark(gone.pid)
    gone.communicate(b"")
    return owner, mark


@contextmanager
def _leftover_of_a_dead_studylog(db_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A run left `running` by a studylog that is gone, and a process of that run left over
    (in its own session, as a snippet's child may be); its owner tag and that process."""
    owner, mark = _dead_owner()
    db = open_store(db_path)
    try:
        run_id = start_run(db, NewRun(None, "x.md", "x", "fence", None, "pass", 0))
        db.execute(
            "UPDATE runs SET owner_pid = ?, owner_start = ? WHERE id = ?", (owner, mark, run_id)
        )
    finally:
        db.close()
    tag = owner_tag(owner, mark)
    env = {**os.environ, RUN_TAG_ENV: tag + "abc"}
    leftover = subprocess.Popen([sys.executable, "-c", _SLEEPER], env=env, start_new_session=True)
    try:
        yield tag, leftover
    finally:
        if leftover.poll() is None:
            leftover.kill()
        leftover.wait()


def test_opening_the_store_marks_and_names_the_dead_owner_but_kills_nothing(tmp_path):
    db_path = tmp_path / "studylog.db"
    with _leftover_of_a_dead_studylog(db_path) as (tag, leftover):
        told: list[Interrupted] = []
        db = open_store(db_path, on_interrupted=told.append)
        try:
            assert [r.status for r in list_runs(db)] == ["interrupted"]
        finally:
            db.close()
        assert len(told) == 1 and told[0].owner_tags == (tag,) and len(told[0].run_ids) == 1
        # The store left the process alone: ending it is the caller's business.
        assert leftover.poll() is None and alive(leftover.pid, process_mark(leftover.pid))
        assert leftover.pid in tagged_processes(tag)
        # Opened again: nothing more to mark, nothing to tell.
        db = open_store(db_path, on_interrupted=told.append)
        db.close()
        assert len(told) == 1


async def test_the_app_ends_the_leftovers_of_a_dead_studylog_once_it_runs(tmp_path):
    ws = make_workspace(tmp_path / "ws")
    with _leftover_of_a_dead_studylog(ws.db_path) as (tag, leftover):
        app = StudylogApp(ws, settings())
        assert [found.owner_tags for found in app.interrupted] == [(tag,)]
        assert leftover.poll() is None  # not in __init__: that would hold up the first paint
        async with app.run_test(size=(100, 30)) as pilot:
            await until(pilot, lambda: leftover.poll() is not None, "the leftover to be ended")
        assert leftover.wait() == -signal.SIGKILL
