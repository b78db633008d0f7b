"""The bundled course end to end with real torch: every snippet of every note runs and the
experiments' loss curves land in the store; the experiments also run without studylog."""

from __future__ import annotations

import subprocess
import sys

import pytest

from studylog.runner.service import Runner, RunTarget
from studylog.settings import Settings
from studylog.store.db import open_store
from studylog.store.history import get_run
from studylog.store.index import index_notes
from studylog.store.queries import get_note, list_notes

LOGS_LOSS = {
    "autograd_basics",
    "dataset_dataloader",
    "sgd",
    "momentum",
    "adam",
    "linear-regression",
}

pytestmark = pytest.mark.torch  # every test here runs the course's real torch code


async def test_every_bundled_snippet_runs_and_logs_its_loss(sample_workspace):
    settings = Settings()
    db = open_store(sample_workspace.db_path)
    try:
        index_notes(db, sample_workspace, settings)
        runner = Runner(db, sample_workspace, settings.run)
        seen = {}
        for note in list_notes(db):
            detail = get_note(db, note.path)
            for snippet in detail.snippets:
                if (snippet.path, snippet.attrs.get("args")) in seen:
                    continue  # the same experiment linked from another note
                finished = await runner.run(RunTarget(note.id, note.path, snippet))
                run = get_run(db, finished.run_id)
                assert run.summary.status == "succeeded", (note.path, snippet.name, run.stderr)
                seen[(snippet.path or f"{note.path}:{snippet.name}", snippet.attrs.get("args"))] = (
                    run
                )
        by_name = {run.summary.snippet: run for run in seen.values()}
        assert set(by_name) >= LOGS_LOSS
        for name in LOGS_LOSS:
            assert by_name[name].metrics[0].name == "loss" and by_name[name].metrics[0].points > 10
        optimizers = by_name["optimizers"]
        assert [m.name for m in optimizers.metrics] == ["loss_sgd", "loss_momentum", "loss_adam"]
        assert (
            by_name["adam"].params["optimizer"] == "adam" and by_name["adam"].params["lr"] == 0.01
        )
        # Momentum and Adam beat plain SGD on this problem in the same number of steps.
        sgd, momentum, adam = (
            by_name[n].summary.final_metrics["loss"] for n in ("sgd", "momentum", "adam")
        )
        assert sgd is not None and momentum is not None and adam is not None
        assert momentum < sgd and adam < sgd
        assert "gradcheck: True" in by_name["autograd_basics"].stdout
        assert by_name["autograd_basics"].env["torch_imported"] is True
    finally:
        db.close()


@pytest.mark.parametrize("script", ["autograd_basics.py", "optimizers.py"])
def test_an_experiment_runs_with_plain_python_without_studylog(sample_workspace, script):
    # Block the studylog package: the experiment's fallback `track` must take over.
    code = (
        "import sys, runpy\nsys.modules['studylog'] = None\n"
        f"sys.argv = ['{script}', '--steps', '20'] if '{script}' == 'optimizers.py' else ['{script}']\n"
        f"runpy.run_path('experiments/{script}', run_name='__main__')"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=sample_workspace.root, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert "final loss" in out.stdout
