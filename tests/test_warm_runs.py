"""Warm runs (issue 12, point 1): runs forked from a warm parent that has imported torch are
the same as cold runs to the snippet and to the store, share no state, end every process,
and fall back to cold when the warm parent is not there."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from studylog.paths import Workspace
from studylog.runner.events import RunFinished
from studylog.runner.process import Limits, ProcessResult, run_process
from studylog.runner.service import Runner, RunTarget, run_environment
from studylog.runner.warm import WarmParent
from studylog.settings import RunSettings, Settings
from studylog.store.db import open_store
from studylog.store.history import RunDetail, get_run
from studylog.store.index import index_notes
from studylog.store.queries import get_note
from tests.processes import gone_or_zombie, wait_for

READY_SECONDS = 180.0  # the warm parent imports torch: slow on a loaded machine


def _start_warm(root: Path, seed: int = 0) -> WarmParent:
    return WarmParent.start(root, run_environment(seed))


@pytest.fixture(scope="module")
def shared_warm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WarmParent]:
    """One warm parent for the tests that do not end it (torch is imported once)."""
    warm = _start_warm(tmp_path_factory.mktemp("warm"))
    yield warm
    warm.close()


class Notes:
    """A workspace with notes of one snippet each, a store and a runner."""

    def __init__(self, root: Path, warm: WarmParent | None) -> None:
        (root / "notes").mkdir(parents=True)
        self.workspace = Workspace(root)
        self.settings = Settings()
        self.db = open_store(self.workspace.db_path)
        self.runner = Runner(self.db, self.workspace, self.settings.run)
        self.runner.warm = warm
        self.count = 0

    def target(self, code: str, attrs: str = "") -> RunTarget:
        self.count += 1
        name = f"n{self.count}.md"
        fence = f"```python run {attrs}".rstrip()
        (self.workspace.notes_dir / name).write_text(f"# N\n\n{fence}\n{code}\n```\n")
        index_notes(self.db, self.workspace, self.settings)
        detail = get_note(self.db, name)
        return RunTarget(detail.summary.id, name, detail.snippets[0])

    async def run(self, target: RunTarget, **kw: object) -> tuple[RunFinished, RunDetail]:
        finished = await self.runner.run(target, **kw)  # type: ignore[arg-type]
        return finished, get_run(self.db, finished.run_id)

    def close(self, keep_warm: bool = True) -> None:
        if keep_warm:
            self.runner.warm = None
        self.runner.close()
        self.db.close()


@pytest.fixture
async def notes(tmp_path: Path, shared_warm: WarmParent) -> AsyncIterator[Notes]:
    assert await shared_warm.wait_ready(READY_SECONDS), shared_warm.failure
    made = Notes(tmp_path / "ws", shared_warm)
    yield made
    made.close()


# What a snippet can see of its process: each line compared between a warm and a cold run.
PROBE = """
import os, sys, random, resource, json
from studylog import track
print("cwd", os.getcwd())
print("argv", sys.argv)
print("env", sorted(k for k in os.environ if k != "STUDYLOG_RUN_TAG"))
print("hash", hash("studylog"))
print("random", random.random())
print("group", os.getpgrp() != os.getpid(), os.getsid(0) == os.getpgrp())
print("data limit", resource.getrlimit(resource.RLIMIT_DATA))
print("stdin", os.readlink("/proc/self/fd/0"))
print("fds", len(os.listdir("/proc/self/fd")))
print("threads", len(os.listdir("/proc/self/task")))
print("main", __name__, sys.modules["__main__"].__file__)
print("loaded", "torch" in sys.modules, "numpy" in sys.modules)
import numpy
print("numpy", numpy.random.rand())
track.param(lr=0.5)
track.log(step=0, loss=1.5)
print("err", file=sys.stderr)
"""


async def test_a_warm_run_is_the_same_as_a_cold_one(notes: Notes) -> None:
    warm_target = notes.target(PROBE)
    cold_target = notes.target(PROBE, "fresh=true")
    warm, warm_run = await notes.run(warm_target)
    cold, cold_run = await notes.run(cold_target)
    assert (warm.status, cold.status) == ("succeeded", "succeeded"), warm_run.stderr
    assert (warm_run.start_path, cold_run.start_path) == ("warm", "cold")
    assert warm_run.stdout.replace("n1.md", "nX.md") == cold_run.stdout.replace("n2.md", "nX.md")
    assert "loaded False False" in warm_run.stdout  # torch and NumPy hidden until imported
    assert "threads 1" in warm_run.stdout
    assert warm_run.stderr == cold_run.stderr == "err\n"
    assert warm_run.env == cold_run.env
    assert warm_run.env["numpy_imported"] is True and "torch_imported" not in warm_run.env
    assert warm_run.params == cold_run.params == {"lr": 0.5}
    assert [(m.name, m.points) for m in warm_run.metrics] == [("loss", 1)]
    assert warm.warnings == cold.warnings == []


async def test_a_warm_run_sees_no_state_of_the_run_before(notes: Notes) -> None:
    first = notes.target("import json, sys\njson.left_over = 1\nsys.modules['leftover'] = json")
    second = notes.target(
        "import json, sys\nprint(hasattr(json, 'left_over'), 'leftover' in sys.modules)"
    )
    one, _ = await notes.run(first)
    two, run = await notes.run(second)
    assert (one.status, two.status) == ("succeeded", "succeeded")
    assert run.start_path == "warm"
    assert run.stdout == "False False\n"


async def test_the_warm_parent_has_one_thread_and_stays_one(notes: Notes) -> None:
    await notes.run(notes.target("import numpy; a = numpy.ones((300, 300)); print((a @ a).sum())"))
    warm = notes.runner.warm
    assert warm is not None and warm.process is not None
    assert len(os.listdir(f"/proc/{warm.process.pid}/task")) == 1


@pytest.mark.torch
async def test_warm_torch_seeds_match_cold_and_threads_and_workers_finish(notes: Notes) -> None:
    code = """
