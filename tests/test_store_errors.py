"""Errors that tell the truth (issue 8, points 17-19): a read-only workspace still reads, a
full disk says so, a damaged store says what to do without a traceback, a file in the way is
named, bad limits are refused, and another studylog's lock is waited out quietly.

Everything runs `studylog` as a real process on a real store. A read-only workspace is a
read-only bind mount and a full disk a tiny tmpfs, each made in a private mount namespace
(`unshare -m`) so nothing leaks out of the test: the tests run as root, which ignores file
permissions, but not a read-only mount. Where mounts are not allowed, those tests skip and
say why."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from studylog.settings import SettingsError, load_settings
from tests.processes import wait_for

DEADLINE = 120.0
STUDYLOG = [sys.executable, "-m", "studylog"]
METRICS_NOTE = """\
# Metrics

```python run name=curve
from studylog import track
for i in range(300):
    track.log_metric("loss", 1.0 / (i + 1), step=i)
track.param(lr=0.1)
print("curve done")
```
"""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "STUDYLOG_WORKSPACE"}
    env["COLUMNS"] = "100"
    return env


def studylog(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*STUDYLOG, *args, "--workspace", str(root)],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        env=_env(),
    )


def _mounts_allowed() -> str | None:
    """None when this test run may make a private mount namespace with a read-only bind
    mount; else why not."""
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        return "needs unshare(1) and mount(8)"
    probe = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c",
         'd=$(mktemp -d) && mount --bind "$d" "$d" && mount -o remount,bind,ro "$d" '
         '&& ! touch "$d/x" 2>/dev/null'],
        capture_output=True,
        text=True,
    )  # fmt: skip
    if probe.returncode != 0:
        return f"needs CAP_SYS_ADMIN for a private read-only bind mount: {probe.stderr.strip()}"
    return None


NO_MOUNTS = _mounts_allowed()
needs_mounts = pytest.mark.skipif(NO_MOUNTS is not None, reason=NO_MOUNTS or "")


def studylog_read_only(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`studylog ARGS` with `root` mounted read-only for that process alone (root included:
    a read-only mount refuses every writer, unlike chmod)."""
    script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"'
    return subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", str(root),
         *STUDYLOG, *args, "--workspace", str(root)],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        env=_env(),
    )  # fmt: skip


def _workspace_with_a_run(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "notes").mkdir(parents=True)
    (root / "notes" / "metrics.md").write_text(METRICS_NOTE, encoding="utf-8")
    (root / "notes" / "other.md").write_text("# Other\n\nAbout adam.\n", encoding="utf-8")
    done = studylog(root, "run", "metrics")
    assert done.returncode == 0, done.stdout + done.stderr
    return root


def _no_false_alarm(result: subprocess.CompletedProcess[str]) -> None:
    text = result.stdout + result.stderr
    assert "Traceback" not in text
    assert "move it aside" not in text.lower(), text
    assert "damaged" not in text, text


# -- 17: a read-only workspace ------------------------------------------------------------


@needs_mounts
def test_read_only_workspace_reads_and_says_why_it_cannot_write(tmp_path: Path) -> None:
    root = _workspace_with_a_run(tmp_path)
    db_path = root / ".studylog" / "studylog.db"
    out = tmp_path / "site"  # outside the read-only mount
    reads = {
        ("list",): "notes/metrics.md",
        ("show", "metrics"): "curve",
        ("search", "adam"): "other.md",
        ("runs",): "curve",
        ("runs", "show", "1"): "curve done",
        ("export", "--all", "--format", "md", "--out", str(out)): "Exported 2 notes",
    }
    for args, expected in reads.items():
        result = studylog_read_only(root, *args)
        assert result.returncode == 0, (args, result.stdout + result.stderr)
        assert expected in result.stdout, (args, result.stdout)
        _no_false_alarm(result)
    assert (out / "metrics.md").is_file()
    # The stale-index note is on stderr, naming what is read-only.
    listed = studylog_read_only(root, "list")
    assert f"{db_path} is read-only: the note index could not be refreshed" in listed.stderr
    for args in (("index",), ("run", "metrics")):
        result = studylog_read_only(root, *args)
        assert result.returncode == 1, (args, result.stdout + result.stderr)
        message = " ".join(result.stderr.split())
        assert f"{db_path} is read-only (a read-only file system)" in message
        assert "must write the studylog store" in message
        _no_false_alarm(result)
    # Nothing was lost on the way: the run is still there once writable.
    assert studylog(root, "runs", "show", "1").returncode == 0


@needs_mounts
def test_read_only_workspace_without_a_store_indexes_in_memory(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "notes").mkdir(parents=True)
    (root / "notes" / "a.md").write_text("# Alpha\n\nsgd and adam\n", encoding="utf-8")
    result = studylog_read_only(root, "list")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "notes/a.md" in result.stdout
    assert f"{root} is read-only: the notes are indexed in memory and nothing is saved" in (
        result.stderr
    )
    _no_false_alarm(result)
    assert studylog_read_only(root, "search", "adam").returncode == 0
    assert not (root / ".studylog").exists()


