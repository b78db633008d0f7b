"""The first code of every run, in the child: seed, report the environment, run the snippet.

`python -m studylog.runner.bootstrap SPEC` where SPEC is JSON (see `runner.spawn`). Stdlib
only: a snippet that never imports torch pays nothing for it. NumPy and torch are seeded by an
import hook the moment the snippet imports them, so seeding costs no import of its own.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import json
import os
import random
import sys
import types
from collections.abc import Callable, Sequence
from typing import Any

from studylog import track
from studylog.protocol import COST, ENV


def _report(message: dict[str, Any]) -> None:
    if track._channel is not None:
        track._channel.send(message)


def _seed_numpy(module: types.ModuleType, seed: int) -> None:
    module.random.seed(seed)
    _report({ENV: {"numpy_imported": True}})


def _seed_torch(module: types.ModuleType, seed: int) -> None:
    module.manual_seed(seed)  # seeds CUDA too, lazily
    env: dict[str, Any] = {"torch_imported": True}
    try:
        env["cuda_available"] = bool(module.cuda.is_available())
        if env["cuda_available"]:
            env["cuda_device"] = module.cuda.get_device_name(0)
    except Exception as exc:  # a broken CUDA setup must not stop a CPU snippet
        env["cuda_error"] = f"{type(exc).__name__}: {exc}"
    _report({ENV: env})


def _report_cuda_cost() -> None:
    """As the snippet ends: the peak CUDA memory torch allocated and reserved, when the
    snippet used CUDA (torch imported and CUDA initialised; nothing is initialised here)."""
    torch = sys.modules.get("torch")
    if torch is None:
        return
    try:
        if not torch.cuda.is_initialized():
            return
        device = torch.cuda.current_device()
        cost = {
            "cuda_device": torch.cuda.get_device_name(device),
            "cuda_peak_allocated": int(torch.cuda.max_memory_allocated(device)),
            "cuda_peak_reserved": int(torch.cuda.max_memory_reserved(device)),
        }
    except Exception as exc:  # a broken CUDA state must not change how the snippet ended
        _report({ENV: {"cuda_cost_error": f"{type(exc).__name__}: {exc}"}})
        return
    _report({COST: cost})


class _SeedOnImport(importlib.abc.MetaPathFinder):
    """Finds numpy and torch with the other finders, then seeds them once they have loaded."""

    def __init__(self, seed: int) -> None:
        self.hooks: dict[str, Callable[[types.ModuleType, int], None]] = {
            "numpy": _seed_numpy,
            "torch": _seed_torch,
        }
        self.seed = seed

    def find_spec(
        self, name: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        hook = self.hooks.pop(name, None)
        if hook is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None and spec.loader is not None:
                break
        else:
            return None
        exec_module = spec.loader.exec_module
        seed = self.seed

        def exec_and_seed(module: types.ModuleType) -> None:
            exec_module(module)
            hook(module, seed)

        spec.loader.exec_module = exec_and_seed  # type: ignore[method-assign]
        return spec


def main(spec_json: str) -> None:
    spec = json.loads(spec_json)
    seed = int(spec["seed"])
    random.seed(seed)
    sys.meta_path.insert(0, _SeedOnImport(seed))
    if track._channel is not None:  # programs the snippet starts must not inherit the pipe
        os.set_inheritable(track._channel.fd, False)

    with open(spec["code_file"], encoding="utf-8") as f:
        source = f.read()
    # Leading newlines put a fenced snippet's lines at their place in the note, so a
    # traceback names the note's file and line (and shows the line).
    code = compile("\n" * spec.get("line_offset", 0) + source, spec["filename"], "exec")
    main_module = types.ModuleType("__main__")
    main_module.__file__ = spec.get("file") or spec["filename"]
    sys.modules["__main__"] = main_module
    sys.argv = [spec["filename"], *spec.get("args", [])]
    if spec.get("file"):  # as `python experiments/x.py`: the script's folder is importable
        sys.path[0] = os.path.dirname(os.path.abspath(spec["file"]))
    else:
        sys.path[0] = os.getcwd()
    try:
        exec(code, main_module.__dict__)
    except SystemExit:
        raise
    except BaseException as exc:
        # The traceback as Python prints it, less this function's frame: it starts at the
        # snippet, and its last line is the error that the run records.
        import traceback

        traceback.print_exception(
            type(exc), exc, exc.__traceback__.tb_next if exc.__traceback__ else None
        )
        sys.exit(1)
    finally:
        _report_cuda_cost()


if __name__ == "__main__":
    main(sys.argv[1])
