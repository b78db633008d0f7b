"""System metrics of a running run, sampled in the studylog process (never in the child):
once a second the CPU % and memory of the run's process tree (psutil), and where NVIDIA's
management library answers, each GPU's utilisation and memory in use (nvidia-ml-py). They
are a metric group of the run, `system/...`, drawn like any curve.

Opt-in (`system_metrics = true` in `[run]` of studylog.toml, or a snippet's
`system_metrics=true`): a run that does not ask pays nothing."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import psutil

from studylog.protocol import Columns

SAMPLE_SECONDS = 1.0
# The sampler's metric keys start here: far above the keys a snippet's `track` hands out
# (0, 1, 2, ... one per metric name), so the two never meet.
SYSTEM_KEY_BASE = 1 << 40
CPU = "system/cpu_percent"
MEMORY = "system/memory_mb"  # the tree's proportional set size (RSS where PSS is refused)
_MB = 1024 * 1024

# What the sampler hands over each time: new (key, name) pairs, and the points.
SampleSink = Callable[[list[tuple[int, str]], Columns], None]
_PROCESS_GONE = (psutil.NoSuchProcess, psutil.ZombieProcess)


def _gpu_names(index: int, count: int) -> tuple[str, str]:
    if count == 1:
        return "system/gpu_util", "system/gpu_memory_mb"
    return f"system/gpu{index}_util", f"system/gpu{index}_memory_mb"


class _Gpus:
    """NVML's devices, or why there are none to sample (`problem`)."""

    def __init__(self) -> None:
        self.handles: list[Any] = []
        self.problem: str | None = None
        self.nvml: Any = None
        try:
            import pynvml
        except ImportError as exc:
            self.problem = f"nvidia-ml-py is not installed ({exc})"
            return
        try:
            pynvml.nvmlInit()
        except pynvml.NVMLError as exc:
            self.problem = _nvml_problem(pynvml, exc)
            return
        self.nvml = pynvml
        try:
            count = pynvml.nvmlDeviceGetCount()
            self.handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
        except pynvml.NVMLError as exc:
            self.problem = _nvml_problem(pynvml, exc)
            self.close()
            return
        if not self.handles:
            self.problem = "NVML sees no NVIDIA GPU"
            self.close()

    def sample(self) -> list[tuple[str, float]]:
        """(name, value) of each GPU now; a GPU that stops answering is left out from then on
        (`problem` says why)."""
        if self.nvml is None:
            return []
        out: list[tuple[str, float]] = []
        for index, handle in enumerate(self.handles):
            util_name, memory_name = _gpu_names(index, len(self.handles))
            try:
                util = self.nvml.nvmlDeviceGetUtilizationRates(handle)
                memory = self.nvml.nvmlDeviceGetMemoryInfo(handle)
            except self.nvml.NVMLError as exc:
                self.problem = f"GPU {index}: {_nvml_problem(self.nvml, exc)}"
                self.handles = []
                return out
            out.append((util_name, float(util.gpu)))
            out.append((memory_name, memory.used / _MB))
        return out

    def close(self) -> None:
        if self.nvml is not None:
            nvml, self.nvml = self.nvml, None
            try:
                nvml.nvmlShutdown()
            except nvml.NVMLError as exc:  # nothing is left to sample: say so, go on
                self.problem = self.problem or f"NVML would not shut down ({exc})"


def _nvml_problem(pynvml: Any, exc: Exception) -> str:
    if isinstance(exc, pynvml.NVMLError_LibraryNotFound):
        return "no NVIDIA driver library (libnvidia-ml) on this machine"
    if isinstance(exc, pynvml.NVMLError_DriverNotLoaded):
        return "the NVIDIA driver is not loaded"
    if isinstance(exc, pynvml.NVMLError_NoPermission):
        return "no permission to query the GPU (NVML)"
    return f"NVML: {exc}"


class SystemSampler:
    """A thread that samples the process tree under `root` (the run's supervisor) every
    `every` seconds and hands each sample to `sink` (from its own thread: the caller passes
    it on to its loop). The first sample is taken at once."""

    def __init__(self, sink: SampleSink, every: float = SAMPLE_SECONDS) -> None:
        self.sink = sink
        self.every = every
        self.warnings: list[str] = []  # read after stop()
        self._keys: dict[str, int] = {}
        self._counts: dict[int, int] = {}
        self._procs: dict[int, psutil.Process] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._t0 = time.monotonic()

    def start(self, root: int) -> None:
        """Sample the tree of process `root` from now on."""
        self._t0 = time.monotonic()
        self._thread = threading.Thread(
            target=self._main, args=(root,), name=f"system-metrics-{root}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop sampling and wait for the thread (its last sample handed over)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _main(self, root: int) -> None:
        gpus = _Gpus()
        try:
            while True:
                self._sample(root, gpus)
                if self._stop.wait(self.every):
                    break
        finally:
            gpus.close()
            if gpus.problem is not None:
                self.warnings.append(
                    f"system metrics: no GPU sampled: {gpus.problem}; CPU and memory were"
                )

    def _tree(self, root: int) -> list[psutil.Process]:
        """The processes of the tree now, each the same Process object from one sample to
        the next (its CPU % is measured since the last call)."""
        try:
            top = self._procs.get(root) or psutil.Process(root)
            found = [top, *top.children(recursive=True)]
        except _PROCESS_GONE:
            return []
        procs = {p.pid: self._procs.get(p.pid, p) for p in found}
        self._procs = procs
        return list(procs.values())

    def _sample(self, root: int, gpus: _Gpus) -> None:
        cpu = memory = 0.0
        procs = self._tree(root)
        for proc in procs:
            try:
                cpu += proc.cpu_percent(None)
                memory += self._memory(proc)
            except (*_PROCESS_GONE, psutil.AccessDenied):  # gone, or not ours to read
                continue
        values = [(CPU, cpu), (MEMORY, memory / _MB)] if procs else []
        values += gpus.sample()
        if values:
            self._hand_over(values)

    @staticmethod
    def _memory(proc: psutil.Process) -> float:
        try:
            return float(proc.memory_full_info().pss)
        except (psutil.AccessDenied, AttributeError):  # no PSS here: the resident size
            return float(proc.memory_info().rss)

    def _hand_over(self, values: list[tuple[str, float]]) -> None:
        new: list[tuple[int, str]] = []
        ms = int((time.monotonic() - self._t0) * 1000)
        keys, seqs, steps, points, times = [], [], [], [], []
        for name, value in values:
            key = self._keys.get(name)
            if key is None:
                key = self._keys[name] = SYSTEM_KEY_BASE + len(self._keys)
                new.append((key, name))
            seq = self._counts.get(key, 0)
            self._counts[key] = seq + 1
            keys.append(key)
            seqs.append(seq)
            steps.append(seq)  # the sample's number: seconds since the start, near enough
            points.append(value)
            times.append(ms)
        self.sink(new, Columns(keys, seqs, steps, points, times))
