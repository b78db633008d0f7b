"""Shared fixtures: workspaces built in tmp_path, an in-memory store, a CLI runner."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from studylog.cli import cli
from studylog.paths import Workspace, sample_course
from studylog.settings import Settings
from studylog.store.db import open_memory_store, open_store

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    """An empty workspace: notes/ and experiments/ folders, no notes yet."""
    root = tmp_path / "ws"
    (root / "notes").mkdir(parents=True)
    (root / "experiments").mkdir()
    return Workspace(root)


@pytest.fixture
def sample_workspace(tmp_path: Path) -> Workspace:
    """A copy of the bundled sample course."""
    root = tmp_path / "sample"
    root.mkdir()
    for name in ("notes", "experiments"):
        shutil.copytree(sample_course() / name, root / name)
    return Workspace(root)


@pytest.fixture
def write_note(workspace: Workspace) -> Callable[..., Path]:
    def write(path: str, text: str | bytes) -> Path:
        target = workspace.notes_dir / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            target.write_bytes(text)
        else:
            target.write_text(text, encoding="utf-8")
        return target

    return write


@pytest.fixture
def memory_db():
    db = open_memory_store()
    yield db
    db.close()


@pytest.fixture
def store(workspace: Workspace):
    db = open_store(workspace.db_path)
    yield db
    db.close()


@pytest.fixture
def settings() -> Settings:
    return Settings()


class Cli:
    """Runs the studylog command line in-process against one workspace."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.runner = CliRunner()

    def __call__(self, *args: str, ok: bool = True) -> Result:
        result = self.runner.invoke(
            cli, [*args, "--workspace", str(self.root)], catch_exceptions=False
        )
        if ok:
            assert result.exit_code == 0, result.output + (result.stderr or "")
        return result

    def json(self, *args: str) -> Any:
        """The command's `--json` output, parsed (its shape is the command's)."""
        result = self(*args, "--json")
        return json.loads(result.stdout)


@pytest.fixture
def run_cli(workspace: Workspace) -> Cli:
    return Cli(workspace.root)


@pytest.fixture
def sample_cli(sample_workspace: Workspace) -> Cli:
    return Cli(sample_workspace.root)
