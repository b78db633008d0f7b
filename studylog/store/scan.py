"""Walking the notes folders: every *.md file with its size and mtime, and what cannot be read."""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from studylog.paths import JEKYLL_CONFIG, SETTINGS_FILE, jekyll_config_problem

if TYPE_CHECKING:
    from studylog.paths import Workspace


class NoteFile(NamedTuple):
    """A note file seen by the scan (a tuple: a scan makes one per note, 10,000 at a time)."""

    path: str  # the note's path (Workspace.note_file gives its file)
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class Problem:
    path: str  # POSIX path under notes/
    message: str
    is_note: bool  # a *.md path (listed as a note with the warning) or a folder


@dataclass
class Scan:
    files: list[NoteFile]
    problems: list[Problem]


PERMISSION_DENIED = "permission denied; skipped (check the file's permissions)"


def _reason(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "symbolic link loop; skipped"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return PERMISSION_DENIED
    if exc.errno == errno.ENOENT:
        return "broken symbolic link (its target does not exist); skipped"
    return f"cannot read: {exc.strerror or exc}; skipped"


def _outside(workspace: Workspace, path: str) -> str | None:
    """Why the link at `path` may not be read (it leads out of the workspace), or None."""
    if workspace.contains(path):
        return None
    return f"symbolic link to {os.path.realpath(path)}, outside the workspace; skipped"


def scan_notes(workspace: Workspace) -> Scan:
    """All notes under the workspace's notes folders, following folder links once (a link
    back up is a loop) and no link that leads out of the workspace. A file reached twice
    (two `dirs` holding it, or a link to it) is read once."""
    files: list[NoteFile] = []
    problems: list[Problem] = []
    seen_dirs: set[tuple[int, int]] = set()
    seen_files: dict[tuple[int, int], str] = {}

    def walk(folder: str, rel: str) -> None:
        try:
            st = os.stat(folder)
            key = (st.st_dev, st.st_ino)
            if key in seen_dirs:
                problems.append(
                    Problem(
                        rel or ".",
                        "symbolic link loop (leads back to a folder already read); skipped",
                        False,
                    )
                )
                return
            seen_dirs.add(key)
            with os.scandir(folder) as listing:
                entries = list(listing)
        except OSError as exc:
            problems.append(Problem(rel or ".", _reason(exc), False))
            return
        for entry in entries:
            child = f"{rel}/{entry.name}" if rel else entry.name
            if entry.name.startswith("."):
                continue  # .git, .studylog, editor swap files, .DS_Store
            is_note = entry.name.lower().endswith(".md")
            try:
                is_dir = entry.is_dir(follow_symlinks=True)
            except OSError as exc:
                problems.append(Problem(child, _reason(exc), is_note))
                continue
            if not (is_dir or is_note):
                continue
            # Only a link can lead out: a plain entry lies in its folder, already inside.
            if entry.is_symlink() and (reason := _outside(workspace, entry.path)) is not None:
                problems.append(Problem(child, reason, is_note and not is_dir))
                continue
            if is_dir:
                walk(entry.path, child)
                continue
            try:
                st = entry.stat(follow_symlinks=True)
            except OSError as exc:
                problems.append(Problem(child, _reason(exc), True))
                continue
            if not entry.is_file(follow_symlinks=True):
                problems.append(Problem(child, "not a regular file; skipped", True))
                continue
            first = seen_files.setdefault((st.st_dev, st.st_ino), child)
            if first != child:
                # Named by its folder: the link is not a note of its own.
                same = f"{entry.name} is the same file as {workspace.label(first)}; read once"
                problems.append(Problem(rel or ".", same, False))
                continue
            files.append(NoteFile(child, st.st_size, st.st_mtime_ns))

    base = workspace.notes_base
    for entry in workspace.note_dirs:
        where = f"{SETTINGS_FILE}: [notes] dirs entry {entry!r}"
        if not entry or entry.startswith("/") or entry == ".." or entry.startswith("../"):
            reason = f"{where} is not a folder inside the workspace; skipped"
            problems.append(Problem(entry, reason, False))
            continue
        folder = workspace.root / entry if entry != "." else workspace.root
        if not folder.is_dir():
            if base:  # the classic notes/ simply has no notes yet
                continue
            problems.append(Problem(entry, f"{where}: no such folder; skipped", False))
            continue
        outside = _outside(workspace, str(folder))
        if outside is not None:
            problems.append(Problem(entry if not base else ".", outside, False))
            continue
        walk(str(folder), "" if base or entry == "." else entry)
    config = jekyll_config_problem(workspace.root)
    if config is not None:
        problems.append(Problem(JEKYLL_CONFIG, config, False))
    files.sort(key=lambda f: f.path)
    return Scan(files, problems)
