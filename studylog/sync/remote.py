"""`studylog runs --remote`: the group's runs on the MLflow server, read-only. Nothing read
here is written into the local history."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from studylog.sync.client import (
    SyncError,
    Target,
    explain,
    filter_quote,
    make_client,
    mlflow_errors,
    tag,
)

if TYPE_CHECKING:
    from mlflow.entities import Run


@dataclass
class RemoteRun:
    """A run of the group on the server (a member's, or one of your own sent earlier)."""

    mlflow_run_id: str
    experiment: str
    user: str
    mine: bool  # sent from this workspace
    note: str
    snippet: str
    status: str  # studylog's status, else MLflow's
    started: str
    duration: float | None
    seed: int | None
    code_hash: str
    same_code: bool | None  # the same code as yours (None: you have no code to compare)
    final_metrics: dict[str, float | None] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.mlflow_run_id,
            "remote": True,
            "experiment": self.experiment,
            "user": self.user,
            "mine": self.mine,
            "note": self.note,
            "snippet": self.snippet,
            "status": self.status,
            "started": self.started,
            "duration": self.duration,
            "seed": self.seed,
            "code_hash": self.code_hash,
            "same_code": self.same_code,
            "final_metrics": self.final_metrics,
        }


def _float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def remote_runs(
    target: Target,
    my_uuid: str,
    my_code: dict[tuple[str, str], str],
    note: str | None = None,
    snippet: str | None = None,
    limit: int = 50,
) -> list[RemoteRun]:
    """Runs sent by studylog to `target`'s server (any experiment), newest first: of `note`
    (its path under notes/) and `snippet` when given. `my_code` maps (note, snippet) to your
    code's hash, to tell which runs ran other code."""
    client = make_client(target)
    try:
        return _search(client, my_uuid, my_code, note, snippet, limit)
    except mlflow_errors() as exc:
        raise SyncError(explain(exc, target.server)) from exc


def _search(
    client: object,
    my_uuid: str,
    my_code: dict[tuple[str, str], str],
    note: str | None,
    snippet: str | None,
    limit: int,
) -> list[RemoteRun]:
    from mlflow import MlflowClient

    assert isinstance(client, MlflowClient)
    experiments = {e.experiment_id: e.name for e in client.search_experiments()}
    if not experiments:
        return []
    clauses = [f"tags.`{tag('run_id')}` LIKE '%'"]
    for name, value in (("note", note), ("snippet", snippet)):
        quoted = filter_quote(value) if value is not None else None
        if quoted is not None:
            clauses.append(f"tags.`{tag(name)}` = {quoted}")
    found: list[Run] = []
    token = None
    while len(found) < limit:
        page = client.search_runs(
            list(experiments),
            filter_string=" and ".join(clauses),
            max_results=min(limit, 1000),
            order_by=["attributes.start_time DESC"],
            page_token=token,
        )
        found.extend(
            r
            for r in page
            if (note is None or r.data.tags.get(tag("note")) == note)
            and (snippet is None or r.data.tags.get(tag("snippet")) == snippet)
        )
        token = page.token
        if not token:
            break
    return [_remote(r, experiments, my_uuid, my_code) for r in found[:limit]]


def _remote(
    run: Run, experiments: dict[str, str], my_uuid: str, my_code: dict[tuple[str, str], str]
) -> RemoteRun:
    tags = run.data.tags
    note, snippet = tags.get(tag("note"), ""), tags.get(tag("snippet"), "")
    code = tags.get(tag("code_hash"), "")
    mine = my_code.get((note, snippet))
    return RemoteRun(
        mlflow_run_id=run.info.run_id,
        experiment=experiments.get(run.info.experiment_id, run.info.experiment_id),
        user=tags.get("mlflow.user", ""),
        mine=tags.get(tag("workspace")) == my_uuid,
        note=note,
        snippet=snippet,
        status=tags.get(tag("status")) or run.info.status.lower(),
        started=tags.get(tag("started"), ""),
        duration=_float(tags.get(tag("duration"), "")),
        seed=_int(tags.get(tag("seed"), "")),
        code_hash=code,
        same_code=None if mine is None else mine == code,
        final_metrics={
            k: (None if math.isnan(v) else v) for k, v in sorted(run.data.metrics.items())
        },
    )


@dataclass
class RemoteCurves:
    """A teammate's run with its curves, to overlay beside yours (never stored here)."""

    run: RemoteRun
    curves: dict[str, list[tuple[int, float]]]

    @property
    def label(self) -> str:
        """How the run is named in a comparison: snippet@member, marked as remote."""
        return f"⇣ {self.run.snippet}@{self.run.user or '?'}"


def teammates_runs(
    target: Target,
    my_uuid: str,
    snippets: list[tuple[str, str]],
    my_code: dict[tuple[str, str], str],
    per_snippet: int = 50,
) -> list[RemoteRun]:
    """The runs of each (note, snippet) that other workspaces sent to `target`'s server,
    newest first within each snippet, at most `per_snippet` each: what a comparison offers
    to overlay. `my_code` maps (note, snippet) to your code's hash (same_code)."""
    client = make_client(target)
    try:
        out: list[RemoteRun] = []
        for note, snippet in dict.fromkeys(snippets):
            found = _search(client, my_uuid, my_code, note, snippet, per_snippet)
            out += [r for r in found if not r.mine]
        return out
    except mlflow_errors() as exc:
        raise SyncError(explain(exc, target.server)) from exc


def run_curves(target: Target, runs: list[RemoteRun]) -> list[RemoteCurves]:
    """`runs` with every metric's curve (in step order), read from `target`'s server."""
    client = make_client(target)
    try:
        out: list[RemoteCurves] = []
        for run in runs:
            curves = {}
            for name in run.final_metrics:
                history = client.get_metric_history(run.mlflow_run_id, name)
                ordered = sorted(history, key=lambda m: (m.step, m.timestamp))
                curves[name] = [(m.step, m.value) for m in ordered]
            out.append(RemoteCurves(run, curves))
        return out
    except mlflow_errors() as exc:
        raise SyncError(explain(exc, target.server)) from exc
