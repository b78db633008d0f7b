"""Workspace discovery and every path derived from it, in one place (no side effects at import)."""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass
from pathlib import Path

ENV_WORKSPACE = "STUDYLOG_WORKSPACE"
NOTES_DIR = "notes"
EXPERIMENTS_DIR = "experiments"
SETTINGS_FILE = "studylog.toml"
STATE_DIR = ".studylog"
DB_FILE = "studylog.db"
# A Jekyll site: this file beside POSTS_DIR makes the folder a workspace with no setup.
JEKYLL_CONFIG = "_config.yml"
POSTS_DIR = "_posts"
# What .studylog/.gitignore holds: the state folder ignores itself, so a blog's own
# .gitignore never needs an edit.
STATE_GITIGNORE = "*\n"


class WorkspaceError(Exception):
    """No usable workspace: the message says how to make one."""


def _inside(real: str, folder: Path) -> bool:
    base = os.path.realpath(folder)
    return real == base or real.startswith(base.rstrip(os.sep) + os.sep)


@dataclass(frozen=True)
class Workspace:
    """A study workspace: its notes folders (notes/ unless set), experiments/, studylog.toml
    and the store under .studylog/."""

    root: Path
    # The folders holding notes, workspace-relative POSIX paths ("." is the root itself).
    note_dirs: tuple[str, ...] = (NOTES_DIR,)
    # Where root-absolute links in notes point (a blog's site root); None: the root.
    site_root: Path | None = None

    def contains(self, path: str | os.PathLike[str]) -> bool:
        """Whether `path`, its symbolic links followed, lies inside the workspace or the site
        root: the one rule for what indexing and export may read (a cloned repository's link
        to /etc/passwd or ~/.ssh may not be read, searched or published)."""
        real = os.path.realpath(path)
        if _inside(real, self.root):
            return True
        return self.site_root is not None and _inside(real, self.site_root)

    @property
    def site(self) -> Path:
        """The folder a root-absolute path (`/assets/img/x.png`) in a note starts from."""
        return self.site_root if self.site_root is not None else self.root

    @property
    def notes_base(self) -> str:
        """The workspace-relative folder note paths are relative to: `notes` in the classic
        layout (paths as `pytorch/x.md`), "" when notes folders are set (paths keep their
        folder: `_posts/2022-01-06-x.md`)."""
        return NOTES_DIR if self.note_dirs == (NOTES_DIR,) else ""

    @property
    def notes_dir(self) -> Path:
        """The folder note paths are relative to (see `notes_base`)."""
        return self.root / self.notes_base if self.notes_base else self.root

    @property
    def note_folders(self) -> list[Path]:
        """Every folder that holds notes (what an export's --out may not be inside)."""
        return [self.root / d if d != "." else self.root for d in self.note_dirs]

    def note_file(self, path: str) -> Path:
        """The file of the note at `path` (a note path as the store keeps it)."""
        return self.notes_dir / path

    def label(self, path: str) -> str:
        """How messages name the note at `path`: its workspace-relative path."""
        return f"{self.notes_base}/{path}" if self.notes_base else path

    def workspace_path(self, path: str) -> str:
        """The note at `path` as a workspace-relative POSIX path."""
        return self.label(path)

    def inner_path(self, path: str) -> str:
        """The note's path inside the notes folder that holds it (what folder names are
        read from: `_posts/2022/x.md` → `2022/x.md`)."""
        if self.notes_base:
            return path
        for folder in sorted(self.note_dirs, key=len, reverse=True):
            if folder == ".":
                continue
            if path.startswith(folder.rstrip("/") + "/"):
                return path[len(folder.rstrip("/")) + 1 :]
        return path

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


def is_jekyll_site(folder: Path) -> bool:
    """A Jekyll site: `_config.yml` beside `_posts/`."""
    return (folder / JEKYLL_CONFIG).is_file() and (folder / POSTS_DIR).is_dir()


def jekyll_config_problem(folder: Path) -> str | None:
    """What is wrong with a Jekyll site's `_config.yml` (unreadable, not YAML, not a
    mapping), as a warning naming the file and the cause; None when it reads well or the
    folder is no Jekyll site. Jekyll itself would refuse to build the site."""
    import yaml

    path = folder / JEKYLL_CONFIG
    if not is_jekyll_site(folder):
        return None
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        cause = getattr(exc, "strerror", None) or exc
        return f"cannot be read ({cause}); Jekyll cannot build the site either"
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or exc
        return f"is not valid YAML{where} ({problem}); Jekyll cannot build the site either"
    if data is not None and not isinstance(data, dict):
        return f"holds a {type(data).__name__}, not settings (a YAML mapping); Jekyll needs one"
    return None


def is_workspace(folder: Path) -> bool:
    return (
        (folder / NOTES_DIR).is_dir()
        or (folder / SETTINGS_FILE).is_file()
        or is_jekyll_site(folder)
    )


