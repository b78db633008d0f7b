"""Export safety: an export never changes a note nor replaces or removes a file it did not
write, never writes through a link, never reads outside the workspace, and never turns a
snippet's name or path into code; `--in-place` rewrites only its own blocks."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import nbformat
import pytest

from studylog.export.collect import ExportError
from studylog.export.files import MANIFEST
from studylog.export.inplace import export_in_place
from studylog.paths import Workspace
from studylog.store.db import open_store
from studylog.store.index import index_notes
from tests import test_export
from tests.conftest import Cli
from tests.store_helpers import export, indexed_store
from tests.test_export import MLP, record
from tests.tui_helpers import settings

course = test_export.course  # the bundled course with recorded runs (a fixture)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32  # enough of a PNG for a browser to try


def _index(ws: Workspace) -> None:
    indexed_store(ws).close()


def _tree(folder: Path) -> dict[str, str]:
    """Every file and link under `folder`, with its contents' hash (or the link's target)."""
    out = {}
    for path in sorted(folder.rglob("*")):
        key = str(path.relative_to(folder))
        if path.is_symlink():
            out[key] = f"-> {path.readlink()}"
        elif path.is_file():
            out[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


# -- point 1: nothing lost --------------------------------------------------------------


@pytest.mark.parametrize("out", ["notes", "notes/", "notes/dl-basics", "./notes/../notes/x"])
def test_export_into_notes_is_refused_and_changes_nothing(course, out, monkeypatch):
    user_files = course.notes_dir / "dl-basics" / "2022-01-18-neural-networks-mlp_files"
    user_files.mkdir()
    (user_files / "my-drawing.png").write_bytes(PNG)
    before = _tree(course.notes_dir)
    monkeypatch.chdir(course.root)
    result = Cli(course.root)("export", "--all", "--format", "md", "--out", out, ok=False)
    assert result.exit_code != 0
    assert "inside the notes folder" in result.stderr
    assert "studylog export --in-place" in result.stderr
    assert _tree(course.notes_dir) == before


def test_files_in_out_that_export_did_not_write_are_kept(course, tmp_path):
    out = tmp_path / "out"
    note = out / MLP
    files = note.parent / "2022-01-18-neural-networks-mlp_files"
    files.mkdir(parents=True)
    note.write_text("my own page\n")
    (files / "my-drawing.png").write_bytes(PNG)
    (files / "linear-regression-loss.png").write_bytes(PNG)  # the name export would use
    before = _tree(out)

    for _ in range(2):  # a re-export finds the same names and keeps the user's files
        report = export(course, [MLP], "md", out)
        assert report.failed == []
        assert {k: v for k, v in _tree(out).items() if k in before} == before
    written = sorted(str(p.relative_to(out)) for p in report.files)
    assert written == [
        "dl-basics/2022-01-18-neural-networks-mlp-2.md",
        "dl-basics/2022-01-18-neural-networks-mlp-2_files/linear-regression-loss.png",
    ]
    text = (out / written[0]).read_text()
    assert "](2022-01-18-neural-networks-mlp-2_files/linear-regression-loss.png)" in text
    assert sum("is taken" in w for w in report.warnings) == 1
    assert not list(out.rglob("*-3*"))


def test_a_file_changed_since_export_is_no_longer_replaced(course, tmp_path):
    out = tmp_path / "out"
    export(course, [MLP], "html", out)
    page = (out / MLP).with_suffix(".html")
    page.write_text("edited by hand\n")
    report = export(course, [MLP], "html", out)
    assert page.read_text() == "edited by hand\n"
    assert [p.name for p in report.files] == ["2022-01-18-neural-networks-mlp-2.html"]


def test_an_earlier_exports_own_files_are_replaced_in_place(course, tmp_path):
    out = tmp_path / "out"
    first = export(course, [MLP], "md", out)
    second = export(course, [MLP], "md", out)
    assert second.files == first.files and second.warnings == first.warnings
    manifest = json.loads((out / MANIFEST).read_text())
    assert sorted(manifest["files"]) == sorted(str(p.relative_to(out)) for p in first.files)


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_names_that_collide_once_made_safe_get_distinct_files(workspace, write_note, tmp_path, fmt):
    write_note("x:y.md", "# colon\n")
    write_note("x_y.md", "# underscore\n")
    write_note("a/day1.md", "---\ntopic: DL\n---\n# day one of a\n")
    write_note("b/day1.md", "---\ntopic: DL\n---\n# day one of b\n")
    _index(workspace)
    out = tmp_path / "out"
    paths = ["a/day1.md", "b/day1.md", "x:y.md", "x_y.md"]
    report = export(workspace, paths, fmt, out, layout="topic")
    assert report.failed == [] and report.notes == 4
    pages = [p for p in report.files if p.name != "index.html"]
    assert len(pages) == len(set(pages)) == 4
    bodies = {p.read_text() for p in pages}
    assert all(any(t in b for b in bodies) for t in ("colon", "underscore", "of a", "of b"))
    assert sum("is taken" in w for w in report.warnings) == 2
    if fmt == "html":
        index = (out / "index.html").read_text()
        assert all(f'href="{p.relative_to(out)}"' in index for p in pages)


def test_a_manifest_that_cannot_be_read_stops_theexport(course, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / MANIFEST).write_text("not json")
    with pytest.raises(ExportError, match=r"\.studylog-export\.json is not an export manifest"):
        export(course, [MLP], "md", out)
    assert (out / MANIFEST).read_text() == "not json"


# -- point 11: no write through a link ------------------------------------------------


@pytest.mark.parametrize("planted", [".day1.html.tmp", "day1.html"])
def test_links_planted_in_out_lead_nowhere(workspace, write_note, tmp_path, planted):
    write_note("a/day1.md", "# Day 1\n")
    _index(workspace)
    out, victim = tmp_path / "out", tmp_path / "elsewhere" / "victim.txt"
    (out / "a").mkdir(parents=True)
    victim.parent.mkdir()
    victim.write_text("precious\n")
    (out / "a" / planted).symlink_to(victim)
    report = export(workspace, ["a/day1.md"], "html", out)
    assert report.failed == []
    assert victim.read_text() == "precious\n"
    assert (out / "a" / planted).is_symlink()  # not ours: left as it was
    written = report.files[0]
    assert written.name == ("day1-2.html" if planted == "day1.html" else "day1.html")
    assert not written.is_symlink() and "Day 1" in written.read_text()


def test_a_link_planted_at_the_manifest_is_refused(course, tmp_path):
    out, secret = tmp_path / "out", tmp_path / "secret.json"
    out.mkdir()
    secret.write_text('{"files": {}}')
    (out / MANIFEST).symlink_to(secret)
    with pytest.raises(ExportError, match="cannot read the export manifest"):
        export(course, [MLP], "md", out)
    assert secret.read_text() == '{"files": {}}'


# -- point 10: reads only inside the workspace ----------------------------------------


def test_html_inlines_only_images_inside_the_workspace(workspace, write_note, tmp_path):
    secret = tmp_path / "private.png"
    secret.write_bytes(PNG + b"SECRET")
    (workspace.notes_dir / "img").mkdir()
    (workspace.notes_dir / "img" / "ok.png").write_bytes(PNG + b"FINE")
    (workspace.notes_dir / "img" / "link.png").symlink_to(secret)
    write_note(
        "pics.md",
        f"# Pics\n\n![abs]({secret})\n\n![up](../../private.png)\n\n"
        '![link](img/link.png)\n\n<img src="../../private.png">\n\n![ok](img/ok.png)\n',
    )
    _index(workspace)
    report = export(workspace, ["pics.md"], "html", tmp_path / "out")
    page = (tmp_path / "out" / "pics.html").read_text()
    assert base64.b64encode(PNG + b"SECRET").decode() not in page
    assert base64.b64encode(PNG + b"FINE").decode() in page
    assert sum("outside the workspace; not inlined" in w for w in report.warnings) == 4


def test_notebook_embeds_no_experiment_linked_outside_the_workspace(
    workspace, write_note, tmp_path
):
    secret = tmp_path / "id_rsa"
    secret.write_text("PRIVATE KEY\n")
    (workspace.experiments_dir / "leak.py").symlink_to(secret)
    (workspace.experiments_dir / "fine.py").write_text("print('fine')\n")
    write_note("n.md", "# N\n\n[leak](../experiments/leak.py) [fine](../experiments/fine.py)\n")
    _index(workspace)
    report = export(workspace, ["n.md"], "ipynb", tmp_path / "out")
    text = (tmp_path / "out" / "n.ipynb").read_text()
    assert "PRIVATE KEY" not in text and "print('fine')" in text
    assert any("experiments/leak.py leads outside the workspace" in w for w in report.warnings)


def test_a_note_that_links_outside_the_workspace_is_not_exported(workspace, write_note, tmp_path):
    from studylog.export.collect import collect

    secret = tmp_path / "passwd"
    secret.write_text("root:x:0:0\n")
    note = write_note("evil.md", "# Evil\n")
    _index(workspace)
    note.unlink()
    note.symlink_to(secret)  # after indexing: whatever the index does with such links
    db = open_store(workspace.db_path)
    try:
        with pytest.raises(ExportError, match="leads outside the workspace"):
            collect(db, workspace, "evil.md")
    finally:
        db.close()


# -- point 12: no code from names and paths -------------------------------------------


def test_snippet_fields_with_control_characters_never_become_code(workspace, write_note, tmp_path):
    (workspace.experiments_dir / "a.py").write_text("print('a')\n")
    write_note(
        "inject.md",
        "---\n"
        "snippets:\n"
        "  - \"experiments/a.py\\nimport os; os.system('echo pwned')\\nx.py\"\n"
        "  - path: experiments/a.py\n"
        '    args: "--x\\nimport shutil"\n'
        "  - path: experiments/a.py\n"
        '    name: "ok\\u001b]52;c;Zm9v\\u0007"\n'
        "  - path: experiments/a.py\n"
        "    name: plain\n"
        "    args: --plain\n"
        "---\n# Inject\n",
    )
    _index(workspace)
    report = export(workspace, ["inject.md"], "ipynb", tmp_path / "out")
    notebook = nbformat.read(tmp_path / "out" / "inject.ipynb", as_version=4)
    code = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
    assert "os.system" not in code and "import shutil" not in code and "\x1b" not in code
    assert "sys.argv = ['experiments/a.py', '--plain']" in code  # the plain one is there
    unsafe = [w for w in report.warnings if "newline or control character" in w]
    assert len(unsafe) == 3
    assert all("\n" not in w and "\x1b" not in w for w in unsafe)


# -- --in-place ------------------------------------------------------------------------

INPLACE = (
    "\ufeff# Windows note\r\n\r\n"
    "```python run name=hello\r\nprint('hello')\r\n```\r\n"
    "Text right after the fence.\r\n\r\n"
    "```python run name=never\r\nprint(2)\r\n```\r\n"
    "last line without newline"
)


def test_in_place_writes_one_block_per_snippet_and_keeps_every_other_byte(workspace, write_note):
    note = write_note("win.md", INPLACE.encode("utf-8"))
    cli = Cli(workspace.root)
    cli("run", "win.md", "--snippet", "hello")
    cli("export", "--in-place", "win.md")
    once = note.read_bytes()
    assert once.startswith(b"\xef\xbb\xbf") and b"\nhello\r\n" in once
    assert once.count(b"\r\n") == once.count(b"\n")  # CRLF everywhere, the block too
    assert once.count(b"<!-- studylog:output hello") == 1 and b"never" not in once.split(b"```")[-1]
    cli("export", "--in-place", "win.md")
    assert note.read_bytes() == once  # idempotent

    db = open_store(workspace.db_path)  # a later run, whose output mimics the markers
    index_notes(db, workspace, settings())
    record(db, "win.md", "hello", "<!-- /studylog:output 000000000000 -->\nagain\r\n", {})
    db.close()
    cli("export", "--in-place", "win.md")
    twice = note.read_bytes()
    assert twice.count(b"<!-- studylog:output hello") == 1 and b"again" in twice
    assert b"\nhello\r\n" not in twice  # the earlier block is gone

    db = open_store(workspace.db_path)
    report = export_in_place(db, workspace, ["win.md"])
    db.close()
    assert report.unchanged == ["notes/win.md"] and note.read_bytes() == twice
    from studylog.export.inplace import _LINE, strip_blocks

    body = twice[3:].decode()
    assert "".join(strip_blocks(_LINE.findall(body), "win.md")) == INPLACE[1:]


def test_in_place_refuses_an_unclosed_block_and_options_for_out(workspace, write_note):
    text = "# N\n\n```python run name=a\nprint(1)\n```\n<!-- studylog:output a -->\nmine\n"
    note = write_note("n.md", text)
    cli = Cli(workspace.root)
    cli("run", "n.md")
    result = cli("export", "--in-place", "n.md", ok=False)
    assert result.exit_code == 1 and "does not close" in result.stderr
    assert note.read_text() == text
    result = cli("export", "--in-place", "--out", "x", "n.md", ok=False)
    assert "leave out --format and --out" in result.stderr
    result = cli("export", "n.md", ok=False)
    assert "--in-place" in result.stderr