@needs_mounts
def test_a_full_disk_says_so(tmp_path: Path) -> None:
    """A workspace on a 512 KiB tmpfs filled to the last block: the store cannot be made."""
    script = textwrap.dedent(
        """\
        set -e
        mount -t tmpfs -o size=512k tmpfs "$1"
        mkdir -p "$1/ws/notes"
        printf '# A note\\n' > "$1/ws/notes/a.md"
        dd if=/dev/zero of="$1/fill" bs=4k 2>/dev/null || true
        shift
        exec "$@"
        """
    )
    disk = tmp_path / "disk"
    disk.mkdir()
    result = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", str(disk),
         *STUDYLOG, "list", "--workspace", str(disk / "ws")],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        env=_env(),
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    message = " ".join(result.stderr.split())
    assert f"the disk holding {disk / 'ws' / '.studylog'} is full" in message
    assert "Free space there" in message
    _no_false_alarm(result)


# -- 18: a store damaged in the middle ----------------------------------------------------


def _damage_table(db_path: Path, table: str) -> None:
    """Overwrite the root page of `table` with garbage: the file still opens, reading that
    table fails as "database disk image is malformed"."""
    conn = sqlite3.connect(db_path)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    (root_page,) = conn.execute(
        "SELECT rootpage FROM sqlite_master WHERE name = ?", [table]
    ).fetchone()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    with open(db_path, "r+b") as f:
        f.seek((root_page - 1) * page_size)
        f.write(bytes(range(256)) * (page_size // 256))


def test_a_damaged_store_says_what_to_do_without_a_traceback(tmp_path: Path) -> None:
    root = _workspace_with_a_run(tmp_path)
    db_path = root / ".studylog" / "studylog.db"
    _damage_table(db_path, "metrics")
    assert studylog(root, "list").returncode == 0  # what is not damaged still reads
    for args in (
        ("runs", "show", "1"),
        ("runs", "show", "1", "--json"),
        ("export", "--all", "--format", "html", "--out", str(tmp_path / "site")),
        ("export", "--all", "--format", "ipynb", "--out", str(tmp_path / "nb")),
    ):
        result = studylog(root, *args)
        assert result.returncode == 1, (args, result.stdout + result.stderr)
        message = " ".join(result.stderr.split())
        assert "Traceback" not in message, (args, result.stderr)
        assert f"{db_path} is damaged (database disk image is malformed)" in message, args
        assert f"Move it aside (mv {db_path} {db_path}.damaged)" in message
        assert "runs are lost unless recovered" in message
        assert ".recover" in message


def test_a_store_that_is_not_a_database_says_move_it_aside(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "notes").mkdir(parents=True)
    (root / ".studylog").mkdir()
    db_path = root / ".studylog" / "studylog.db"
    db_path.write_bytes(b"this is no database " * 500)
    result = studylog(root, "list")
    assert result.returncode == 1
    message = " ".join(result.stderr.split())
    assert f"{db_path} is damaged (file is not a database)" in message
    assert "Traceback" not in message


# -- 19: a file in the way, bad limits, locks ---------------------------------------------


def test_a_file_where_the_state_folder_goes_is_named(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "notes").mkdir(parents=True)
    (root / ".studylog").write_text("not a folder\n", encoding="utf-8")
    result = studylog(root, "list")
    assert result.returncode == 1
    message = " ".join(result.stderr.split())
    assert "Errno 17" not in message
    assert f"{root / '.studylog'} is a file" in message
    assert f"mv {root / '.studylog'} {root / '.studylog'}.bak" in message


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ("timeout = -1", "timeout"),
        ("timeout = 0", "timeout"),
        ("timeout = nan", "timeout"),
        ("memory_limit_mb = -512", "memory_limit_mb"),
        ("memory_limit_mb = 0", "memory_limit_mb"),
    ],
)
def test_limits_that_are_not_positive_are_refused(tmp_path: Path, line: str, key: str) -> None:
    path = tmp_path / "studylog.toml"
    path.write_text(f"[run]\n{line}\n", encoding="utf-8")
    with pytest.raises(SettingsError, match=rf"{path}: \[run\] {key} must be a positive"):
        load_settings(path)


def test_a_negative_timeout_in_studylog_toml_stops_the_command(tmp_path: Path) -> None:
    root = _workspace_with_a_run(tmp_path)
    (root / "studylog.toml").write_text("[run]\ntimeout = -1\n", encoding="utf-8")
    result = studylog(root, "run", "metrics")
    assert result.returncode == 1
    assert f"{root / 'studylog.toml'}: [run] timeout must be a positive number" in result.stderr


