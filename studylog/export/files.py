"""Where exported files go: names made safe on every system, nothing outside --out, nothing
into a notes folder, and nothing replaced or deleted that an export did not write itself.

An export keeps a manifest in --out (`.studylog-export.json`): each file it wrote, its hash
and the note it came from. A later export may replace or remove a file only while the
manifest says it wrote it and the file is still as it was written; any other file in the way
makes the export choose another name (with a warning). Every file and folder is opened
relative to --out without following links, so a link planted inside --out cannot lead a
write outside it."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import secrets
import stat
import unicodedata
from collections.abc import Iterable
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


MANIFEST = ".studylog-export.json"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)


def prepare_out_dir(out_dir: Path, notes_dirs: Iterable[Path] = ()) -> Path:
    """--out as a folder we can write to, made if missing; refused inside a notes folder."""
    out_dir = out_dir.expanduser()
    resolved = out_dir.resolve()
    for notes in notes_dirs:
        notes = notes.resolve()
        if resolved == notes or resolved.is_relative_to(notes):
            raise ExportError(
                f"--out {out_dir} is inside the notes folder {notes}: an export never writes "
                "into notes. Choose a folder outside it, or write the outputs into the notes "
                "themselves with: studylog export --in-place NOTE..."
            )
    if out_dir.exists() and not out_dir.is_dir():
        raise ExportError(f"{out_dir} exists and is not a folder; choose a folder for --out")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot make {out_dir}: {exc.strerror or exc}") from exc
    if not os.access(out_dir, os.W_OK | os.X_OK):
        raise ExportError(f"{out_dir} is not writable; choose another folder for --out")
    return out_dir.resolve()


def write_file(path: Path, data: bytes, mode: int | None = None) -> None:
    """Write whole or not at all, through a new temporary file that no link can redirect; a
    link at `path` itself is replaced, never followed. `mode`: the file's permissions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    folder = os.open(path.parent, os.O_RDONLY | _DIRECTORY)
    try:
        _replace_in(folder, path.name, data, mode)
    finally:
        os.close(folder)


