"""Every process of a run ends with it: children that left the session (setsid, a double-forked
daemon), children of a studylog killed with SIGKILL, leftovers of an interrupted run; and the
memory limit holds for the whole tree, shared memory included. Real processes throughout."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from studylog.procctl import RUN_TAG_ENV, owner_tag, process_mark
from studylog.runner.process import Limits, run_process
from studylog.store.db import open_store
from studylog.store.history import list_runs
from studylog.store.runs import NewRun, start_run
from tests.processes import gone_or_zombie, wait_for

# A word in the command line of every process these tests start, so the cleanup kills only
# ours even if a pid was reused meanwhile.
MARK = f"studylog-tree-test-{uuid.uuid4().hex[:8]}"


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""


def _cleanup(pids_file: Path) -> None:
    """Kill what a test's processes left (only when the code under test failed to)."""
    if not pids_file.exists():
        return
    ours = (MARK.encode(), str(pids_file.parent).encode())
    for word in pids_file.read_text().split():
        pid = int(word)
        if any(word in _cmdline(pid) for word in ours) and not gone_or_zombie(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _pids(pids_file: Path, count: int) -> list[int]:
    words = pids_file.read_text().split() if pids_file.exists() else []
    return [int(w) for w in words] if len(words) >= count else []


def _all_gone(pids: list[int]) -> bool:
    return all(gone_or_zombie(pid) for pid in pids)


# A child that sleeps for an hour with the run's stdout and stderr still open, its pid
# appended to PIDS. `setsid` puts it in a session of its own, out of the run's group.
_SLEEPER = f"import time; time.sleep(3600)  # {MARK}"

_SETSID_CHILD = """
import subprocess, sys
child = subprocess.Popen([sys.executable, "-c", {sleeper!r}], start_new_session=True)
with open({pids!r}, "a") as f:
    f.write(f"{{child.pid}} ")
print("started", flush=True)
"""

_DOUBLE_FORK = """
import os, sys, time
if os.fork() == 0:  # the classic daemon: fork, setsid, fork again, the middle one exits
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, "-c", {sleeper!r}])
    os._exit(0)
os.wait()
print("daemon started", flush=True)
"""


def _code(template: str, pids: Path) -> str:
    return textwrap.dedent(template).format(sleeper=_SLEEPER, pids=str(pids))


async def _run(code: str, tmp_path: Path, **kw):
    argv = [sys.executable, "-c", code]
    # A run that waited on a pipe the escaped child holds would take an hour: fail at once.
    return await asyncio.wait_for(run_process(argv, cwd=tmp_path, **kw), 60)


async def _gone(pids: list[int], seconds: float = 10.0) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        if _all_gone(pids):
            return True
        await asyncio.sleep(0.01)
    return False


# Point 4: setsid escapes neither the end, the timeout nor a cancel.


async def test_a_setsid_child_holding_stdout_ends_with_the_snippet(tmp_path):
    pids = tmp_path / "pids"
    try:
        result = await _run(_code(_SETSID_CHILD, pids), tmp_path, limits=Limits(timeout=30))
        assert result.status == "succeeded", result
        assert result.stdout == "started\n"
        assert await _gone(_pids(pids, 1))
    finally:
        _cleanup(pids)


async def test_a_double_forked_daemon_ends_at_the_timeout(tmp_path):
    pids = tmp_path / "pids"
    code = _code(_DOUBLE_FORK, pids) + "time.sleep(3600)\n"
    # The daemon's pid: the only process whose command line names this test's mark.
    try:
        result = await _run(code, tmp_path, limits=Limits(timeout=2))
        assert result.status == "timed_out"
        assert "daemon started" in result.stdout
        assert not _marked_processes()
    finally:
        for pid in _marked_processes():
            os.kill(pid, signal.SIGKILL)


def _marked_processes() -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        pid = int(name) if name.isdigit() else 0
        if pid and MARK.encode() in _cmdline(pid) and not gone_or_zombie(pid):
            found.append(pid)
    return found


async def test_a_setsid_child_ends_with_a_cancel(tmp_path):
    pids = tmp_path / "pids"
    cancel = asyncio.Event()
    code = _code(_SETSID_CHILD, pids) + "import time; time.sleep(3600)\n"

    def on_line(stream, line):
        if line == "started\n":
            cancel.set()

    try:
        result = await _run(code, tmp_path, cancel=cancel, on_line=on_line)
        assert result.status == "cancelled"
        assert await _gone(_pids(pids, 1))
    finally:
        _cleanup(pids)


def _studylog(root: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "studylog", *args, "--workspace", str(root)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _statuses(db_path: Path) -> list[str]:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10)
    try:
        return [row[0] for row in conn.execute("SELECT status FROM runs ORDER BY id")]
    finally:
        conn.close()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_studylog_run_ends_on_a_signal_though_a_setsid_child_holds_stdout(
    workspace, write_note, sig
):
    pids = workspace.root / "pids"
    code = _code(_SETSID_CHILD, pids) + "import time; time.sleep(3600)\n"
    write_note("escape.md", f"# Escape\n\n```python run name=escape\n{code}```\n")
    studylog = _studylog(workspace.root, "run", "escape")
    try:
        (child,) = wait_for(lambda: _pids(pids, 1), "the setsid child")
        studylog.send_signal(sig)
        out, err = studylog.communicate(timeout=30)  # hung for the hour before
        assert studylog.returncode != 0, out + err
        assert _statuses(workspace.db_path) == ["cancelled"]
        wait_for(lambda: gone_or_zombie(child), "the setsid child to die")
    finally:
        if studylog.poll() is None:
            studylog.kill()
            studylog.wait()
        _cleanup(pids)


def _supervisor_of(parent: int) -> int | None:
    for name in os.listdir("/proc"):
        if name.isdigit() and b"studylog.runner.supervisor" in _cmdline(int(name)):
            with contextlib.suppress(OSError), open(f"/proc/{name}/stat") as f:
                if int(f.read().rsplit(")", 1)[1].split()[1]) == parent:
                    return int(name)
    return None


def test_studylog_run_ends_on_a_signal_though_its_supervisor_is_stuck(workspace, write_note):
    pids = workspace.root / "pids"
    code = _code(_SETSID_CHILD, pids) + "import time; time.sleep(3600)\n"
    write_note("stuck.md", f"# Stuck\n\n```python run name=stuck\n{code}```\n")
    studylog = _studylog(workspace.root, "run", "stuck")
    supervisor = None
    try:
        (child,) = wait_for(lambda: _pids(pids, 1), "the setsid child")
        supervisor = wait_for(lambda: _supervisor_of(studylog.pid), "the supervisor")
        os.kill(supervisor, signal.SIGSTOP)  # it can no longer end the tree: studylog must
        studylog.send_signal(signal.SIGINT)
        out, err = studylog.communicate(timeout=30)
        assert studylog.returncode != 0, out + err
        assert _statuses(workspace.db_path) == ["cancelled"]
        wait_for(lambda: gone_or_zombie(child), "the setsid child to die")
    finally:
        if studylog.poll() is None:
            studylog.kill()
            studylog.wait()
        if supervisor is not None and b"studylog.runner.supervisor" in _cmdline(supervisor):
            os.kill(supervisor, signal.SIGKILL)
        _cleanup(pids)


# Point 5: a studylog killed with SIGKILL leaves nothing of its run behind.

_FAMILY = """
import os, subprocess, sys, time
ordinary = subprocess.Popen([sys.executable, "-c", {sleeper!r}])
escaped = subprocess.Popen([sys.executable, "-c", {sleeper!r}], start_new_session=True)
with open({pids!r}, "a") as f:
    f.write(f"{{os.getpid()}} {{ordinary.pid}} {{escaped.pid}} ")
time.sleep(3600)
"""


def test_kill_9_of_studylog_ends_every_process_of_its_run(workspace, write_note):
    pids = workspace.root / "pids"
    write_note("family.md", f"# Family\n\n```python run name=family\n{_code(_FAMILY, pids)}```\n")
    studylog = _studylog(workspace.root, "run", "family")
    try:
        family = wait_for(lambda: _pids(pids, 3), "the snippet and its children")
        studylog.send_signal(signal.SIGKILL)
        studylog.wait(30)
        wait_for(lambda: _all_gone(family), "every process of the run to die with studylog")
    finally:
        if studylog.poll() is None:
            studylog.kill()
            studylog.wait()
        _cleanup(pids)
    db = open_store(workspace.db_path)
    try:
        assert [r.status for r in list_runs(db)] == ["interrupted"]
    finally:
        db.close()


def test_the_next_start_ends_the_leftovers_of_an_interrupted_run(workspace, tmp_path):
    # A studylog that is gone (its supervisor with it), and a process of its run left over.
    gone = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=-1)
    owner, mark = gone.pid, process_mark(gone.pid)
    gone.communicate(b"")
    db = open_store(workspace.db_path)
    run_id = start_run(db, NewRun(None, "x.md", "x", "fence", None, "pass", 0))
    db.execute("UPDATE runs SET owner_pid = ?, owner_start = ? WHERE id = ?", (owner, mark, run_id))
    db.conn.commit()
    db.close()
    env = {**os.environ, RUN_TAG_ENV: owner_tag(owner, mark) + "abc"}
    leftover = subprocess.Popen([sys.executable, "-c", _SLEEPER], env=env, start_new_session=True)
    other = subprocess.Popen([sys.executable, "-c", _SLEEPER])  # not the run's: it stays
    try:
        nxt = _studylog(workspace.root, "runs")  # the next start: any command
        _, err = nxt.communicate(timeout=60)
        assert nxt.returncode == 0, err
        assert _statuses(workspace.db_path) == ["interrupted"]
        assert leftover.wait(30) == -signal.SIGKILL
        assert other.poll() is None
    finally:
        for proc in (leftover, other):
            if proc.poll() is None:
                proc.kill()
            proc.wait()


