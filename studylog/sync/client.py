"""The MLflow client as studylog uses it: which server, which experiment, and MLflow's
failures turned into messages that name the server and the cause."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from studylog.paths import Workspace
    from studylog.settings import SyncSettings

# MLflow's client retries a failed request 7 times with growing waits (minutes in all) and
# waits 120 s for an answer; a sync from a terminal should say sooner that the server is away.
# No retries inside the client at all: a retried batch that had already landed (a 500 or a
# timeout after the server stored it) would add its points twice, unseen by our marks. A
# failed request is instead retried by us after asking the server what landed (push.py
# `_catch_up`): the live sync a second later, `studylog sync` at its next call.
# MLflow's own variables, when set, win.
_HTTP_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
}

TAG_PREFIX = "studylog."


class SyncError(Exception):
    """The server could not be used: the message names it and says what to do."""


@dataclass(frozen=True)
class Target:
    """Where runs go: a tracking URI and an experiment name."""

    uri: str  # as MLflow's client takes it (it may carry credentials)
    experiment: str

    @property
    def server(self) -> str:
        """The URI without user and password: what is stored and shown."""
        return public_uri(self.uri)


def public_uri(uri: str) -> str:
    parts = urlsplit(uri)
    if parts.username is None and parts.password is None:
        return uri.rstrip("/")
    host = parts.hostname or ""
    if parts.port is not None:
        host += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=host)).rstrip("/")


def resolve_target(
    to: str | None, settings: SyncSettings, workspace: Workspace, *, for_what: str = "sync with"
) -> Target:
    """--to, else `[sync] mlflow_uri` in studylog.toml, else $MLFLOW_TRACKING_URI."""
    uri = to or settings.mlflow_uri or os.environ.get("MLFLOW_TRACKING_URI", "")
    if not uri:
        give = "give --to URI, " if to is None and for_what == "sync with" else ""
        raise SyncError(
            f"no MLflow server to {for_what}: {give}set `[sync] mlflow_uri` in "
            f"{workspace.settings_file}, or set MLFLOW_TRACKING_URI"
        )
    experiment = settings.experiment or f"studylog-{workspace.root.name}"
    return Target(uri, experiment)


def make_client(target: Target) -> MlflowClient:
    """MLflow's client for `target`; credentials come from MLflow's own environment variables."""
    try:
        from mlflow import MlflowClient
    except ImportError as exc:
        raise SyncError(
            "syncing needs MLflow's client: pip install 'studylog[sync]' (mlflow-skinny)"
        ) from exc
    for name, value in _HTTP_DEFAULTS.items():
        os.environ.setdefault(name, value)
    # MLflow prints "View run … at: URL" on stdout when a run ends: stdout is ours (--json).
    os.environ["MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"] = "true"
    return MlflowClient(tracking_uri=target.uri)


def mlflow_errors() -> tuple[type[BaseException], ...]:
    """What MLflow's client raises when the server fails (network errors are OSErrors)."""
    from mlflow.exceptions import MlflowException

    return (MlflowException, OSError)


def explain(exc: BaseException, server: str) -> str:
    """A person's reading of an MLflow failure, naming the server."""
    text = str(exc)
    status: int | None = None
    match = re.search(r"error code (\d{3})", text)
    if match:
        status = int(match.group(1))
    elif hasattr(exc, "get_http_status_code") and getattr(exc, "error_code", "") != (
        "INTERNAL_ERROR"
    ):
        status = int(exc.get_http_status_code())
    if status in (401, 403) or "UNAUTHENTICATED" in text or "PERMISSION_DENIED" in text:
        cause = (
            f"the server rejected the credentials (HTTP {status or 401}); set "
            "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (or MLFLOW_TRACKING_TOKEN)"
        )
    elif "Connection refused" in text or "Failed to establish" in text:
        cause = "cannot connect (connection refused): is the server running at that address?"
    elif "timed out" in text.lower() or "ReadTimeout" in text:
        cause = (
            f"the server did not answer within {os.environ.get('MLFLOW_HTTP_REQUEST_TIMEOUT')} s "
            "(MLFLOW_HTTP_REQUEST_TIMEOUT sets the wait)"
        )
    elif "too many 5" in text or (status is not None and status >= 500):
        cause = f"the server failed (HTTP {status or 500}): {_first_line(text)}"
    else:
        cause = _first_line(text)
    return f"MLflow server {server}: {cause}"


def _first_line(text: str, limit: int = 300) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "no message"
    return line if len(line) <= limit else line[: limit - 1] + "…"


def experiment_id(client: MlflowClient, target: Target, *, create: bool) -> str | None:
    """The experiment's id, made when missing and `create`; a deleted one is refused."""
    from mlflow.exceptions import MlflowException

    experiment = client.get_experiment_by_name(target.experiment)
    if experiment is None:
        if not create:
            return None
        try:
            return str(client.create_experiment(target.experiment, tags={"studylog": "workspace"}))
        except MlflowException as exc:  # another member made it a moment ago
            if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
            experiment = client.get_experiment_by_name(target.experiment)
            assert experiment is not None
    if experiment.lifecycle_stage == "deleted":
        raise SyncError(
            f"MLflow server {target.server}: the experiment {target.experiment!r} was deleted "
            "there. Restore it (MLflow UI, or `mlflow experiments restore --experiment-id "
            f"{experiment.experiment_id}`) or choose another name with `[sync] experiment` "
            "in studylog.toml"
        )
    return str(experiment.experiment_id)


def tag(name: str) -> str:
    return TAG_PREFIX + name


def filter_quote(value: Any) -> str | None:
    """`value` as a quoted literal of MLflow's search syntax; None when it cannot be one."""
    text = str(value)
    return None if "'" in text or "\\" in text else f"'{text}'"