import random, numpy, torch
from torch.utils.data import DataLoader, TensorDataset
print(torch.rand(3).tolist(), numpy.random.rand(), random.random(), hash("x"))
torch.set_num_threads(2)
w = torch.randn(64, 64, requires_grad=True)
loss = (torch.randn(256, 64) @ w).pow(2).mean()
loss.backward()
print("grad", w.grad.shape)
data = TensorDataset(torch.arange(64.0))
print("batches", sum(1 for _ in DataLoader(data, batch_size=8, num_workers=2)))
"""
    warm, warm_run = await notes.run(notes.target(code), timeout=300)
    cold, cold_run = await notes.run(notes.target(code, "fresh=true"), timeout=300)
    assert (warm.status, cold.status) == ("succeeded", "succeeded"), warm_run.stderr
    assert warm_run.start_path == "warm"
    assert warm_run.stdout == cold_run.stdout
    assert "batches 8" in warm_run.stdout
    assert warm_run.env["torch_imported"] is True
    assert warm_run.env == cold_run.env


async def test_another_seed_runs_cold_with_its_own_numbers(notes: Notes) -> None:
    target = notes.target("import random; print(random.random(), hash('s'))")
    seeded, run = await notes.run(target, seed=7)
    assert seeded.status == "succeeded"
    assert run.start_path == "cold"  # the warm parent's hash seed is the settings' (0)
    assert seeded.warnings == []


async def test_a_fork_and_a_setsid_in_a_warm_run_are_killed_at_its_end(
    notes: Notes, tmp_path: Path
) -> None:
    pids = tmp_path / "pids"
    code = f"""
import os, time
for leave_session in (False, True):
    if os.fork() == 0:
        if leave_session:
            os.setsid()
        with open({str(pids)!r}, "a") as f:
            f.write(f"{{os.getpid()}}\\n")
        time.sleep(600)
        os._exit(0)
while not os.path.exists({str(pids)!r}) or len(open({str(pids)!r}).read().split()) < 2:
    time.sleep(0.01)