# Point 7: the memory limit holds for the tree, shared memory included.

_SHARED = """
import mmap, time
size = 400 * 2**20
m = mmap.mmap(-1, size)  # MAP_SHARED and anonymous: no part of RLIMIT_DATA
chunk = b"x" * 2**20
for _ in range(size // len(chunk)):
    m.write(chunk)
print("touched", flush=True)
time.sleep(3600)
"""

_WORKERS = """
import os, time  # {mark}
with open({pids!r}, "a") as f:
    for _ in range(4):
        pid = os.fork()
        if pid == 0:
            block = b"x" * (60 * 2**20)  # each worker well under the limit
            time.sleep(3600)
            os._exit(0)
        f.write(f"{{pid}} ")
time.sleep(3600)
"""

_PRIVATE = """
import mmap
m = mmap.mmap(-1, 2**30, flags=mmap.MAP_PRIVATE)
"""


async def test_a_shared_mapping_counts_against_the_memory_limit(tmp_path):
    result = await _run(
        textwrap.dedent(_SHARED), tmp_path, limits=Limits(memory_mb=128, timeout=50)
    )
    assert result.status == "out_of_memory", result
    assert "memory limit" in (result.last_error or "")


async def test_forked_workers_are_summed_against_the_memory_limit(tmp_path):
    pids = tmp_path / "pids"
    code = textwrap.dedent(_WORKERS).format(pids=str(pids), mark=MARK)
    try:
        result = await _run(code, tmp_path, limits=Limits(memory_mb=128, timeout=50))
        assert result.status == "out_of_memory", result
        workers = _pids(pids, 4)
        assert workers and await _gone(workers)
    finally:
        _cleanup(pids)


async def test_a_private_mapping_refused_by_the_limit_is_out_of_memory(tmp_path):
    result = await _run(textwrap.dedent(_PRIVATE), tmp_path, limits=Limits(memory_mb=128))
    assert result.status == "out_of_memory", result
    assert "Cannot allocate memory" in (result.last_error or "")
