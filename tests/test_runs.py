"""Running snippets through the runner service into a real store, with tiny Python children
(torch only where torch is the point): statuses, limits, seeds, the metric channel, history."""

from __future__ import annotations

import asyncio
import textwrap

import pytest

from studylog.runner.events import MetricPoints, OutputLine, RunEvent, RunStarted
from studylog.runner.service import Runner, RunTarget
from studylog.runner.snippets import RunError, snippet_states
from studylog.settings import RunSettings, Settings
from studylog.store.db import open_store
from studylog.store.history import get_run, list_runs, series
from studylog.store.index import index_notes
from studylog.store.queries import get_note


class Lab:
    """A workspace with a store, where a test writes a note with a snippet and runs it."""

    def __init__(self, workspace, write_note, run_settings: RunSettings) -> None:
        self.workspace = workspace
        self.write_note = write_note
        self.db = open_store(workspace.db_path)
        self.settings = Settings(run=run_settings)
        self.events: list[RunEvent] = []

    def note(self, code: str, name: str = "s", path: str = "lab.md", **attrs: object) -> str:
        extra = "".join(f" {k}={v}" for k, v in attrs.items())
        self.write_note(
            path,
            f"# Lab\n\n```python run name={name}{extra}\n{textwrap.dedent(code).strip()}\n```\n",
        )
        index_notes(self.db, self.workspace, self.settings)
        return path

    def target(self, path: str = "lab.md", name: str | None = None) -> RunTarget:
        detail = get_note(self.db, path)
        snippet = (
            detail.snippets[0]
            if name is None
            else next(s for s in detail.snippets if s.name == name)
        )
        return RunTarget(detail.summary.id, path, snippet)

    async def run(self, code: str | None = None, *, cancel=None, seed=None, timeout=None, **attrs):
        if code is not None:
            self.note(code, **attrs)
        runner = Runner(self.db, self.workspace, self.settings.run)
        finished = await runner.run(
            self.target(), seed=seed, timeout=timeout, on_event=self.events.append, cancel=cancel
        )
        return get_run(self.db, finished.run_id)

    def output_lines(self) -> list[str]:
        return [e.line for e in self.events if isinstance(e, OutputLine)]


@pytest.fixture
def lab(workspace, write_note):
    lab = Lab(workspace, write_note, RunSettings(timeout=60, memory_limit_mb=1024))
    yield lab
    lab.db.close()


async def test_a_run_is_recorded_with_its_output_code_seed_and_environment(lab):
    run = await lab.run("print('hello 안녕')\nimport sys; print('warn', file=sys.stderr)")
    s = run.summary
    assert (s.status, s.exit_code, s.seed) == ("succeeded", 0, 0)
    assert run.stdout == "hello 안녕\n" and run.stderr == "warn\n"
    assert run.code.startswith("print('hello 안녕')")
    assert s.note_path == "lab.md" and s.snippet == "s" and run.source == "fence"
    assert run.env["python"] and run.env["studylog"] and "platform" in run.env
    assert s.duration is not None and run.ended is not None
    assert isinstance(lab.events[0], RunStarted)
    assert lab.output_lines()[0] == "hello 안녕\n"


async def test_failure_names_the_note_line_in_its_traceback(lab):
    run = await lab.run("x = 1\nraise ValueError('bad shape (3, 4)')")
    assert run.summary.status == "failed" and run.summary.exit_code == 1
    assert run.summary.last_error == "ValueError: bad shape (3, 4)"
    # The fence opens on line 3 of the note: its second line is line 5.
    assert 'File "notes/lab.md", line 5' in run.stderr
    assert "raise ValueError" in run.stderr  # the source line, read from the note
    assert "bootstrap" not in run.stderr


async def test_snippet_timeout_attribute_times_out_and_is_recorded(lab):
    lab.note("while True: pass", timeout="0.5")
    run = await lab.run()
    assert run.summary.status == "timed_out"
    assert run.timeout == 0.5
    assert list_runs(lab.db)[0].status == "timed_out"


async def test_timeout_option_overrides_the_snippet_attribute(lab):
    lab.note("import time; time.sleep(30)", timeout="60")
    run = await lab.run(timeout=0.3)
    assert run.summary.status == "timed_out" and run.timeout == 0.3


