"""One note or one signal must not disable a workspace: a killed index leaves no workers,
links out of the workspace are not read, alias bombs and deep nesting stay one note's
warning."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from studylog.notes.blocks import DetailsBlock, split_blocks
from studylog.notes.model import MAX_DETAILS_DEPTH
from studylog.notes.parse import parse_note
from studylog.paths import Workspace
from studylog.store.index import index_notes
from studylog.store.queries import get_note, list_notes
from studylog.store.search import search
from tests.processes import gone_or_zombie, wait_for

DEADLINE = 60.0


# -- point 6: a killed `studylog index` takes its worker pool with it ---------------------


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found.extend(int(c) for c in f.read().split())
    except OSError:  # gone, or reaped between listing and reading (ESRCH)
        pass
    return found


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:  # gone, or reaped between the open and the read (ESRCH)
        return ""


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc")
@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one CPU: indexing uses no workers")
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "sigterm"])
def test_killed_index_leaves_no_worker_or_resource_tracker(
    tmp_path: Path, workspace: Workspace, sig: int
):
    body = "word " * 200
    for i in range(5000):  # well over PARALLEL_MIN, so the index runs a worker pool
        (workspace.notes_dir / f"n{i:04}.md").write_text(f"# Note {i}\n\n{body}\n")
    # stderr to a file: a leaked worker would hold a pipe open for ever.
    err_path = tmp_path / "stderr.txt"
    kids: list[int] = []
    with err_path.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "studylog", "index", "--workspace", str(workspace.root)],
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:

        def pool_started() -> list[int]:
            found = _children(proc.pid)
            spawned = [k for k in found if "spawn_main" in _cmdline(k)]
            return found if len(spawned) >= 2 else []

        kids = wait_for(pool_started, "the index's worker pool")
        assert proc.poll() is None, "the index ended before it could be killed"
        # The resource tracker is the pool's too: it must end with the workers.
        assert any("resource_tracker" in _cmdline(k) for k in kids), kids
        proc.send_signal(sig)
        code = proc.wait(timeout=DEADLINE)
        survivors = {k: _cmdline(k) for k in kids}
        wait_for(
            lambda: all(gone_or_zombie(k) for k in kids),
            f"the workers and resource tracker to end: {survivors}",
        )
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for k in kids:  # what this test started, if the assertion above failed
            if not gone_or_zombie(k):
                os.kill(k, signal.SIGKILL)
    stderr = err_path.read_text(errors="replace")
    if sig == signal.SIGTERM:
        # Ended like Ctrl-C: the process shut its pool down and exited on its own, non-zero.
        assert code > 0, (code, stderr)
        assert "Traceback" not in stderr, stderr
    else:
        assert code == -signal.SIGKILL


# -- point 10 (index half): nothing outside the workspace is read -------------------------


def test_links_out_of_the_workspace_are_not_indexed(tmp_path, store, workspace, settings):
    outside = tmp_path / "private"
    outside.mkdir()
    (outside / "secret.md").write_text("# Secret\n\nhunter2 ssh key\n")
    (outside / "more.md").write_text("# More\n\nhunter2 again\n")
    notes = workspace.notes_dir
    (notes / "ok.md").write_text("# Fine\n\nordinary words\n")
    (notes / "secret.md").symlink_to(outside / "secret.md")
    (notes / "passwd.md").symlink_to("/etc/passwd")
    (notes / "private").symlink_to(outside, target_is_directory=True)
    # Links that stay inside the workspace are read as before.
    (notes / "alias.md").symlink_to(notes / "ok.md")
    (workspace.root / "drafts").mkdir()
    (workspace.root / "drafts" / "d.md").write_text("# Draft\n\nkept inside\n")
    (notes / "draft.md").symlink_to(workspace.root / "drafts" / "d.md")

    report = index_notes(store, workspace, settings)

    by_path = {n.path: n for n in list_notes(store)}
    # A link to a note already read is that note: read once (the workspace issue's rule).
    assert by_path["ok.md"].readable and "alias.md" not in by_path
    assert by_path["draft.md"].title == "Draft"
    assert "private/secret.md" not in by_path and "private/more.md" not in by_path
    for path, target in (("secret.md", outside / "secret.md"), ("passwd.md", "/etc/passwd")):
        note = by_path[path]
        assert not note.readable
        assert any("outside the workspace" in w and str(target) in w for w in note.warnings)
        assert get_note(store, path).body == ""
        assert f"notes/{path}: symbolic link to {target}, outside the workspace; skipped" in (
            report.warnings
        )
    assert any(
        w.startswith("notes/private: symbolic link to") and "outside the workspace" in w
        for w in report.warnings
    )
    assert search(store, "hunter2") == []
    assert search(store, "root") == []


def test_export_all_leaves_out_a_note_linked_out_of_the_workspace(tmp_path, workspace, run_cli):
    (workspace.notes_dir / "ok.md").write_text("# Fine\n\nordinary words\n")
    (workspace.notes_dir / "passwd.md").symlink_to("/etc/passwd")
    out = tmp_path / "out"
    run_cli("export", "--all", "--format", "md", "--out", str(out))
    written = {p.relative_to(out).as_posix(): p for p in out.rglob("*") if p.is_file()}
    assert "ok.md" in written
    assert not any("passwd" in name for name in written)
    assert not any("root:x:0:0" in p.read_text(errors="replace") for p in written.values())


def test_notes_folder_linked_out_of_the_workspace_is_not_read(tmp_path, settings):
    outside = tmp_path / "home"
    outside.mkdir()
    (outside / "diary.md").write_text("# Diary\n\nprivate\n")
    root = tmp_path / "cloned"
    root.mkdir()
    (root / "notes").symlink_to(outside, target_is_directory=True)
    from studylog.store.db import open_store

    workspace = Workspace(root)
    db = open_store(workspace.db_path)
    try:
        report = index_notes(db, workspace, settings)
        assert list_notes(db) == []
        assert report.warnings == [
            f"notes/.: symbolic link to {outside}, outside the workspace; skipped"
        ]
    finally:
        db.close()


# -- point 13: a YAML alias bomb is one note's warning -----------------------------------

# Billion laughs: nine levels of nine aliases each, 9^9 (387 million) strings once expanded.
BOMB = (
    "---\n"
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + "".join(
        f"{name}: &{name} [{','.join([f'*{prev}'] * 9)}]\n"
        for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
    )
    + "title: *i\ntags: *i\ntopic: *i\n---\n# Bomb\n\nthe body is still indexed\n"
)


def test_yaml_alias_bomb_is_refused_and_the_note_indexed_without_front_matter(
    store, workspace, settings, write_note
):
    assert len(BOMB.encode()) < 600
    write_note("bomb.md", BOMB)
    write_note("ok.md", "---\ntitle: Fine\ntags: [x]\n---\nordinary\n")
    report = index_notes(store, workspace, settings)
    store.close()

    by_path = {n.path: n for n in list_notes(_reopen(workspace))}
    bomb = by_path["bomb.md"]
    assert bomb.readable
    assert bomb.title == "Bomb"  # from the heading: the front matter is ignored whole
    assert bomb.tags == [] and bomb.topic is None
    assert any("YAML alias" in w and "front matter is ignored" in w for w in bomb.warnings)
    assert any(w.startswith("notes/bomb.md: front matter repeats") for w in report.warnings)
    assert by_path["ok.md"].title == "Fine" and by_path["ok.md"].tags == ["x"]
    # On main the expansion wrote hundreds of megabytes into the store.
    assert workspace.db_path.stat().st_size < 2_000_000


def _reopen(workspace: Workspace):
    from studylog.store.db import open_store

    return open_store(workspace.db_path)


def test_front_matter_without_aliases_still_reads_anchors_are_harmless():
    note = parse_note("---\ntitle: &t Plain\ntags: [a, b]\n---\nbody\n", "x.md")
    assert (note.title, note.tags, note.warnings) == ("Plain", ["a", "b"], [])


# -- point 14: deep nesting is capped, and any failure stays one note's warning ------------

DEEP = (
    "# Deep\n\n"
    + "<details><summary>level</summary>\n" * 1000
    + "innermost words\n"
    + "</details>\n" * 1000
    + "\nafter the sections\n"
)


def _depth(sections) -> int:
    depth = 0
    while sections:
        depth += 1
        sections = sections[-1].children
    return depth


def test_thousand_nested_details_are_capped_with_a_warning(store, workspace, settings, write_note):
    write_note("deep.md", DEEP)
    write_note("ok.md", "# Fine\n")
    report = index_notes(store, workspace, settings)
    by_path = {n.path: n for n in list_notes(store)}
    assert by_path["ok.md"].readable
    deep = get_note(store, "deep.md")
    assert deep.summary.readable
    assert any(f"deeper than {MAX_DETAILS_DEPTH} levels" in w for w in deep.summary.warnings)
    assert any(w.startswith("notes/deep.md: <details> sections nest") for w in report.warnings)
    assert _depth(deep.sections) == 1 + MAX_DETAILS_DEPTH  # the heading, then the details
    assert search(store, "innermost")  # the flattened text is still searchable
    # The display's blocks are capped the same way and keep the deeper text.
    blocks = split_blocks(deep.body)
    depth = 0
    while details := [b for b in blocks if isinstance(b, DetailsBlock)]:
        depth += 1
        blocks = details[0].children
    assert depth == MAX_DETAILS_DEPTH
    assert any("innermost words" in getattr(b, "text", "") for b in blocks)


def test_details_after_a_deep_run_nest_normally_again():
    text = (
        "<details><summary>x</summary>\n" * (MAX_DETAILS_DEPTH + 5)
        + "</details>\n" * (MAX_DETAILS_DEPTH + 5)
        + "\n<details><summary>Next</summary>\n\n<details><summary>Inner</summary>\n\n"
        "</details>\n</details>\n"
    )
    note = parse_note(text, "x.md")
    assert _depth(note.sections[:1]) == MAX_DETAILS_DEPTH
    assert note.sections[-1].title == "Next"
    assert [c.title for c in note.sections[-1].children] == ["Inner"]


def test_deep_note_cli_commands_and_export_work(tmp_path, workspace, run_cli):
    (workspace.notes_dir / "deep.md").write_text(DEEP)
    (workspace.notes_dir / "ok.md").write_text("# Fine\n")
    run_cli("index")
    assert "Deep" in run_cli("list").stdout
    run_cli("show", "deep.md")
    for fmt in ("md", "html", "ipynb"):
        out = tmp_path / fmt
        run_cli("export", "--all", "--format", fmt, "--out", str(out))
        assert any(out.rglob(f"deep*.{fmt}"))


async def test_deep_note_opens_in_the_tui_with_its_outline(workspace):
    from studylog.tui.app import StudylogApp
    from studylog.tui.screens.outline import OutlineScreen
    from studylog.tui.widgets.note_view import NoteView
    from tests.tui_helpers import main_screen, settings, until

    (workspace.notes_dir / "deep.md").write_text(DEEP)
    (workspace.notes_dir / "ok.md").write_text("# Fine\n")
    async with StudylogApp(workspace, settings()).run_test(size=(120, 40)) as pilot:
        screen = main_screen(pilot)
        await until(pilot, lambda: len(screen.notes) == 2, "both notes to load")
        screen.open_note("deep.md")
        await until(
            pilot,
            lambda: screen.detail is not None and screen.detail.summary.path == "deep.md",
            "the deep note to open",
        )
        await until(
            pilot,
            lambda: 1 <= len(screen.query_one(NoteView).sections()) <= MAX_DETAILS_DEPTH,
            "its sections to show, nested no deeper than the cap",
        )
        await pilot.press("g")  # the outline: the sections tree
        await until(pilot, lambda: isinstance(pilot.app.screen, OutlineScreen), "the outline")
        await pilot.pause()
        assert pilot.app.is_running


# A front-matter date the calendar lacks: PyYAML's timestamp constructor raises ValueError,
# not a YAMLError, and on main that one note stopped every command of the workspace.
IMPOSSIBLE_DATE = "---\ntitle: Thirteenth month\ndate: 2022-13-45\n---\n# Body\n"


def test_an_impossible_front_matter_date_is_that_notes_warning(
    store, workspace, settings, write_note
):
    write_note("bad-date.md", IMPOSSIBLE_DATE)
    write_note("ok.md", "# Fine\n")
    report = index_notes(store, workspace, settings)
    by_path = {n.path: n for n in list_notes(store)}
    assert by_path["ok.md"].readable
    note = by_path["bad-date.md"]
    assert note.readable and note.title == "Body"  # indexed without its front matter
    assert any("month must be in 1..12" in w for w in note.warnings), note.warnings
    assert any(w.startswith("notes/bad-date.md: front matter holds") for w in report.warnings)


def test_any_failure_while_reading_a_note_is_that_notes_problem(
    store, workspace, settings, write_note
):
    """The indexer's guard: whatever the parsing of one note raises becomes that note's
    problem, naming the file and the cause, and the other notes are indexed. Here PyYAML's
    own constructor fails on `!!timestamp` applied to a non-date (an AttributeError inside
    PyYAML that nothing in the parser expects)."""
    write_note("odd.md", "---\ndate: !!timestamp not-a-date\n---\n# Odd\n")
    write_note("ok.md", "# Fine\n")
    report = index_notes(store, workspace, settings)
    by_path = {n.path: n for n in list_notes(store)}
    assert by_path["ok.md"].readable
    odd = by_path["odd.md"]
    assert not odd.readable
    assert odd.warnings == [
        "cannot be read as a note (AttributeError: 'NoneType' object has no attribute "
        "'groupdict'); skipped"
    ]
    assert f"notes/odd.md: {odd.warnings[0]}" in report.warnings
