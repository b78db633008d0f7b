"""Indexing notes/ into the store: incremental, moves keep identity, bad files never stop it."""

from __future__ import annotations

import os
import shutil
import sqlite3

import pytest

from studylog.store.index import index_notes
from studylog.store.queries import get_note, list_notes

NOTE = "---\ntitle: {title}\ndate: 2022-01-25\n---\n# {title}\n\n역전파를 공부했다.\n"


def _index(store, workspace, settings, **kw):
    return index_notes(store, workspace, settings, **kw)


def _by_path(store):
    return {n.path: n for n in list_notes(store)}


def test_first_index_adds_every_note_with_its_rows(store, workspace, settings, write_note):
    write_note("a.md", NOTE.format(title="A") + "- [ ] todo\n\n```python run\nprint(1)\n```\n")
    write_note("sub/b.md", NOTE.format(title="B"))
    report = _index(store, workspace, settings)
    assert (report.added, report.changed, report.unchanged) == (2, 0, 0)
    notes = _by_path(store)
    assert set(notes) == {"a.md", "sub/b.md"}
    detail = get_note(store, "a.md")
    assert [t.text for t in detail.todos] == ["todo"]
    assert [s.name for s in detail.snippets] == ["snippet-1"]


def test_unchanged_files_are_not_read_again(store, workspace, settings, write_note):
    write_note("a.md", NOTE.format(title="A"))
    write_note("b.md", NOTE.format(title="B"))
    _index(store, workspace, settings)
    reads = []
    report = _index(store, workspace, settings, progress=lambda done, total: reads.append(done))
    assert reads == []
    assert (report.added, report.changed, report.unchanged, report.warnings) == (0, 0, 2, [])


def test_touched_file_with_same_bytes_is_unchanged(store, workspace, settings, write_note):
    path = write_note("a.md", NOTE.format(title="A"))
    _index(store, workspace, settings)
    os.utime(path, ns=(1, 1))
    report = _index(store, workspace, settings)
    assert (report.changed, report.unchanged) == (0, 1)
    reads = []
    _index(store, workspace, settings, progress=lambda done, total: reads.append(done))
    assert reads == []  # the new mtime was recorded, so the file is not even read again


def test_changed_file_is_reparsed_and_search_follows(store, workspace, settings, write_note):
    from studylog.store.search import search

    path = write_note("a.md", NOTE.format(title="A"))
    _index(store, workspace, settings)
    path.write_text(NOTE.format(title="Changed").replace("역전파", "경사하강법"), encoding="utf-8")
    report = _index(store, workspace, settings)
    assert report.changed == 1
    assert _by_path(store)["a.md"].title == "Changed"
    assert [h.path for h in search(store, "경사하강법")] == ["a.md"]
    assert search(store, "역전파") == []


def test_deleted_file_leaves_the_index(store, workspace, settings, write_note):
    path = write_note("a.md", NOTE.format(title="A"))
    write_note("b.md", NOTE.format(title="B"))
    _index(store, workspace, settings)
    path.unlink()
    report = _index(store, workspace, settings)
    assert report.removed == 1
    assert set(_by_path(store)) == {"b.md"}
    assert store.execute("SELECT count(*) FROM sections").fetchone()[0] == 1


def test_moved_file_keeps_its_identity(store, workspace, settings, write_note):
    path = write_note("a.md", NOTE.format(title="A"))
    _index(store, workspace, settings)
    before = _by_path(store)["a.md"].id
    target = workspace.notes_dir / "2022" / "moved.md"
    target.parent.mkdir()
    path.rename(target)
    report = _index(store, workspace, settings)
    assert (report.moved, report.added, report.removed) == (1, 0, 0)
    assert _by_path(store)["2022/moved.md"].id == before


def test_full_reindex_reads_everything_again(store, workspace, settings, write_note):
    write_note("a.md", NOTE.format(title="A"))
    _index(store, workspace, settings)
    assert _index(store, workspace, settings, full=True).changed == 1


# -- bad input: each a warning naming the file and the cause; nothing else lost ---------


def _warnings(store, path):
    return _by_path(store)[path].warnings


def test_invalid_front_matter_note_is_listed_with_warning(store, workspace, settings, write_note):
    write_note("bad.md", "---\ntitle: [x\n---\n# Kept\n")
    write_note("good.md", NOTE.format(title="Good"))
    report = _index(store, workspace, settings)
    assert "invalid YAML front matter" in _warnings(store, "bad.md")[0]
    assert _by_path(store)["bad.md"].title == "Kept"
    assert any(w.startswith("notes/bad.md: invalid YAML") for w in report.warnings)