def test_a_fence_with_a_bad_timeout_warns_and_the_others_run(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "notes").mkdir(parents=True)
    (root / "notes" / "t.md").write_text(
        "# T\n\n```python run name=bad timeout=-1\nprint('bad ran')\n```\n\n"
        "```python run name=worse timeout=nan\nprint('worse ran')\n```\n\n"
        "```python run name=good timeout=30\nprint('good ran')\n```\n",
        encoding="utf-8",
    )
    result = studylog(root, "run", "t", "--all", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    runs = {r["snippet"]: r for r in json.loads(result.stdout)}
    assert {name: r["status"] for name, r in runs.items()} == dict.fromkeys(
        ("bad", "worse", "good"), "succeeded"
    )
    shown = studylog(root, "runs", "show", str(runs["bad"]["id"]), "--json")
    detail = json.loads(shown.stdout)
    assert detail["timeout"] == 120.0  # studylog.toml's default applies
    assert any("timeout=-1 is not a positive number" in w for w in detail["warnings"])
    good = json.loads(studylog(root, "runs", "show", str(runs["good"]["id"]), "--json").stdout)
    assert good["warnings"] == []


@pytest.mark.parametrize("value", ["-1", "0", "nan"])
def test_a_bad_timeout_option_is_refused(tmp_path: Path, value: str) -> None:
    root = _workspace_with_a_run(tmp_path)
    result = studylog(root, "run", "metrics", "--timeout", value)
    assert result.returncode == 2
    assert "is not a positive number of seconds" in result.stderr
    assert json.loads(studylog(root, "runs", "--json").stdout)[0]["id"] == 1  # no new run


LOCKER = """\
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=60)
conn.execute("BEGIN IMMEDIATE")
open(sys.argv[2], "w").close()
# Longer than studylog's busy timeout (10 s): a long write by another studylog.
time.sleep(float(sys.argv[3]))
conn.execute("COMMIT")
"""

WAITING_NOTE = """\
# Waiting

```python run name=w
import os, time
from studylog import track
deadline = time.monotonic() + 120
while not os.path.exists({flag!r}) and time.monotonic() < deadline:
    time.sleep(0.01)
for i in range(1000):
    track.log_metric("loss", float(i), step=i)
print("logged")
```
"""


def test_another_writer_holding_the_lock_is_waited_out_quietly(tmp_path: Path) -> None:
    """A process holds the store's write lock past SQLite's busy timeout while a run logs
    its metrics and `studylog list` indexes a new note: both wait, nothing is lost, and no
    "database is locked" reaches the user."""
    root = _workspace_with_a_run(tmp_path)
    db_path = root / ".studylog" / "studylog.db"
    flag = tmp_path / "locked"
    (root / "notes" / "waiting.md").write_text(
        WAITING_NOTE.format(flag=str(flag)), encoding="utf-8"
    )
    assert studylog(root, "index").returncode == 0
    run = subprocess.Popen(
        [*STUDYLOG, "run", "waiting", "--json", "--workspace", str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    wait_for(lambda: studylog_runs(db_path) >= 2, "the run to be recorded", DEADLINE)
    locker = subprocess.Popen([sys.executable, "-c", LOCKER, str(db_path), str(flag), "12"])
    try:
        wait_for(flag.exists, "the other writer to take the lock", DEADLINE)
        (root / "notes" / "new.md").write_text("# New while waiting\n", encoding="utf-8")
        listed = studylog(root, "list")
        out, err = run.communicate(timeout=DEADLINE)
    finally:
        locker.wait(timeout=DEADLINE)
        run.kill()
    assert locker.returncode == 0
    assert listed.returncode == 0, listed.stderr
    assert "notes/new.md" in listed.stdout
    assert "database is locked" not in listed.stdout + listed.stderr
    assert run.returncode == 0, out + err
    assert "database is locked" not in out + err
    (summary,) = json.loads(out)
    detail = json.loads(studylog(root, "runs", "show", str(summary["id"]), "--json").stdout)
    assert detail["status"] == "succeeded"
    assert detail["warnings"] == []
    (loss,) = detail["metrics"]
    assert loss["points"] == 1000


def studylog_runs(db_path: Path) -> int:
    conn = sqlite3.connect(db_path, timeout=60)
    try:
        return int(conn.execute("SELECT count(*) FROM runs").fetchone()[0])
    finally:
        conn.close()


async def test_the_tui_closes_with_the_message_on_a_damaged_store(tmp_path: Path) -> None:
    """A read of the run's metrics, from the app's own loop, meets a damaged page: the app
    ends with exit code 1 and the store's message instead of a traceback (on main the
    DatabaseError escaped as one)."""
    from studylog.paths import Workspace
    from studylog.settings import Settings
    from studylog.store.history import series
    from studylog.tui.app import StudylogApp
    from tests.tui_helpers import main_screen, until

    root = _workspace_with_a_run(tmp_path)
    _damage_table(root / ".studylog" / "studylog.db", "metrics")
    app = StudylogApp(Workspace(root), Settings())
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: main_screen(pilot).notes, "the notes to load")
        app.call_later(lambda: series(app.db, 1, "loss"))
        # The app is closing: wait on it without pilot.pause (that waits for the screen).
        deadline = time.monotonic() + DEADLINE
        while app.return_code is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    assert app.return_code == 1
