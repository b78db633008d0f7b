"""Where exported files go: names made safe on every system, nothing outside --out, and an
--out that is not a writable folder refused with a clear message."""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path, PurePosixPath

from studylog.export.collect import ExportError

# Names Windows refuses for a file, whatever the extension.
_RESERVED = {
    "CON",
    "PRN",
    "AUX",
    "NUL",
    *(f"COM{i}" for i in range(1, 10)),
    *(f"LPT{i}" for i in range(1, 10)),
}
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')


def safe_name(name: str, fallback: str = "_") -> str:
    """One path component that is safe on Linux, macOS and Windows: no separators, no
    control or reserved characters, no `..`, no reserved device name, not too long."""
    name = unicodedata.normalize("NFC", name)
    name = _UNSAFE.sub("_", name).strip().rstrip(". ")
    if name in ("", ".", ".."):
        name = fallback
    stem = name.split(".", 1)[0]
    if stem.upper() in _RESERVED:
        name = f"{stem}_{name[len(stem) :]}"
    while len(name.encode("utf-8")) > 200:  # most file systems allow 255 bytes
        name = name[:-1]
    return name


def safe_relative(path: str) -> PurePosixPath:
    """A relative path made of safe components only (a `..` or a leading / cannot survive)."""
    parts = [
        safe_name(part)
        for part in PurePosixPath(path.replace("\\", "/")).parts
        if part not in ("/", ".", "..")
    ]
    return PurePosixPath(*parts) if parts else PurePosixPath("_")


def inside(out_dir: Path, relative: PurePosixPath) -> Path:
    """`out_dir / relative`, refused if it would resolve outside `out_dir` (a link inside)."""
    target = (out_dir / relative).resolve()
    if not target.is_relative_to(out_dir.resolve()):
        raise ExportError(f"{relative}: would be written outside {out_dir}; skipped")
    return target


def prepare_out_dir(out_dir: Path) -> Path:
    """--out as a folder we can write to, made if missing."""
    out_dir = out_dir.expanduser()
    if out_dir.exists() and not out_dir.is_dir():
        raise ExportError(f"{out_dir} exists and is not a folder; choose a folder for --out")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot make {out_dir}: {exc.strerror or exc}") from exc
    if not os.access(out_dir, os.W_OK | os.X_OK):
        raise ExportError(f"{out_dir} is not writable; choose another folder for --out")
    return out_dir.resolve()


def write_file(path: Path, data: bytes) -> None:
    """Write whole or not at all: a re-export replaces the earlier file in one step."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)