def configured(root: Path) -> Workspace:
    """The workspace at `root` with its notes folders and site root: `[notes] dirs` and
    `[export] site_root` from studylog.toml, else `_posts/` in a Jekyll site, else `notes/`.
    SettingsError when studylog.toml cannot be used."""
    from studylog.settings import load_settings

    settings = load_settings(root / SETTINGS_FILE)
    dirs = tuple(settings.notes.dirs)
    if not dirs and is_jekyll_site(root):  # its posts, and a notes/ folder beside them
        dirs = (POSTS_DIR, NOTES_DIR) if (root / NOTES_DIR).is_dir() else (POSTS_DIR,)
    if not dirs:
        dirs = (NOTES_DIR,)
    site = settings.export.site_root.strip()
    site_root = (root / site).resolve() if site and site != "." else None
    # studylog.toml may come with a cloned repository: a site root outside the workspace
    # would let its notes and exports read anything there (site_root = "/").
    if site_root is not None and not _inside(str(site_root), root):
        from studylog.settings import SettingsError

        raise SettingsError(
            f"{root / SETTINGS_FILE}: [export] site_root must be a folder inside the "
            f"workspace, got {site!r}"
        )
    # One folder named twice (`_posts`, `_posts/../_posts`) is read once.
    return Workspace(root, tuple(dict.fromkeys(_clean_dir(d) for d in dirs)), site_root)


def _clean_dir(entry: str) -> str:
    """A `dirs` entry as a normalised POSIX path ("." for the root); one that is absolute
    or climbs out stays as written, and the scan refuses it with a warning."""
    text = entry.replace("\\", "/").strip()
    if not text or text.startswith("/"):
        return text
    return posixpath.normpath(text)


def ensure_state_dir(state_dir: Path) -> None:
    """Make `.studylog/`, ignored by git from inside (`.gitignore` holding `*`), so that
    studylog writes nothing into a blog or repository but this one folder."""
    state_dir.mkdir(parents=True, exist_ok=True)
    ignore = state_dir / ".gitignore"
    if not ignore.exists():
        ignore.write_text(STATE_GITIGNORE, encoding="utf-8")


def _has_markdown(folder: Path) -> bool:
    """Whether `folder` holds *.md files a few levels down (a notes repo, not a workspace)."""
    for depth in ("*.md", "*/*.md", "*/*/*.md", "*/*/*/*.md"):
        if next(folder.glob(depth), None) is not None:
            return True
    return False


def _use_as_is(root: Path) -> str:
    return (
        f" {root} holds markdown notes: to use them where they are, write a {SETTINGS_FILE} "
        f'there holding `[notes]` and `dirs = ["."]` (or the folders that hold the notes).'
    )


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
                f"{root} (from {source}) holds neither notes/ nor {SETTINGS_FILE} "
                f"(nor a Jekyll site's {JEKYLL_CONFIG} and {POSTS_DIR}/). "
                f"Make a workspace there with: studylog init --empty {root}."
                + (_use_as_is(root) if _has_markdown(root) else "")
            )
        return configured(root)
    start = (cwd or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if is_workspace(folder):
            return configured(folder)
    raise WorkspaceError(
        f"No studylog workspace in {start} or any folder above it "
        f"(a workspace is a folder holding notes/ or {SETTINGS_FILE}, or a Jekyll site). "
        "Make one with `studylog init DIR`, or point at one with --workspace DIR "
        f"or ${ENV_WORKSPACE}." + (_use_as_is(start) if _has_markdown(start) else "")
    )


class SampleError(Exception):
    """The sample course cannot be read as released: the message says why."""


def sample_files(source: Path | None = None) -> dict[str, bytes]:
    """The sample course as released, `notes/...` and `experiments/...` → bytes: the package
    data of an installed studylog, or the files committed in a checkout (`git archive HEAD`),
    never scratch notes or local edits lying in a working tree."""
    import io
    import subprocess
    import tarfile

    root = source if source is not None else sample_course()
    if not (root / ".git").exists():  # package data: exactly what was built into the wheel
        files: dict[str, bytes] = {}
        for name in (NOTES_DIR, EXPERIMENTS_DIR):
            for path in sorted((root / name).rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts:
                    files[path.relative_to(root).as_posix()] = path.read_bytes()
        return files
    try:
        archive = subprocess.run(
            ["git", "-C", str(root), "archive", "--format=tar", "HEAD", NOTES_DIR, EXPERIMENTS_DIR],
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        raise SampleError(
            f"cannot read the sample course committed in {root} with git "
            f"({detail.decode(errors='replace').strip() or exc}); use `studylog init --empty`"
        ) from exc
    files = {}
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        for member in tar.getmembers():
            if member.isfile() and "__pycache__" not in member.name.split("/"):
                handle = tar.extractfile(member)
                if handle is not None:
                    files[member.name] = handle.read()
    return files


def sample_course() -> Path:
    """The bundled sample course: package data in a wheel, the repository root in a checkout."""
    packaged = Path(__file__).parent / "_sample"
    if (packaged / NOTES_DIR).is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent
