"""Export: golden files for md, html and ipynb on two bundled notes with recorded runs, the
sanitizer's promises, a notebook that runs in a real kernel, and every bad input."""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

import studylog.store.runs as store_runs
from studylog.export.collect import ExportError
from studylog.export.files import safe_name, safe_relative
from studylog.paths import Workspace, sample_course
from studylog.store.db import open_store
from tests.store_helpers import export, indexed_store, record_run

GOLDEN = Path(__file__).parent / "golden" / "export"
MLP = "dl-basics/2022-01-18-neural-networks-mlp.md"
OPTIMIZATION = "dl-basics/2022-01-19-optimization.md"
UPDATE = os.environ.get("STUDYLOG_UPDATE_GOLDEN") == "1"
# The runs of the goldens: recorded with a fixed environment, which the exports show.
record = functools.partial(record_run, env={"python": "3.11"})


@pytest.fixture
def course(tmp_path, monkeypatch) -> Workspace:
    """The bundled course with recorded runs of two notes, at a fixed time."""
    monkeypatch.setattr(store_runs, "now_iso", lambda: "2026-11-20T21:30:00.000+00:00")
    root = tmp_path / "course"
    for name in ("notes", "experiments"):
        shutil.copytree(sample_course() / name, root / name)
    ws = Workspace(root)
    db = indexed_store(ws)
    decay = [2.0 / (1 + 0.3 * s) for s in range(30)]
    record(
        db,
        MLP,
        "linear-regression",
        "step   0  loss 12.2567\nw = 2.991, b = 2.010\n",
        {"loss": decay},
    )
    record(
        db,
        OPTIMIZATION,
        "optimizers",
        "     sgd: final loss 0.0980\n",
        {"loss_sgd": decay, "loss_momentum": [v / 2 for v in decay]},
    )
    record(db, OPTIMIZATION, "adam", "    adam: final loss 0.0122\n", {"loss": decay}, seed=1)
    db.close()
    return ws


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {name}: run with STUDYLOG_UPDATE_GOLDEN=1, then read it"
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from its golden file"


def _normal_html(text: str) -> str:
    # Plots and the highlighter's CSS depend on library versions: compare the rest.
    text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "data:image/png;base64,…", text)
    return re.sub(r"<style>.*?</style>", "<style>…</style>", text, flags=re.DOTALL)


def _normal_notebook(text: str) -> str:
    notebook = json.loads(text)
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            if "image/png" in output.get("data", {}):
                output["data"]["image/png"] = "…"
    return json.dumps(notebook, ensure_ascii=False, indent=1) + "\n"