async def test_unbounded_allocation_is_out_of_memory_and_recorded(lab, workspace, write_note):
    lab.settings = Settings(run=RunSettings(timeout=60, memory_limit_mb=400))
    run = await lab.run("blocks = []\nwhile True: blocks.append(bytearray(20_000_000))")
    assert run.summary.status == "out_of_memory"
    assert "MemoryError" in run.summary.last_error
    assert run.memory_limit_mb == 400


@pytest.mark.parametrize(
    ("code", "signal_name"),
    [("import os; os.abort()", "SIGABRT"), ("import ctypes; ctypes.string_at(0)", "SIGSEGV")],
)
async def test_crash_is_recorded_with_its_signal(lab, code, signal_name):
    run = await lab.run(code)
    assert run.summary.status == "crashed" and run.summary.signal == signal_name
    assert run.summary.exit_code is None


async def test_cancel_ends_the_run_as_cancelled(lab):
    cancel = asyncio.Event()
    lab.note("import time\nprint('started', flush=True)\ntime.sleep(60)")

    def on_event(event):
        if isinstance(event, OutputLine) and event.line == "started\n":
            cancel.set()

    runner = Runner(lab.db, lab.workspace, lab.settings.run)
    finished = await runner.run(lab.target(), on_event=on_event, cancel=cancel)
    run = get_run(lab.db, finished.run_id)
    assert run.summary.status == "cancelled" and run.stdout == "started\n"


async def test_cancelling_the_callers_task_still_records_the_run(lab):
    lab.note("import time\nprint('started', flush=True)\ntime.sleep(60)")
    started = asyncio.Event()
    runner = Runner(lab.db, lab.workspace, lab.settings.run)

    def on_event(event: RunEvent) -> None:
        if isinstance(event, OutputLine):
            started.set()

    task = asyncio.ensure_future(runner.run(lab.target(), on_event=on_event))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    (run,) = list_runs(lab.db)
    assert run.status == "cancelled"


async def test_a_flood_of_output_is_capped_and_the_caller_keeps_running(lab):
    # 200 MB of output: stored head and tail with a marker, while the caller's loop goes on.
    code = "import sys\nline = 'x' * 999 + '\\n'\nfor i in range(200_000): sys.stdout.write(line)"
    ticks = 0
    done = False

    async def ticker():
        nonlocal ticks
        while not done:
            ticks += 1
            await asyncio.sleep(0)

    other = asyncio.ensure_future(ticker())
    run = await lab.run(code)
    done = True
    await other
    assert run.summary.status == "succeeded"
    assert run.truncated and "left out" in run.stdout
    assert len(run.stdout) < 1_100_000
    assert len(lab.output_lines()) == 200_000
    assert ticks > 100  # the event loop ran other work throughout the flood


@pytest.mark.torch
async def test_seeds_make_random_numpy_and_torch_repeat(lab):
    code = """
        import random, numpy, torch
        print(random.random(), numpy.random.rand(), torch.rand(1).item())
    """
    first = await lab.run(code)
    again = await lab.run(code)
    other = await lab.run(code, seed=1)
    assert first.summary.status == "succeeded", first.stderr
    assert first.stdout == again.stdout
    assert first.stdout != other.stdout and other.summary.seed == 1
    assert first.env["torch_imported"] and first.env["numpy_imported"]
    assert first.env["torch"] and first.env["numpy"]
    assert first.env["cuda_available"] in (True, False)


async def test_a_snippet_that_never_imports_torch_does_not_load_it(lab):
    run = await lab.run("import sys; print('torch' in sys.modules, 'numpy' in sys.modules)")
    assert run.stdout == "False False\n"
    assert "torch_imported" not in run.env


async def test_tracked_metrics_and_params_are_stored(lab):
    run = await lab.run(
        """
        from studylog import track
        track.param(lr=0.1, optimizer="sgd", layers=[2, 3])
        for step in range(1000):
            track.log(step=step * 10, loss=1 / (step + 1), acc=step / 1000)
        track.log_metric("val_loss", float("nan"), step=5)
        """
    )
    assert run.summary.status == "succeeded", run.stderr
    assert run.params == {"lr": 0.1, "optimizer": "sgd", "layers": [2, 3]}
    assert [m.name for m in run.metrics] == ["loss", "acc", "val_loss"]
    assert [m.points for m in run.metrics] == [1000, 1000, 1]
    assert run.summary.final_metrics["loss"] == pytest.approx(0.001)
    assert run.summary.final_metrics["val_loss"] is None  # NaN is kept as a missing value
    loss = series(lab.db, run.summary.id, "loss", max_points=None)
    assert loss[:2] == [(0, 1.0), (10, 0.5)] and len(loss) == 1000
    live = [e for e in lab.events if isinstance(e, MetricPoints)]
    assert sum(len(e.by_name().get("loss", [])) for e in live) == 1000
    assert live[-1].latest()["acc"] == (9990, 0.999)


