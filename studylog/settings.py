"""Typed settings read once from studylog.toml and handed down (no globals)."""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any


class SettingsError(Exception):
    """studylog.toml could not be used: the message names the file and the key."""


@dataclass(frozen=True)
class NoteSettings:
    # "year-first" reads 22.01.25 as 2022-01-25 (Korean notes); "day-first" as 22 Jan 2025.
    date_order: str = "year-first"
    # The folders that hold notes, relative to the workspace ("." is the workspace itself).
    # Empty: `notes/`, or `_posts/` in a Jekyll site. Each note's path keeps its folder when
    # this is set to anything but ["notes"].
    dirs: tuple[str, ...] = ()
    # Topic, lecture and order from folder and file names when a note has no metadata.
    from_folders: bool = True

    @property
    def day_first(self) -> bool:
        return self.date_order == "day-first"


@dataclass(frozen=True)
class RunSettings:
    timeout: float = 120.0
    memory_limit_mb: int = 4096
    seed: int = 0
    # Sample CPU %, memory and GPU use of every run once a second as `system/...` metrics
    # (a snippet's `system_metrics=true|false` decides for itself).
    system_metrics: bool = False


@dataclass(frozen=True)
class SyncSettings:
    # `studylog sync`: the MLflow tracking server ("" → --to, else $MLFLOW_TRACKING_URI) and
    # the experiment ("" → studylog-<workspace folder>). Credentials never go here: MLflow's
    # client reads them from MLFLOW_TRACKING_USERNAME / _PASSWORD / _TOKEN.
    mlflow_uri: str = ""
    experiment: str = ""


@dataclass(frozen=True)
class ExportSettings:
    # Where root-absolute paths in notes (`/assets/img/x.png`) point, relative to the
    # workspace; "" is the workspace itself (a Jekyll site's root).
    site_root: str = ""


@dataclass(frozen=True)
class Settings:
    notes: NoteSettings = field(default_factory=NoteSettings)
    run: RunSettings = field(default_factory=RunSettings)
    sync: SyncSettings = field(default_factory=SyncSettings)
    export: ExportSettings = field(default_factory=ExportSettings)


_DATE_ORDERS = ("year-first", "day-first")


def _section(cls: type, table: dict[str, Any], name: str, path: Path) -> Any:
    known = {f.name: f for f in fields(cls)}
    values: dict[str, Any] = {}
    for key, value in table.items():
        f = known.get(key)
        if f is None:
            raise SettingsError(
                f"{path}: unknown setting [{name}] {key}; known: {', '.join(sorted(known))}"
            )
        expected = type(f.default)
        if expected is tuple:  # a list of folder names
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise SettingsError(
                    f"{path}: [{name}] {key} should be a list of folder names, got {value!r}"
                )
            values[key] = tuple(value)
            continue
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, expected) or isinstance(value, bool) != (expected is bool):
            raise SettingsError(
                f"{path}: [{name}] {key} should be a {expected.__name__}, got {value!r}"
            )
        values[key] = value
    return cls(**values)


def load_settings(path: Path) -> Settings:
    """Settings from `path`; defaults when the file does not exist."""
    if not path.is_file():
        return Settings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"{path}: cannot read settings: {exc}") from exc
    unknown = set(data) - {"notes", "run", "sync", "export"}
    if unknown:
        raise SettingsError(f"{path}: unknown section(s) {', '.join(sorted(unknown))}")
    notes = _section(NoteSettings, data.get("notes", {}), "notes", path)
    if notes.date_order not in _DATE_ORDERS:
        raise SettingsError(
            f"{path}: [notes] date_order must be one of {', '.join(_DATE_ORDERS)}, "
            f"got {notes.date_order!r}"
        )
    run = _section(RunSettings, data.get("run", {}), "run", path)
    for key, unit in (("timeout", "seconds"), ("memory_limit_mb", "megabytes")):
        value = getattr(run, key)
        if not math.isfinite(value) or value <= 0:
            raise SettingsError(
                f"{path}: [run] {key} must be a positive number of {unit}, got {value!r}"
            )
    sync = _section(SyncSettings, data.get("sync", {}), "sync", path)
    export = _section(ExportSettings, data.get("export", {}), "export", path)
    return Settings(notes=notes, run=run, sync=sync, export=export)
