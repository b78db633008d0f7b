"""What a run cost (peak memory and CPU time of its process tree, CUDA peaks when it used
CUDA) and opt-in system metrics, with real runs of tiny Python children into a real store."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from studylog.paths import Workspace
from studylog.runner.sampler import CPU, MEMORY
from studylog.runner.service import Runner, RunTarget
from studylog.settings import RunSettings, Settings
from studylog.store.db import open_store
from studylog.store.history import RunDetail, get_run, metric_names, series
from studylog.store.index import index_notes
from studylog.store.queries import get_note
from studylog.store.runs import MB, RunCost
from tests.conftest import Cli


class Lab:
    """A workspace with a store: write a note with one snippet, run it, read the run back."""

    def __init__(self, workspace: Workspace, write_note: Callable[..., Path]) -> None:
        self.workspace = workspace
        self.write_note = write_note
        self.db = open_store(workspace.db_path)

    async def run(
        self, code: str, *, run_settings: RunSettings | None = None, **attrs: object
    ) -> RunDetail:
        settings = Settings(run=run_settings or RunSettings(timeout=60, memory_limit_mb=2048))
        extra = "".join(f" {k}={v}" for k, v in attrs.items())
        self.write_note(
            "lab.md",
            f"# Lab\n\n```python run name=s{extra}\n{textwrap.dedent(code).strip()}\n```\n",
        )
        index_notes(self.db, self.workspace, settings)
        detail = get_note(self.db, "lab.md")
        target = RunTarget(detail.summary.id, "lab.md", detail.snippets[0])
        runner = Runner(self.db, self.workspace, settings.run)
        try:
            finished = await runner.run(target)
        finally:
            runner.close()
        return get_run(self.db, finished.run_id)


@pytest.fixture
def lab(workspace: Workspace, write_note: Callable[..., Path]) -> Iterator[Lab]:
    lab = Lab(workspace, write_note)
    yield lab
    lab.db.close()


def _cost(run: RunDetail) -> RunCost:
    assert run.summary.status == "succeeded", run.stderr
    return run.summary.cost


async def test_peak_memory_grows_with_a_snippet_that_holds_200_mb(lab: Lab) -> None:
    small = _cost(await lab.run("x = 1"))
    # Every page written, so it is resident (bytes(n) could leave it untouched).
    big = _cost(await lab.run("block = b'x' * (200 * 1024 * 1024)\nprint(len(block))"))
    assert small.peak_memory is not None and big.peak_memory is not None
    assert small.peak_memory > 1 * MB  # an interpreter at least
    assert big.peak_memory - small.peak_memory >= 180 * MB


async def test_cpu_time_counts_the_whole_tree_busy_against_asleep(lab: Lab) -> None:
    # The busy work is done by a grandchild: the supervisor's RUSAGE_CHILDREN covers it.
    busy_code = """
        import subprocess, sys
        burn = "import time\\nt = time.process_time()\\nwhile time.process_time() - t < 0.6: pass"
        subprocess.run([sys.executable, "-c", burn], check=True)
    """
    busy = _cost(await lab.run(busy_code))
    asleep = _cost(await lab.run("import time\ntime.sleep(0.6)"))
    assert busy.cpu_seconds is not None and asleep.cpu_seconds is not None
    assert busy.cpu_seconds >= 0.6
    assert asleep.cpu_seconds < busy.cpu_seconds - 0.3


async def test_a_failed_run_records_its_cost_too(lab: Lab) -> None:
    run = await lab.run("raise ValueError('boom')")
    assert run.summary.status == "failed"
    assert run.summary.cost.peak_memory is not None and run.summary.cost.cpu_seconds is not None


def test_cost_shown_in_runs_show_json_and_text(
    run_cli: Cli, write_note: Callable[..., Path]
) -> None:
    write_note("c.md", "# C\n\n```python run name=c\nblock = b'x' * (50 * 1024 * 1024)\n```\n")
    run_cli("run", "c")
    shown = run_cli.json("runs", "show", "1")
    assert isinstance(shown, dict)
    cost = shown["cost"]
    assert set(cost) == {"peak_memory_mb", "cpu_seconds", "cuda"}
    assert cost["peak_memory_mb"] >= 50 and cost["cpu_seconds"] > 0 and cost["cuda"] is None
    # DESIGN.md's keys: environment and output (not env, stdout, stderr)
    assert shown["environment"]["python"] and set(shown["output"]) == {"stdout", "stderr"}
    assert not {"env", "stdout", "stderr"} & set(shown)
    text = run_cli("runs", "show", "1").stdout
    assert f"peak {cost['peak_memory_mb']:,.0f} MB" in text and "CPU " in text


async def test_cuda_peaks_reported_by_the_child_are_recorded(lab: Lab) -> None:
    """The path of the CUDA fields (child → channel → store → runs show) on a CPU machine: the
    message the bootstrap sends at exit, sent by the snippet itself."""
    code = """
        from studylog import track
        track._channel.send({"cost": {"cuda_device": "Fake GPU", "cuda_peak_allocated": 3 << 30,
                                      "cuda_peak_reserved": 4 << 30, "cuda_bogus": "x"}})
    """
    run = await lab.run(code)
    cost = _cost(run)
    assert (cost.cuda_device, cost.cuda_peak_allocated, cost.cuda_peak_reserved) == (
        "Fake GPU",
        3 << 30,
        4 << 30,
    )
    assert cost.to_json()["cuda"] == {
        "device": "Fake GPU",
        "peak_allocated_mb": 3072.0,
        "peak_reserved_mb": 4096.0,
    }
    assert "CUDA Fake GPU: 3,072 MB allocated, 4,096 MB reserved" in cost.text()
    assert any("ignored cost cuda_bogus='x'" in w for w in run.warnings)


@pytest.mark.torch
async def test_a_torch_cpu_snippet_records_no_cuda_fields(lab: Lab) -> None:
    run = await lab.run("import torch\nprint((torch.ones(64) @ torch.ones(64)).item())")
    cost = _cost(run)
    assert run.stdout == "64.0\n"
    assert cost.cuda_device is None and cost.cuda_peak_allocated is None
    assert cost.to_json()["cuda"] is None and "CUDA" not in cost.text()
    assert cost.peak_memory is not None and cost.peak_memory > 50 * MB  # torch is big


@pytest.mark.gpu
@pytest.mark.torch
async def test_a_cuda_snippet_records_its_device_and_peaks(lab: Lab) -> None:
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    code = """
        import torch
        x = torch.empty(256 * 1024 * 1024, dtype=torch.uint8, device="cuda")
        del x
    """
    cost = _cost(await lab.run(code))
    assert cost.cuda_device == torch.cuda.get_device_name(0)
    assert cost.cuda_peak_allocated is not None and cost.cuda_peak_allocated >= 256 * MB
    assert cost.cuda_peak_reserved is not None
    assert cost.cuda_peak_reserved >= cost.cuda_peak_allocated


def _wait_for_samples(db_path: Path, name: str, count: int) -> str:
    """A snippet that waits (60 s at most) until the store holds `count` points of `name`."""
    return f"""
        import sqlite3, sys, time
        db = sqlite3.connect({str(db_path)!r})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            (n,) = db.execute(
                "SELECT count(*) FROM metrics m JOIN metric_keys k"
                " ON k.run_id = m.run_id AND k.key = m.key WHERE k.name = ?", [{name!r}]
            ).fetchone()
            if n >= {count}:
                print("sampled")
                break
            time.sleep(0.05)
        else:
            sys.exit("no system metrics in 60 s")
    """


def _nvml_works() -> bool:
    import pynvml

    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        return False
    pynvml.nvmlShutdown()
    return True


async def test_system_metrics_sample_the_tree_as_a_metric_group(lab: Lab) -> None:
    run = await lab.run(_wait_for_samples(lab.workspace.db_path, CPU, 2), system_metrics="true")
    assert run.summary.status == "succeeded", run.stderr
    assert run.stdout == "sampled\n"
    names = metric_names(lab.db, run.summary.id)
    assert {CPU, MEMORY} <= set(names)
    assert len(series(lab.db, run.summary.id, CPU)) >= 2
    memory = series(lab.db, run.summary.id, MEMORY)
    assert memory and all(value > 1 for _, value in memory)  # MB: an interpreter at least
    # no GPU: one warning says so, the rest was sampled
    if not _nvml_works():
        gpu = [w for w in run.warnings if "no GPU sampled" in w]
        assert len(gpu) == 1 and "CPU and memory were" in gpu[0]
        assert not any(name.startswith("system/gpu") for name in names)


async def test_system_metrics_from_the_settings_and_a_snippet_saying_no(lab: Lab) -> None:
    on = RunSettings(timeout=60, system_metrics=True)
    sampled = await lab.run(_wait_for_samples(lab.workspace.db_path, MEMORY, 1), run_settings=on)
    assert sampled.stdout == "sampled\n", sampled.stderr
    assert MEMORY in metric_names(lab.db, sampled.summary.id)
    quiet = await lab.run("print('no samples')", run_settings=on, system_metrics="false")
    assert not [n for n in metric_names(lab.db, quiet.summary.id) if n.startswith("system/")]
    odd = await lab.run("print(1)", system_metrics="maybe")
    assert any("system_metrics=maybe is neither true nor false" in w for w in odd.warnings)
    assert not metric_names(lab.db, odd.summary.id)


@pytest.mark.gpu
async def test_system_metrics_sample_the_gpu_where_there_is_one(lab: Lab) -> None:
    if not _nvml_works():
        pytest.skip("needs an NVIDIA GPU with NVML")
    run = await lab.run(
        _wait_for_samples(lab.workspace.db_path, "system/gpu_util", 1), system_metrics="true"
    )
    assert run.summary.status == "succeeded", run.stderr
    names = metric_names(lab.db, run.summary.id)
    assert any(n.startswith("system/gpu") and n.endswith("_memory_mb") for n in names)
    assert not [w for w in run.warnings if "no GPU" in w]


def test_settings_read_system_metrics(tmp_path: Path) -> None:
    from studylog.settings import SettingsError, load_settings

    path = tmp_path / "studylog.toml"
    path.write_text("[run]\nsystem_metrics = true\n", encoding="utf-8")
    assert load_settings(path).run.system_metrics is True
    path.write_text('[run]\nsystem_metrics = "yes"\n', encoding="utf-8")
    with pytest.raises(SettingsError, match="system_metrics should be a bool"):
        load_settings(path)


def test_cost_json_of_a_run_not_measured() -> None:
    assert RunCost().to_json() == {"peak_memory_mb": None, "cpu_seconds": None, "cuda": None}
    assert RunCost().text() == ""
    assert json.dumps(RunCost(peak_memory=MB, cpu_user=0.5, cpu_system=0.25).to_json()) == (
        '{"peak_memory_mb": 1.0, "cpu_seconds": 0.75, "cuda": null}'
    )


async def test_a_run_from_before_costs_were_kept_reads_as_unknown(lab: Lab) -> None:
    run = await lab.run("print(1)")
    with lab.db.conn:  # as a run recorded before m007_run_cost: no cost row
        lab.db.execute("DELETE FROM run_cost WHERE run_id = ?", [run.summary.id])
    again = get_run(lab.db, run.summary.id)
    assert again.summary.cost == RunCost() and again.stdout == "1\n"
    assert again.to_json()["cost"] == {"peak_memory_mb": None, "cpu_seconds": None, "cuda": None}