@pytest.mark.parametrize("note", [MLP, OPTIMIZATION])
def test_markdown_golden(course, tmp_path, note):
    out = tmp_path / "out"
    report = export(course, [note], "md", out)
    stem = Path(note).stem
    text = (out / note).read_text(encoding="utf-8")
    _golden(f"{stem}.md", text)
    original = (course.notes_dir / note).read_text(encoding="utf-8")
    # The note as written, with blocks added: every original line is there, in order.
    kept = iter(text.split("\n"))
    assert all(line in kept for line in original.split("\n"))
    pngs = sorted(p.name for p in (out / note).parent.glob(f"{stem}_files/*.png"))
    assert pngs and all(
        (out / note).parent.joinpath(f"{stem}_files", p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        for p in pngs
    )
    for png in pngs:
        assert f"]({stem}_files/{png})" in text  # linked with a relative path
    assert report.failed == []


@pytest.mark.parametrize("note", [MLP, OPTIMIZATION])
def test_html_golden(course, tmp_path, note):
    out = tmp_path / "out"
    export(course, [note], "html", out)
    _golden(f"{Path(note).stem}.html", _normal_html((out / note).with_suffix(".html").read_text()))


@pytest.mark.parametrize("note", [MLP, OPTIMIZATION])
def test_notebook_golden(course, tmp_path, note):
    out = tmp_path / "out"
    export(course, [note], "ipynb", out)
    text = (out / note).with_suffix(".ipynb").read_text(encoding="utf-8")
    nbformat.validate(nbformat.reads(text, as_version=4))
    _golden(f"{Path(note).stem}.ipynb", _normal_notebook(text))


def test_a_note_that_never_ran_exports_unchanged(course, tmp_path):
    path = "dl-basics/2022-01-20-backpropagation.md"
    export(course, [path], "md", tmp_path / "out")
    assert (tmp_path / "out" / path).read_bytes() == (course.notes_dir / path).read_bytes()


def test_unchanged_means_byte_for_byte_even_with_a_bom_and_crlf(workspace, write_note, tmp_path):
    raw = "\ufeff# Windows note\r\n\r\n```python run\r\nprint(1)\r\n```\r\n".encode()
    write_note("windows.md", raw)
    db = indexed_store(workspace)
    db.close()
    export(workspace, ["windows.md"], "md", tmp_path / "out")
    assert (tmp_path / "out" / "windows.md").read_bytes() == raw


def test_a_link_inside_out_cannot_lead_outside(workspace, write_note, tmp_path):
    write_note("dl/note.md", "# Note\n")
    db = indexed_store(workspace)
    db.close()
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (out / "dl").symlink_to(elsewhere)  # left there by something else
    report = export(workspace, ["dl/note.md"], "html", out)
    assert report.failed and "outside" in report.failed[0]
    assert list(elsewhere.iterdir()) == []


def test_reexport_replaces_the_earlier_one(course, tmp_path):
    out = tmp_path / "out"
    export(course, [MLP], "md", out)
    files = out / "dl-basics" / "2022-01-18-neural-networks-mlp_files"
    stale = files / "linear-regression-loss.png"
    assert stale.exists()
    db = open_store(course.db_path)
    record(db, MLP, "linear-regression", "again\n", {"accuracy": [0.5, 0.9]})
    db.close()
    export(course, [MLP], "md", out)
    assert not stale.exists()  # the earlier export's plot, gone with its metric
    assert (files / "linear-regression-accuracy.png").exists()
    assert (out / MLP).read_text().count('<details markdown="1">') == 1


def test_every_bundled_note_exports_in_every_format(course, tmp_path):
    db = open_store(course.db_path)
    paths = [row[0] for row in db.execute("SELECT path FROM notes ORDER BY path")]
    db.close()
    for fmt in ("md", "html", "ipynb"):
        report = export(course, paths, fmt, tmp_path / fmt)
        assert report.failed == [] and report.notes == len(paths) == 8
    assert (tmp_path / "html" / "index.html").exists()
    index = (tmp_path / "html" / "index.html").read_text()
    assert "By date" in index and "By topic" in index and "Deep Learning Basics" in index


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += attrs

    def handle_data(self, data):
        self.text.append(data)


HOSTILE_NOTE = """# Hostile

<script>alert("note")</script>

<img src="x.png" onerror="alert('img')">

<a href="javascript:alert('link')">click</a>

<details>
<summary>Kept</summary>
<div markdown="1">

| a | b |
|---|---|
| 1 | 2 |

</div>
</details>

```python run name=loud
print("</script><img src=x onerror=alert(2)>")
```
"""


def test_html_sanitizer_promises(workspace, write_note, tmp_path, monkeypatch):
    monkeypatch.setattr(store_runs, "now_iso", lambda: "2026-11-20T21:30:00.000+00:00")
    write_note("hostile.md", HOSTILE_NOTE)
    db = indexed_store(workspace)
    record(
        db,
        "hostile.md",
        "loud",
        "</script><img src=x onerror=alert(2)>\n\x1b[31mred\x1b[0m text\n",
        {},
    )
    db.close()
    report = export(workspace, ["hostile.md"], "html", tmp_path / "out")
    page = (tmp_path / "out" / "hostile.html").read_text()
    parsed = _Elements()
    parsed.feed(page)
    assert "script" not in parsed.tags
    assert not [name for name, _ in parsed.attrs if name.startswith("on")]
    assert not [v for n, v in parsed.attrs if n == "href" and v and "javascript" in v.lower()]
    for kept in ("details", "summary", "div", "table", "td", "img", "pre"):
        assert kept in parsed.tags
    text = "".join(parsed.text)
    assert "</script><img src=x onerror=alert(2)>" in text  # the output, as text
    assert "red text" in text and "\x1b" not in page
    assert any("x.png does not exist" in w for w in report.warnings)


def test_markdown_output_cannot_close_its_fence_or_carry_escapes(workspace, write_note, tmp_path):
    write_note("fence.md", "# F\n\n```python run name=f\nprint(1)\n```\n")
    db = indexed_store(workspace)
    record(db, "fence.md", "f", "~~~\nnot code\n\x1b[1mbold\x1b[0m\n", {})
    db.close()
    export(workspace, ["fence.md"], "md", tmp_path / "out")
    text = (tmp_path / "out" / "fence.md").read_text()
    assert "~~~~text\n~~~\nnot code\nbold\n~~~~" in text


async def test_exported_notebook_runs_in_a_kernel(course, tmp_path):
    from nbclient import NotebookClient

    export(course, [MLP], "ipynb", tmp_path / "out")
    notebook = nbformat.read(tmp_path / "out" / Path(MLP).with_suffix(".ipynb"), as_version=4)
    client = NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(course.root)}},
    )
    await client.async_execute()
    outputs = "".join(
        o.get("text", "") for c in notebook.cells if c.cell_type == "code" for o in c.outputs
    )
    assert "w = 2.991, b = 2.010" in outputs  # the real run, in the kernel
    assert notebook.metadata["studylog"]["runs"][0]["seed"] == 0


