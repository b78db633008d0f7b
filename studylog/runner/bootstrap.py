"""The first code of every run, in the child: seed, report the environment, run the snippet.

`python -m studylog.runner.bootstrap SPEC` where SPEC is JSON (see `runner.service`), or
`main(SPEC, preloaded=...)` in a run forked by the warm parent (`runner.warm_server`). Stdlib
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


class _Preloaded(importlib.abc.MetaPathFinder):
    """In a warm run: NumPy and torch, imported by the warm parent, taken out of sys.modules
    (with their submodules) and given back the moment the snippet imports them, so they are
    seeded and reported then, as in a cold run."""

    def __init__(self, names: Sequence[str]) -> None:
        self.hidden: dict[str, dict[str, types.ModuleType]] = {}
        for name in names:
            if name not in sys.modules:
                continue
            family = {
                key: module
                for key, module in sys.modules.items()
                if key == name or key.startswith(name + ".")
            }
            for key in family:
                del sys.modules[key]
            self.hidden[name] = family

    def find_spec(
        self, name: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        family = self.hidden.pop(name, None)
        if family is None:
            return None
        # One loader per module: the seeding finder wraps the loader's exec_module.
        return importlib.machinery.ModuleSpec(name, _GiveBack(self, family), is_package=True)


class _GiveBack(importlib.abc.Loader):
    def __init__(self, finder: _Preloaded, family: dict[str, types.ModuleType]) -> None:
        self.finder = finder
        self.family = family

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module = self.family.pop(spec.name)
        self.original = module.__spec__
        sys.modules.update(self.family)  # its submodules, as they were
        if spec.name == "torch" and "numpy" in self.finder.hidden:
            __import__("numpy")  # as importing torch does in a cold run
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        module.__spec__ = self.original  # module_from_spec put ours there


def hide_preloaded(names: Sequence[str]) -> _Preloaded:
    """In a warm run's process, before its request: take the modules `names` (imported by
    the warm parent) out of sys.modules until the snippet imports them; for `main`."""
    return _Preloaded(names)


def main(spec_json: str, *, preloaded: _Preloaded | None = None) -> None:
    """Run the snippet of `spec_json`. `preloaded`: in a warm run (`runner.warm_server`), the
    modules its process had imported, hidden (`hide_preloaded`)."""
    spec = json.loads(spec_json)
    seed = int(spec["seed"])
    random.seed(seed)
    sys.meta_path.insert(0, _SeedOnImport(seed))
    if preloaded is not None:
        sys.meta_path.insert(1, preloaded)
        track._channel = track._open_channel()  # the run's environment names its channel
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
