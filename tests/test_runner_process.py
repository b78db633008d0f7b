"""The child-process runner with tiny Python children: statuses, limits, output, groups."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import textwrap

import pytest

from studylog.runner.output import CappedOutput
from studylog.runner.process import Limits, run_process
from tests.processes import gone_or_zombie


async def run(code: str, tmp_path, **kw):
    return await run_process([sys.executable, "-c", textwrap.dedent(code)], cwd=tmp_path, **kw)


async def test_success_streams_lines_in_order(tmp_path):
    lines = []
    result = await run(
        "import sys\nprint('one', flush=True)\nprint('err', file=sys.stderr)\nprint('two')",
        tmp_path,
        on_line=lambda stream, line: lines.append((stream, line)),
    )
    assert result.status == "succeeded" and result.exit_code == 0
    assert [line for s, line in lines if s == "stdout"] == ["one\n", "two\n"]
    assert ("stderr", "err\n") in lines
    assert result.stdout == "one\ntwo\n"
    assert result.last_error is None


async def test_working_directory_is_the_given_folder(tmp_path):
    result = await run("import os; print(os.getcwd())", tmp_path)
    assert result.stdout.strip() == str(tmp_path)


async def test_failure_keeps_the_last_error_line(tmp_path):
    result = await run("raise ValueError('bad shape (3, 4)')", tmp_path)
    assert result.status == "failed" and result.exit_code == 1
    assert result.last_error == "ValueError: bad shape (3, 4)"


async def test_infinite_loop_is_timed_out_and_killed(tmp_path):
    result = await run("while True: pass", tmp_path, limits=Limits(timeout=0.5))
    assert result.status == "timed_out"
    assert result.signal == "SIGKILL"


@pytest.mark.parametrize(
    ("code", "signal_name"),
    [
        ("import os; os.abort()", "SIGABRT"),
        ("import ctypes; ctypes.string_at(0)", "SIGSEGV"),
    ],
)
async def test_crash_names_the_signal(tmp_path, code, signal_name):
    result = await run(code, tmp_path)
    assert result.status == "crashed"
    assert result.signal == signal_name


async def test_unbounded_allocation_is_out_of_memory(tmp_path):
    code = "blocks = []\nwhile True: blocks.append(bytearray(50_000_000))"
    result = await run(code, tmp_path, limits=Limits(memory_mb=500, timeout=60))
    assert result.status == "out_of_memory"
    assert "MemoryError" in result.last_error


async def test_stdin_is_closed(tmp_path):
    result = await run(
        "import sys; print(repr(sys.stdin.read()))", tmp_path, limits=Limits(timeout=10)
    )
    assert result.status == "succeeded"
    assert result.stdout == "''\n"


async def test_invalid_bytes_on_stdout_are_replaced(tmp_path):
    result = await run("import sys; sys.stdout.buffer.write(b'ok \\xff\\xfe end\\n')", tmp_path)
    assert result.status == "succeeded"
    assert result.stdout == "ok \ufffd\ufffd end\n"


async def test_flood_of_output_is_capped_head_and_tail(tmp_path):
    code = "import sys\nfor i in range(2_000_000): sys.stdout.write(f'line {i}\\n')"
    seen = 0

    def count(stream, line):
        nonlocal seen
        seen += 1

    result = await run(code, tmp_path, limits=Limits(output_cap=10_000, timeout=120), on_line=count)
    assert result.status == "succeeded"
    assert seen == 2_000_000
    assert result.stdout.startswith("line 0\n")
    assert result.stdout.endswith("line 1999999\n")
    assert "lines (" in result.stdout and "left out" in result.stdout
    assert len(result.stdout) < 12_000
    assert result.truncated


async def test_a_long_line_without_newline_arrives_in_pieces(tmp_path):
    result = await run("print('x' * 1_000_000, end='')", tmp_path, limits=Limits(output_cap=10_000))
    assert result.status == "succeeded"
    assert len(result.stdout) < 200_000


async def test_grandchild_is_killed_with_the_group(tmp_path):
    pid_file = tmp_path / "grandchild.pid"
    code = f"""
        import subprocess, sys
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
        open({str(pid_file)!r}, "w").write(str(child.pid))
    """
    try:
        # A surviving grandchild would hold the output pipes open and the run would not end.
        result = await asyncio.wait_for(run(code, tmp_path, limits=Limits(timeout=30)), 20)
        assert result.status == "succeeded"
        pid = int(pid_file.read_text())
        assert await _exits_within(pid, seconds=10)
    finally:
        if pid_file.exists():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid_file.read_text()), signal.SIGKILL)


async def _exits_within(pid: int, seconds: float) -> bool:
    """True once `pid` no longer runs. SIGKILL is delivered asynchronously: a killed process
    closes its files (so the run can end) a moment before it becomes a zombie, so poll."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        if gone_or_zombie(pid):
            return True
        await asyncio.sleep(0.01)
    return False


async def test_cancel_kills_a_running_child(tmp_path):
    cancel = asyncio.Event()
    started = asyncio.Event()

    def on_line(stream, line):
        started.set()

    task = asyncio.create_task(
        run(
            "import time\nprint('go', flush=True)\ntime.sleep(60)",
            tmp_path,
            cancel=cancel,
            on_line=on_line,
        )
    )
    await asyncio.wait_for(started.wait(), 30)
    cancel.set()
    result = await asyncio.wait_for(task, 30)
    assert result.status == "cancelled"
    assert result.stdout == "go\n"


def test_capped_output_keeps_everything_under_the_cap():
    out = CappedOutput(cap=100)
    for i in range(5):
        out.add(f"{i}\n")
    assert out.text() == "0\n1\n2\n3\n4\n"
    assert out.last_line() == "4"
