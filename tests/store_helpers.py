"""A real store with runs recorded straight into it, as the runner would have stored them,
with fixed values: the setup of the export goldens and of the TUI snapshots."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import sqlite_utils

from studylog.export.exporter import ExportReport, export_notes
from studylog.paths import Workspace
from studylog.protocol import Columns
from studylog.store.db import open_store
from studylog.store.index import index_notes
from studylog.store.metrics import MetricWriter
from studylog.store.queries import get_note
from studylog.store.runs import (
    NewRun,
    RunCost,
    RunEnd,
    finish_run,
    start_run,
)
from studylog.sync.remote import RemoteRun
from tests.tui_helpers import settings


def indexed_store(workspace: Workspace) -> sqlite_utils.Database:
    """The workspace's store, open, with its notes indexed (the caller closes it)."""
    db = open_store(workspace.db_path)
    index_notes(db, workspace, settings())
    return db


def export(
    workspace: Workspace, paths: list[str], fmt: str, out: Path, **options: Any
) -> ExportReport:
    """export_notes over the workspace's store, opened and closed around it."""
    db = open_store(workspace.db_path)
    try:
        return export_notes(db, workspace, paths, fmt, out, **options)  # type: ignore[arg-type]
    finally:
        db.close()


def record_run(
    db: sqlite_utils.Database,
    note_path: str,
    snippet: str,
    stdout: str,
    curves: dict[str, list[float]],
    stderr: str = "",
    status: str = "succeeded",
    seed: int = 0,
    *,
    params: dict[str, Any] | None = None,
    duration: float = 1.5,
    cost: RunCost | None = None,
    ms_per_step: int = 1,
    env: dict[str, Any] | None = None,
) -> int:
    """A finished run of a note's snippet with these curves (steps 0, 1, …), params and cost;
    exit code 0 when it succeeded, else 1. Defaults: lr 0.1, 1.5 s, 212 MB, 1.85 s of CPU."""
    note = get_note(db, note_path)
    found = next(s for s in note.snippets if s.name == snippet)
    run_id = start_run(
        db,
        NewRun(
            note.summary.id, note_path, snippet, found.source, found.path, found.code or "", seed
        ),
    )
    writer = MetricWriter(db, run_id)
    for key, (name, values) in enumerate(curves.items()):
        writer.add_key(key, name)
        steps = list(range(len(values)))
        ms = [step * ms_per_step for step in steps]
        writer.add_points(Columns([key] * len(values), steps, steps, values, ms))
    writer.add_params({"lr": 0.1} if params is None else params)
    writer.flush()
    finish_run(
        db,
        run_id,
        RunEnd(
            status=status,
            duration=duration,
            exit_code=0 if status == "succeeded" else 1,
            cost=RunCost(peak_memory=212 * 2**20, cpu_user=1.5, cpu_system=0.35)
            if cost is None
            else cost,
        ),
        ended=0,
        stdout=stdout,
        stderr=stderr,
        env=env,
    )
    return run_id


def remote_run(**fields: Any) -> RemoteRun:
    """A run of the group as the sync server lists it, with fixed values: alice's succeeded
    run of a.md's snippet s, the same code as yours, final loss 0.1; `fields` change any."""
    run = RemoteRun(
        mlflow_run_id="abc",
        experiment="study",
        user="alice",
        mine=False,
        note="a.md",
        snippet="s",
        status="succeeded",
        started="",
        duration=1.0,
        seed=0,
        code_hash="",
        same_code=True,
        final_metrics={"loss": 0.1},
    )
    return dataclasses.replace(run, **fields)