async def test_many_points_all_arrive(lab):
    run = await lab.run(
        "from studylog import track\nfor i in range(200_000): track.log(step=i, loss=i * 0.5)"
    )
    assert run.summary.status == "succeeded"
    assert run.metrics[0].points == 200_000
    assert run.metrics[0].last_value == 99_999.5


async def test_garbage_on_the_metric_channel_is_ignored_with_a_warning(lab):
    run = await lab.run(
        """
        import os
        from studylog import track
        fd = int(os.environ["STUDYLOG_TRACK_FD"])
        track.log(step=0, loss=1.0)
        track.flush()
        os.write(fd, b"garbage \\xff\\n" + b'{"points": {"key": "!!"}}\\n' + b"[1, 2]\\n")
        track.log(step=1, loss=0.5)
        print("still going")
        """
    )
    assert run.summary.status == "succeeded"
    assert run.stdout == "still going\n"
    assert run.metrics[0].points == 2
    assert any("metric channel" in w for w in run.warnings)
    assert "garbage" in " ".join(run.warnings)


async def test_printing_garbage_to_stdout_does_not_touch_the_metrics(lab):
    run = await lab.run(
        """
        import sys
        from studylog import track
        sys.stdout.buffer.write(b'{"points": {}}\\n\\xff\\xfe\\n')
        track.log(step=0, loss=2.0)
        """
    )
    assert run.summary.status == "succeeded" and run.warnings == []
    assert run.summary.final_metrics == {"loss": 2.0}


async def test_dataloader_workers_sending_nothing_twice(lab):
    # A forked worker inherits the buffered points; only the parent snippet may send them.
    run = await lab.run(
        """
        import os
        from studylog import track
        track.log(step=0, loss=1.0)
        pid = os.fork()
        if pid == 0:
            track.flush()
            os._exit(0)
        os.waitpid(pid, 0)
        """
    )
    assert run.summary.status == "succeeded"
    assert run.metrics[0].points == 1
    assert run.warnings == []  # the worker's copy was never sent (not even as a repeat)


async def test_a_linked_experiment_runs_as_its_own_file_with_args(lab, workspace, write_note):
    (workspace.experiments_dir / "helper.py").write_text("VALUE = 42\n")
    (workspace.experiments_dir / "exp.py").write_text(
        "import sys\nfrom helper import VALUE\nprint(VALUE, sys.argv[1:], __name__)\n"
    )
    write_note(
        "exp.md",
        "---\nsnippets:\n  - path: experiments/exp.py\n    name: fast\n    args: --lr 0.5\n---\n"
        "# Exp\n",
    )
    index_notes(lab.db, workspace, lab.settings)
    detail = get_note(lab.db, "exp.md")
    runner = Runner(lab.db, workspace, lab.settings.run)
    finished = await runner.run(RunTarget(detail.summary.id, "exp.md", detail.snippets[0]))
    run = get_run(lab.db, finished.run_id)
    assert run.stdout == "42 ['--lr', '0.5'] __main__\n", run.stderr
    assert run.args == ["--lr", "0.5"] and run.snippet_path == "experiments/exp.py"


async def test_a_missing_linked_file_is_a_clear_error(lab, workspace, write_note):
    write_note("gone.md", "# Gone\n\n[code](../experiments/missing.py)\n")
    index_notes(lab.db, workspace, lab.settings)
    detail = get_note(lab.db, "gone.md")
    runner = Runner(lab.db, workspace, lab.settings.run)
    with pytest.raises(
        RunError, match=r"experiments/missing.py: the snippet's file does not exist"
    ):
        await runner.run(RunTarget(detail.summary.id, "gone.md", detail.snippets[0]))
    assert list_runs(lab.db) == []