def test_flattened_details_become_headings(course, tmp_path):
    export(course, [OPTIMIZATION], "ipynb", tmp_path / "out")
    notebook = nbformat.read(tmp_path / "out" / Path(OPTIMIZATION).with_suffix(".ipynb"), 4)
    prose = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    assert "<details" not in prose and "<summary" not in prose
    assert "## 2강 Optimization" in prose
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert any(
        "sys.argv = ['experiments/optimizers.py', '--optimizer', 'adam']" in c.source for c in code
    )


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../etc", "etc"),
        ("CON", "CON_"),
        ("aux.md", "aux_.md"),
        ("a/b\\c", "a_b_c"),
        ("..", "_"),
        ("what?*<>|", "what_____"),
        ("trailing. ", "trailing"),
    ],
)
def test_safe_names(name, safe):
    assert safe_name(name) == safe or str(safe_relative(name)) == safe


def test_nothing_a_note_holds_can_write_outside_out(workspace, write_note, tmp_path):
    write_note("evil.md", "---\ntopic: ../../../../outside\ntitle: ../../x\n---\n# Evil\n")
    write_note("CON.md", "# Reserved name\n")
    db = indexed_store(workspace)
    db.close()
    out = tmp_path / "out"
    report = export(workspace, ["evil.md", "CON.md"], "html", out, layout="topic")
    assert report.failed == []
    for written in report.files:
        assert written.resolve().is_relative_to(out.resolve())
    assert not (tmp_path / "outside").exists()
    assert any(p.name == "CON_.html" for p in report.files)


def test_out_that_is_a_file_is_refused(course, tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("x")
    with pytest.raises(ExportError, match="exists and is not a folder"):
        export(course, [MLP], "md", target)


def _export_as_nobody(root: str, out: str, queue) -> None:
    os.setgid(65534)
    os.setuid(65534)
    try:
        export(Workspace(Path(root)), [MLP], "md", Path(out))
        queue.put("exported")
    except ExportError as exc:
        queue.put(str(exc))


def test_out_that_is_not_writable_is_refused(course, tmp_path):
    import multiprocessing

    if os.geteuid() != 0:
        pytest.fail("this test drops root to check permissions; run the suite as root or fix it")
    out = tmp_path / "locked"
    out.mkdir()
    out.chmod(0o555)
    course.root.chmod(0o777)
    os.chmod(course.state_dir, 0o777)
    for f in course.state_dir.iterdir():
        f.chmod(0o666)
    for d in (tmp_path, *tmp_path.parents):
        if d == Path("/"):
            break
        d.chmod(d.stat().st_mode | 0o005)
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_export_as_nobody, args=(str(course.root), str(out), queue))
    child.start()
    child.join(60)
    assert "is not writable" in queue.get(timeout=5)


def test_cliexport(course, tmp_path):
    from tests.conftest import Cli

    cli = Cli(course.root)
    result = cli("export", "--all", "--format", "html", "--out", str(tmp_path / "site"))
    assert "Exported 8 notes as html" in result.stdout
    assert (tmp_path / "site" / "index.html").exists()
    result = cli("export", "--format", "md", "--out", str(tmp_path / "x"), ok=False)
    assert "name the notes to export, or use --all" in result.stderr