print("left two behind")
"""
    finished, run = await notes.run(notes.target(code), timeout=120)
    assert finished.status == "succeeded" and run.start_path == "warm", run.stderr
    left = [int(pid) for pid in pids.read_text().split()]
    assert len(left) == 2
    wait_for(lambda: all(gone_or_zombie(pid) for pid in left), "the run's processes to end")


async def test_a_snippet_that_closes_every_descriptor_ends_as_a_cold_one(notes: Notes) -> None:
    code = "import os\nprint('before', flush=True)\nos.closerange(0, 65536)\nraise SystemExit(3)"
    warm, warm_run = await notes.run(notes.target(code))
    cold, cold_run = await notes.run(notes.target(code, "fresh=true"))
    assert warm_run.start_path == "warm"
    assert (warm.status, warm.exit_code) == (cold.status, cold.exit_code) == ("failed", 3)
    assert warm_run.stdout == cold_run.stdout == "before\n"


async def test_a_timeout_in_a_warm_run_kills_it(notes: Notes) -> None:
    finished, run = await notes.run(notes.target("import time\ntime.sleep(600)"), timeout=1)
    assert finished.status == "timed_out"
    assert run.start_path == "warm"


async def test_a_killed_warm_parent_means_one_cold_run_then_a_new_warm_parent(
    tmp_path: Path,
) -> None:
    notes = Notes(tmp_path / "ws", None)
    try:
        first = notes.runner.start_warm()
        assert await first.wait_ready(READY_SECONDS), first.failure
        target = notes.target("print('hello')")
        _, run = await notes.run(target)
        assert run.start_path == "warm"
        assert first.process is not None
        os.kill(first.process.pid, signal.SIGKILL)
        wait_for(lambda: first.process is not None and first.process.poll() is not None, "death")
        after, run = await notes.run(target)
        assert (after.status, run.start_path, run.stdout) == ("succeeded", "cold", "hello\n")
        assert any("warm parent" in warning for warning in after.warnings), after.warnings
        second = notes.runner.warm
        assert second is not None and second is not first
        assert await second.wait_ready(READY_SECONDS), second.failure
        again, run = await notes.run(target)
        assert (again.status, run.start_path, again.warnings) == ("succeeded", "warm", [])
    finally:
        notes.close(keep_warm=False)


def _zombies_of(pid: int) -> int:
    count = 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] == "Z" and int(fields[1]) == pid:
            count += 1
    return count


def _counts(warm: WarmParent) -> tuple[int, int, int, int, int, int]:
    assert warm.process is not None
    me, parent = os.getpid(), warm.process.pid
    return (
        len(os.listdir("/proc/self/fd")),
        len(os.listdir("/proc/self/task")),
        _zombies_of(me),
        len(os.listdir(f"/proc/{parent}/fd")),
        len(os.listdir(f"/proc/{parent}/task")),
        _zombies_of(parent),
    )


async def test_a_thousand_warm_runs_leak_no_descriptor_thread_or_zombie(
    shared_warm: WarmParent, tmp_path: Path
) -> None:
    assert await shared_warm.wait_ready(READY_SECONDS), shared_warm.failure
    code = tmp_path / "code.py"
    code.write_text("import sys\nprint('run', sys.argv[1])\n")
    env = run_environment(0)

    async def one(i: int) -> ProcessResult:
        spec = {"code_file": str(code), "filename": "code.py", "seed": 0, "args": [str(i)]}
        argv = [sys.executable, "-m", "studylog.runner.bootstrap", json.dumps(spec)]
        return await run_process(
            argv, cwd=tmp_path, env=env, limits=Limits(timeout=60), warm=shared_warm
        )

    await one(-1)

    def settled() -> tuple[int, int, int, int, int, int] | None:
        counts = _counts(shared_warm)
        return counts if counts[2] == 0 and counts[5] == 0 else None

    # Counted once the first run's supervisor is reaped (counted as a zombie, it made the
    # end never match: the end waits for the same reaping).
    before = wait_for(settled, "the first run's supervisor reaped", seconds=30)
    for i in range(1000):
        result = await one(i)
        assert (result.status, result.start_path, result.stdout) == (
            "succeeded",
            "warm",
            f"run {i}\n",
        ), result
    # The last supervisor is reaped by the warm parent's SIGCHLD handler: wait for it.
    wait_for(lambda: _counts(shared_warm) == before, f"counts back to {before}", seconds=30)


def test_run_show_json_says_how_the_run_started(
    tmp_path: Path,
) -> None:
    from click.testing import CliRunner

    from studylog.cli import cli

    root = tmp_path / "ws"
    (root / "notes").mkdir(parents=True)
    (root / "notes" / "a.md").write_text(
        "# A\n\n```python run name=one\nprint(1)\n```\n\n```python run name=two fresh=true\n"
        "print(2)\n```\n"
    )
    runner = CliRunner()
    result = runner.invoke(cli, ["--workspace", str(root), "run", "a.md", "--all", "--json"])
    assert result.exit_code == 0, result.output
    shown = runner.invoke(cli, ["--workspace", str(root), "runs", "show", "2", "--json"])
    assert json.loads(shown.output)["start_path"] == "cold"  # fresh=true
    first = runner.invoke(cli, ["--workspace", str(root), "runs", "show", "1", "--json"])
    assert json.loads(first.output)["start_path"] in ("warm", "cold")  # as ready as it was
    text = runner.invoke(cli, ["--workspace", str(root), "runs", "show", "2"])
    assert "cold (new)" in text.output


def test_wait_ready_gives_up_on_a_parent_that_cannot_start(tmp_path: Path) -> None:
    warm = WarmParent.start(tmp_path / "missing", run_environment(0))  # no such folder
    assert asyncio.run(warm.wait_ready(5)) is False
    assert warm.failure is not None and "cannot start" in warm.failure


async def test_the_tui_starts_a_warm_parent_after_its_first_paint_and_r_runs_warm(
    tmp_path: Path,
) -> None:
    from studylog.store.history import list_runs
    from studylog.tui.app import StudylogApp
    from tests.tui_helpers import make_workspace, settings, until

    ws = make_workspace(tmp_path)
    app = StudylogApp(ws, settings(), warm=True)
    async with app.run_test(size=(140, 45)) as pilot:
        screen: object = pilot.app.screen

        def warm() -> WarmParent | None:
            return app.run_session.runner.warm if "run_session" in app.__dict__ else None

        await until(pilot, lambda: getattr(screen, "notes", None), "the notes to load")
        await until(pilot, warm, "the warm parent to start")
        started = warm()
        assert started is not None
        await until(pilot, started.check_ready, "the warm parent to be ready", READY_SECONDS)
        screen.open_note("pytorch/2022-01-21-training.md")  # type: ignore[attr-defined]
        await until(pilot, lambda: getattr(screen, "snippet", None) == "train", "the note")
        await pilot.press("r")
        await until(pilot, lambda: list_runs(app.db), "the run to start")
        await until(pilot, lambda: getattr(screen, "running", 1) is None, "the run", 120)
        (run,) = list_runs(app.db)
        assert run.status == "succeeded"
        assert get_run(app.db, run.id).start_path == "warm"
        assert started.process is not None
        pid = started.process.pid
    wait_for(lambda: gone_or_zombie(pid), "the warm parent to end with the app")


async def test_a_memory_limit_too_small_for_a_fork_runs_cold(tmp_path: Path) -> None:
    notes = Notes(tmp_path / "ws", None)
    try:
        warm = notes.runner.start_warm()
        assert await warm.wait_ready(READY_SECONDS), warm.failure
        assert warm.data_size > 0
        # Room for a small cold run, not for a fork that starts with torch in memory.
        limit_mb = max(64, warm.data_size // 2**20 // 2)
        notes.runner.settings = RunSettings(memory_limit_mb=limit_mb)
        finished, run = await notes.run(notes.target("print('small')"))
        assert (finished.status, run.start_path, run.stdout) == ("succeeded", "cold", "small\n")
        assert finished.warnings == []
    finally:
        notes.close(keep_warm=False)


async def test_a_warm_run_ends_as_python_does_threads_atexit_open_files(
    notes: Notes, tmp_path: Path
) -> None:
    code = """
import atexit, sys, threading, time
out = open(sys.argv[0] + ".left-open", "w")
out.write("flushed at exit")  # never closed
atexit.register(lambda: print("atexit ran"))
threading.Thread(target=lambda: (time.sleep(0.3), print("thread finished"))).start()
print("main done")
"""
    for attrs, path in (("", "warm"), ("fresh=true", "cold")):
        target = notes.target(code, attrs)
        finished, run = await notes.run(target)
        assert (finished.status, run.start_path) == ("succeeded", path), run.stderr
        assert run.stdout == "main done\nthread finished\natexit ran\n"
        left = notes.workspace.root / f"notes/{target.note_path}.left-open"
        assert left.read_text() == "flushed at exit"