def _replace_in(folder: int, name: str, data: bytes, mode: int | None = None) -> None:
    """Write `name` in the open folder `folder` through a fresh temporary file (O_EXCL, no
    links followed), then rename it over `name` in one step."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    while True:
        temporary = f".{name[:180]}.{secrets.token_hex(4)}.tmp"
        try:
            fd = os.open(temporary, flags, 0o666, dir_fd=folder)
            break
        except FileExistsError:
            continue  # something already there (perhaps planted): never touch it
    try:
        with os.fdopen(fd, "wb") as stream:
            if mode is not None:
                os.fchmod(stream.fileno(), stat.S_IMODE(mode))
            stream.write(data)
        os.replace(temporary, name, src_dir_fd=folder, dst_dir_fd=folder)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary, dir_fd=folder)
        raise


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class OutDir:
    """--out during one export: which names are free, safe writes, and the manifest.

    `owner` names what a file belongs to (`"md notes/a.md"`, `"html index"`): a file of one
    owner is never replaced by another's, and only an owner's own earlier files are removed
    when it is exported again."""

    def __init__(self, root: Path, notes_dirs: Iterable[Path] = ()) -> None:
        self.root = root
        self.notes_dirs = [d.resolve() for d in notes_dirs]
        self.warnings: list[str] = []
        self._fd = os.open(root, os.O_RDONLY | _DIRECTORY)
        self._old = self._load_manifest()
        self._new: dict[str, dict[str, str]] = {}
        self._claimed: dict[str, str] = {}  # casefolded path → owner (case-blind systems)

    def close(self) -> None:
        os.close(self._fd)

    # -- names -----------------------------------------------------------------------

    def claim(self, relative: PurePosixPath, owner: str, source: str) -> PurePosixPath:
        """A name for `owner`'s file at `relative`, or a numbered one beside it when that
        name is taken (by a file the export did not write, or by another note of this
        export); `source` names what is exported, for the warning."""
        for notes in self.notes_dirs:
            if (self.root / relative).is_relative_to(notes):
                raise ExportError(f"{relative}: would be written into the notes folder; skipped")
        stem, suffix = _split_suffix(relative.name)
        candidate, number = relative, 1
        while str(candidate).casefold() in self._claimed or not self._free_for(candidate, owner):
            number += 1
            candidate = relative.with_name(f"{stem}-{number}{suffix}")
        if candidate != relative:
            other = self._claimed.get(str(relative).casefold())
            why = (
                f"{other.split(' ', 1)[-1]} is exported there too"
                if other is not None
                else "a file that this export did not write is there"
            )
            self.warnings.append(f"{source}: {relative} is taken ({why}); written as {candidate}")
        self._claimed[str(candidate).casefold()] = owner
        return candidate

    def _free_for(self, relative: PurePosixPath, owner: str) -> bool:
        """Nothing at `relative`, or the file `owner` wrote there last time, unchanged."""
        folder = self._folder(relative.parent, create=False)
        if folder is None:
            return True
        try:
            try:
                info = os.stat(relative.name, dir_fd=folder, follow_symlinks=False)
            except FileNotFoundError:
                return True
            entry = self._old.get(str(relative))
            if entry is None or entry.get("owner") != owner or not stat.S_ISREG(info.st_mode):
                return False
            return _read_hash(folder, relative.name) == entry.get("sha256")
        finally:
            os.close(folder)

    # -- writing ---------------------------------------------------------------------

    def write(self, relative: PurePosixPath, data: bytes) -> Path:
        """Write a claimed file; its folders are made as needed, none of them a link."""
        owner = self._claimed[str(relative).casefold()]
        folder = self._folder(relative.parent, create=True)
        assert folder is not None
        try:
            _replace_in(folder, relative.name, data)
        finally:
            os.close(folder)
        self._new[str(relative)] = {"sha256": _sha256(data), "owner": owner}
        return self.root / relative

    def _folder(self, relative: PurePosixPath, *, create: bool) -> int | None:
        """An open descriptor of the folder `relative` under --out, walked one name at a time
        without following links; None when it does not exist and `create` is false."""
        current = os.dup(self._fd)
        try:
            for depth, part in enumerate(relative.parts, start=1):
                flags = os.O_RDONLY | _DIRECTORY | _NOFOLLOW
                try:
                    child = os.open(part, flags, dir_fd=current)
                except FileNotFoundError:
                    if not create:
                        os.close(current)
                        return None
                    with contextlib.suppress(FileExistsError):  # made meanwhile: opened below
                        os.mkdir(part, 0o777, dir_fd=current)
                    child = os.open(part, flags, dir_fd=current)
                except OSError as exc:
                    if exc.errno not in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
                        raise
                    where = PurePosixPath(*relative.parts[:depth])
                    raise ExportError(
                        f"{where} in {self.root} is a link or not a folder: writing through "
                        "it could land outside --out; skipped"
                    ) from None
                os.close(current)
                current = child
            return current
        except BaseException:
            os.close(current)
            raise

    # -- the manifest ----------------------------------------------------------------

    def _load_manifest(self) -> dict[str, dict[str, str]]:
        where = self.root / MANIFEST
        try:
            fd = os.open(MANIFEST, os.O_RDONLY | _NOFOLLOW, dir_fd=self._fd)
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise ExportError(
                f"{where}: cannot read the export manifest ({exc.strerror or exc}); "
                "move it away, or export into another folder"
            ) from None
        with os.fdopen(fd, "rb") as stream:
            data = stream.read()
        try:
            files = json.loads(data)["files"]
            if not isinstance(files, dict) or not all(
                isinstance(v, dict) and isinstance(v.get("sha256"), str) for v in files.values()
            ):
                raise ValueError("unexpected contents")
        except (ValueError, KeyError, TypeError) as exc:
            raise ExportError(
                f"{where} is not an export manifest studylog can read ({exc}); "
                "move it away, or export into another folder"
            ) from None
        return files

    def finish(self, done: set[str]) -> list[str]:
        """Remove the earlier files of the owners in `done` that this export did not write
        again (only if still as written), and save the manifest; the removed paths."""
        removed = []
        kept = {}
        for path, entry in self._old.items():
            if path in self._new:
                continue
            relative = PurePosixPath(path)
            try:
                ours = entry.get("owner") in done and self._free_for(relative, entry["owner"])
            except ExportError:  # a folder on the way became a link: leave it all alone
                ours = False
            if ours:
                folder = self._folder(relative.parent, create=False)
                if folder is not None:
                    try:
                        os.unlink(relative.name, dir_fd=folder)
                        removed.append(path)
                    except FileNotFoundError:
                        pass
                    finally:
                        os.close(folder)
                continue
            if self._exists(relative):
                kept[path] = entry
        files = dict(sorted({**kept, **self._new}.items()))
        manifest = {"studylog_export": 1, "files": files}
        _replace_in(self._fd, MANIFEST, (json.dumps(manifest, indent=1) + "\n").encode())
        return removed

    def _exists(self, relative: PurePosixPath) -> bool:
        try:
            folder = self._folder(relative.parent, create=False)
        except ExportError:
            return False
        if folder is None:
            return False
        try:
            os.stat(relative.name, dir_fd=folder, follow_symlinks=False)
            return True
        except FileNotFoundError:
            return False
        finally:
            os.close(folder)


def _read_hash(folder: int, name: str) -> str | None:
    try:
        fd = os.open(name, os.O_RDONLY | _NOFOLLOW, dir_fd=folder)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as stream:
        return _sha256(stream.read())


def _split_suffix(name: str) -> tuple[str, str]:
    """`day1.html` → (`day1`, `.html`); a leading dot is part of the stem."""
    stem, dot, suffix = name[1:].rpartition(".") if name.startswith(".") else name.rpartition(".")
    if not dot:
        return name, ""
    return (("." if name.startswith(".") else "") + stem, f".{suffix}")
