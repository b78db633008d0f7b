"""Workspace discovery and every path derived from it, in one place (no side effects at import)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ENV_WORKSPACE = "STUDYLOG_WORKSPACE"
NOTES_DIR = "notes"
EXPERIMENTS_DIR = "experiments"
SETTINGS_FILE = "studylog.toml"
STATE_DIR = ".studylog"
DB_FILE = "studylog.db"


class WorkspaceError(Exception):
    """No usable workspace: the message says how to make one."""


@dataclass(frozen=True)
class Workspace:
    """A study workspace: notes/, experiments/, studylog.toml and the store under .studylog/."""

    root: Path

    def contains(self, path: str | os.PathLike[str]) -> bool:
        """Whether `path`, its symbolic links followed, lies inside the workspace: the one
        rule for what indexing and export may read (a cloned repository's link to
        /etc/passwd or ~/.ssh may not be read, searched or published)."""
        real = os.path.realpath(path)
        root = os.path.realpath(self.root)
        return real == root or real.startswith(root.rstrip(os.sep) + os.sep)

    @property
    def notes_dir(self) -> Path:
        return self.root / NOTES_DIR

    @property
    def experiments_dir(self) -> Path:
        return self.root / EXPERIMENTS_DIR

    @property
    def settings_file(self) -> Path:
        return self.root / SETTINGS_FILE

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR

    @property
    def db_path(self) -> Path:
        return self.state_dir / DB_FILE

    @property
    def ui_state_file(self) -> Path:
        """What the TUI remembers between sessions (the tree's grouping)."""
        return self.state_dir / "ui.json"

    @property
    def run_dir(self) -> Path:
        """Where a run's code waits for its child process (removed when the run ends)."""
        return self.state_dir / "run"


def is_workspace(folder: Path) -> bool:
    return (folder / NOTES_DIR).is_dir() or (folder / SETTINGS_FILE).is_file()


def find_workspace(
    explicit: str | os.PathLike[str] | None = None, cwd: Path | None = None
) -> Workspace:
    """The workspace to use: `explicit` (--workspace), else $STUDYLOG_WORKSPACE, else the
    nearest folder up from `cwd` that holds notes/ or studylog.toml."""
    given = explicit if explicit is not None else os.environ.get(ENV_WORKSPACE) or None
    if given is not None:
        root = Path(given).expanduser().resolve()
        source = "--workspace" if explicit is not None else f"${ENV_WORKSPACE}"
        if not root.is_dir():
            raise WorkspaceError(
                f"{source} points at {root}, which is not a folder. "
                f"Make a workspace there with: studylog init {root}"
            )
        if not is_workspace(root):
            raise WorkspaceError(
                f"{root} (from {source}) holds neither notes/ nor {SETTINGS_FILE}. "
                f"Make a workspace there with: studylog init {root}"
            )
        return Workspace(root)
    start = (cwd or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if is_workspace(folder):
            return Workspace(folder)
    raise WorkspaceError(
        f"No studylog workspace in {start} or any folder above it "
        f"(a workspace is a folder holding notes/ or {SETTINGS_FILE}). "
        "Make one with `studylog init DIR`, or point at one with --workspace DIR "
        f"or ${ENV_WORKSPACE}."
    )


def sample_course() -> Path:
    """The bundled sample course: package data in a wheel, the repository root in a checkout."""
    packaged = Path(__file__).parent / "_sample"
    if (packaged / NOTES_DIR).is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent
