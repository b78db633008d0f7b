"""What the TUI remembers between sessions, in the workspace's state folder."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass
class UiState:
    tree_mode: str = "topic"  # topic | date
    last_note: str | None = None


def load_state(path: Path) -> UiState:
    """The saved state; defaults when there is none or it cannot be read (never an error)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return UiState()
    state = UiState()
    if data.get("tree_mode") in ("topic", "date"):
        state.tree_mode = data["tree_mode"]
    if isinstance(data.get("last_note"), str):
        state.last_note = data["last_note"]
    return state


def save_state(path: Path, state: UiState) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(state)), encoding="utf-8")
    except OSError:  # a read-only workspace: the choice is simply not remembered
        pass