def test_binary_file_is_listed_unreadable(store, workspace, settings, write_note):
    write_note("image.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    write_note("good.md", NOTE.format(title="Good"))
    _index(store, workspace, settings)
    notes = _by_path(store)
    assert notes["image.md"].readable is False
    assert notes["image.md"].warnings == ["binary file, not text; skipped"]
    assert notes["good.md"].readable


def test_undecodable_bytes_are_refused_with_the_offset(store, workspace, settings, write_note):
    write_note("latin.md", b"# x\n" + b"\xff\xfe\xff\xff\xfa")
    _index(store, workspace, settings)
    assert "not UTF-8 or CP949/EUC-KR" in _warnings(store, "latin.md")[0]


def test_cp949_note_is_read_correctly(store, workspace, settings, write_note):
    write_note("euckr.md", "# 역전파 정리\n\n학습을 한다.\n".encode("cp949"))
    _index(store, workspace, settings)
    note = _by_path(store)["euckr.md"]
    assert note.title == "역전파 정리"
    assert "read as CP949/EUC-KR" in note.warnings[0]


def test_bom_and_crlf_are_read_correctly(store, workspace, settings, write_note):
    text = "---\r\ntitle: 제목\r\ndate: 2022-01-25\r\n---\r\n# 제목\r\n\r\n- [ ] 할 일\r\n"
    write_note("bom.md", "\ufeff".encode() + text.encode())
    _index(store, workspace, settings)
    detail = get_note(store, "bom.md")
    assert detail.summary.title == "제목"
    assert detail.summary.date == "2022-01-25"
    assert detail.summary.warnings == []
    assert [t.text for t in detail.todos] == ["할 일"]
    assert "\r" not in detail.body


def test_empty_file_is_listed_with_warning(store, workspace, settings, write_note):
    write_note("2022-01-25-empty.md", "")
    _index(store, workspace, settings)
    note = _by_path(store)["2022-01-25-empty.md"]
    assert note.warnings == ["empty file"]
    assert note.title == "2022-01-25-empty" and note.date == "2022-01-25"


def test_very_large_file_is_indexed(store, workspace, settings, write_note):
    line = "2022-01-25 12:00:00 INFO step=1234 loss=0.123456 lr=0.001 학습 중\n"
    write_note("log.md", "# Training log\n\n" + line * (5_000_000 // len(line.encode())))
    write_note("good.md", NOTE.format(title="Good"))
    _index(store, workspace, settings)
    assert _by_path(store)["log.md"].title == "Training log"
    from studylog.store.search import search

    assert "log.md" in [h.path for h in search(store, "학습")]


def test_symbolic_link_loops_are_reported_and_skipped(store, workspace, settings, write_note):
    write_note("good.md", NOTE.format(title="Good"))
    (workspace.notes_dir / "loop").symlink_to(workspace.notes_dir, target_is_directory=True)
    (workspace.notes_dir / "a.md").symlink_to(workspace.notes_dir / "b.md")
    (workspace.notes_dir / "b.md").symlink_to(workspace.notes_dir / "a.md")
    report = _index(store, workspace, settings)
    notes = _by_path(store)
    assert notes["a.md"].warnings == ["symbolic link loop; skipped"]
    assert notes["b.md"].warnings == ["symbolic link loop; skipped"]
    assert "good.md" in notes and "loop/good.md" not in notes
    assert any(w.startswith("notes/loop: symbolic link loop") for w in report.warnings)


def test_note_deleted_while_indexing_runs(store, workspace, settings, write_note):
    for name in ("a.md", "b.md", "c.md"):
        write_note(name, NOTE.format(title=name))

    def delete_the_last(done, total):
        if done == 1:
            (workspace.notes_dir / "c.md").unlink()

    report = _index(store, workspace, settings, progress=delete_the_last)
    assert set(_by_path(store)) == {"a.md", "b.md"}
    assert "notes/c.md: deleted while indexing; skipped" in report.warnings


def _unreadable_index(workspace_root: str, queue) -> None:
    """Run in a child that gave up root, so file permissions apply."""
    from studylog.paths import Workspace
    from studylog.settings import Settings
    from studylog.store.db import open_store

    if os.geteuid() == 0:
        os.setgid(65534)
        os.setuid(65534)
    ws = Workspace(__import__("pathlib").Path(workspace_root))
    db = open_store(ws.db_path)
    index_notes(db, ws, Settings())
    queue.put({n.path: n.warnings for n in list_notes(db)})


def test_unreadable_file_is_listed_with_permission_warning():
    import multiprocessing
    import tempfile

    # A folder every user can reach: the child drops root to feel the file's permissions.
    root = tempfile.mkdtemp(prefix="studylog-perm-")
    os.chmod(root, 0o777)
    notes = os.path.join(root, "notes")
    os.mkdir(notes)
    os.chmod(notes, 0o777)
    for name, mode in (("secret.md", 0o000), ("good.md", 0o644)):
        path = os.path.join(notes, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write("# hello\n")
        os.chmod(path, mode)
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_unreadable_index, args=(root, queue))
    try:
        child.start()
        result = queue.get(timeout=60)
        child.join(timeout=60)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    assert result["good.md"] == []
    assert result["secret.md"] == ["permission denied; skipped (check the file's permissions)"]


def test_index_waits_for_another_writer_instead_of_failing(store, workspace, settings, write_note):
    """Another process (a run being recorded) holds the write lock and commits while the
    index waits: the index must wait and then succeed, not fail with "database is locked"
    (which a read-then-write transaction would, its snapshot gone stale)."""
    import threading

    path = write_note("a.md", NOTE.format(title="A"))
    _index(store, workspace, settings)
    path.write_text(NOTE.format(title="Changed"), encoding="utf-8")
    other = sqlite3.connect(workspace.db_path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute("UPDATE notes SET indexed_at = 'by the other writer'")
    timer = threading.Timer(0.3, lambda: other.execute("COMMIT"))
    timer.start()
    try:
        report = _index(store, workspace, settings)
    finally:
        timer.join()
        other.close()
    assert report.changed == 1
    assert _by_path(store)["a.md"].title == "Changed"


def test_missing_snippet_file_warns(store, workspace, settings, write_note):
    write_note("x.md", "# X\n\n[run](../experiments/nope.py)\n")
    _index(store, workspace, settings)
    assert _warnings(store, "x.md") == ["snippet file experiments/nope.py does not exist"]


def test_missing_snippet_file_warning_follows_the_file(store, workspace, settings, write_note):
    """The note is unchanged, its snippet file appears (experiments/ copied after notes/),
    then vanishes: the warning follows the file, once however many snippets name it."""
    write_note(
        "x.md", "# X\n\n[a](../experiments/later.py)\n\n[b](../experiments/later.py#L1-L2)\n"
    )
    _index(store, workspace, settings)
    assert _warnings(store, "x.md") == ["snippet file experiments/later.py does not exist"]
    script = workspace.root / "experiments" / "later.py"
    script.parent.mkdir(exist_ok=True)
    script.write_text("print(1)\nprint(2)\n", encoding="utf-8")
    report = _index(store, workspace, settings)
    assert report.changed == 1
    assert _warnings(store, "x.md") == []
    assert _index(store, workspace, settings).changed == 0
    script.unlink()
    _index(store, workspace, settings)
    assert _warnings(store, "x.md") == ["snippet file experiments/later.py does not exist"]


@pytest.mark.parametrize("order", ["year-first", "day-first"])
def test_settings_date_order_reaches_the_parser(store, workspace, write_note, order):
    from studylog.settings import NoteSettings, Settings

    write_note("x.md", ">Date : 22.01.25\n\n# X\n")
    _index(store, workspace, Settings(notes=NoteSettings(date_order=order)))
    expected = "2022-01-25" if order == "year-first" else "2025-01-22"
    assert _by_path(store)["x.md"].date == expected


def test_worker_processes_give_the_same_index_as_one_process(
    tmp_path, sample_workspace, settings, monkeypatch
):
    """Large batches are parsed in worker processes; the result must not depend on it."""
    from studylog.store import index as index_module
    from studylog.store.db import open_store

    (sample_workspace.notes_dir / "broken.md").write_bytes(b"\x00binary")
    (sample_workspace.notes_dir / "bad-yaml.md").write_text("---\ntitle: [x\n---\n# B\n")

    def listing(db):
        return [(n.to_json(), get_note(db, n.path).to_json()) for n in list_notes(db)]

    one = open_store(tmp_path / "one.db")
    _index(one, sample_workspace, settings)
    monkeypatch.setattr(index_module, "PARALLEL_MIN", 1)
    many = open_store(tmp_path / "many.db")
    report = _index(many, sample_workspace, settings)
    assert report.added == len(list(sample_workspace.notes_dir.rglob("*.md")))
    assert listing(many) == listing(one)