async def test_stale_when_the_code_changed_since_the_latest_run(lab, workspace):
    await lab.run("print(1)")
    (state,) = snippet_states(lab.db, workspace, get_note(lab.db, "lab.md"))
    assert (state.badge, state.stale) == ("succeeded", False)
    lab.note("print(2)")
    (state,) = snippet_states(lab.db, workspace, get_note(lab.db, "lab.md"))
    assert (state.badge, state.stale) == ("stale", True)
    await lab.run()
    (state,) = snippet_states(lab.db, workspace, get_note(lab.db, "lab.md"))
    assert state.badge == "succeeded" and not state.stale


async def test_reindexing_keeps_runs_and_a_moved_note_keeps_its_history(lab, workspace):
    run = await lab.run("print(1)", path="lab.md")
    note_id = run.summary.note_id
    moved = workspace.notes_dir / "sub" / "moved.md"
    moved.parent.mkdir()
    (workspace.notes_dir / "lab.md").rename(moved)
    index_notes(lab.db, workspace, lab.settings, full=True)
    assert get_note(lab.db, "sub/moved.md").summary.id == note_id
    assert [r.id for r in list_runs(lab.db, note_id=note_id)] == [run.summary.id]
    moved.unlink()
    index_notes(lab.db, workspace, lab.settings)
    assert [r.id for r in list_runs(lab.db)] == [run.summary.id]  # the note is gone, not its run


def test_a_run_left_running_by_a_dead_studylog_is_interrupted_on_open(workspace):
    import os
    import subprocess
    import sys

    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead_pid = int(dead.stdout)
    db = open_store(workspace.db_path)
    insert = (
        "INSERT INTO runs (note_path, snippet, source, code, code_hash, seed, status, started, "
        "owner_pid) VALUES ('a.md', 's', 'fence', '', '', 0, 'running', '2026-01-01', ?)"
    )
    with db.conn:
        db.execute(insert, [dead_pid])
        db.execute(insert, [os.getpid()])  # still ours: another studylog's live run
    db.close()
    db = open_store(workspace.db_path)
    statuses = [r.status for r in list_runs(db)]
    db.close()
    assert statuses == ["running", "interrupted"]


def test_series_reduction_keeps_spikes(memory_db):
    memory_db.execute(
        "INSERT INTO runs (id, note_path, snippet, source, code, code_hash, seed, status, started)"
        " VALUES (1, 'a.md', 's', 'fence', '', '', 0, 'succeeded', '2026-01-01')"
    )
    memory_db.execute("INSERT INTO metric_keys VALUES (1, 0, 'loss')")
    rows = [(1, 0, i, i, 1.0 + (i % 7) * 0.01, i) for i in range(100_000)]
    rows[54_321] = (1, 0, 54_321, 54_321, 1000.0, 0)
    rows[77_777] = (1, 0, 77_777, 77_777, -5.0, 0)
    memory_db.conn.executemany("INSERT INTO metrics VALUES (?, ?, ?, ?, ?, ?)", rows)
    reduced = series(memory_db, 1, "loss", max_points=300)
    assert len(reduced) <= 600
    assert (54_321, 1000.0) in reduced and (77_777, -5.0) in reduced
    steps = [s for s, _ in reduced]
    assert steps == sorted(steps)
    assert len(series(memory_db, 1, "loss", max_points=None)) == 100_000


def test_one_bad_point_does_not_lose_its_batch(memory_db):
    from studylog.protocol import Columns
    from studylog.store.metrics import MetricWriter

    memory_db.execute(
        "INSERT INTO runs (id, note_path, snippet, source, code, code_hash, seed, status, started)"
        " VALUES (1, 'a.md', 's', 'fence', '', '', 0, 'running', '2026-01-01')"
    )
    writer = MetricWriter(memory_db, 1)
    writer.add_key(0, "loss")
    unbindable = {"not": "a number"}  # the batch fails, and is retried point by point
    writer.add_points(
        # A value of the wrong type on purpose: what SQLite cannot bind.
        Columns([0, 0, 0, 0], [0, 1, 2, 2], [0, 1, 2, 9], [1.0, unbindable, 0.5, 9.0], [0] * 4)  # type: ignore[list-item]
    )
    writer.flush()
    assert series(memory_db, 1, "loss", max_points=None) == [(0, 1.0), (2, 0.5)]
    assert writer.rejected == 2  # the unbindable point and the repeated place
