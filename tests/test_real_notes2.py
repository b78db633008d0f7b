"""Notes where they already are, second part (issue 11): search for code words ranked by
meaning, messages that name notes by their real place, md and ipynb exports that resolve
blog image paths, `new` in a Jekyll site, a bad _config.yml."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ranking_corpus import NOTES, QUERIES, precision_at_1_and_mrr

from studylog.notes.parse import parse_note
from studylog.store.index import _Writer
from studylog.store.search import parse_query, scan_search, search
from tests.blog_helpers import blog_cli, export_page, make_blog, png


def _store(db, notes: dict[str, str]) -> None:
    writer = _Writer(db)
    for path, text in notes.items():
        writer.put(parse_note(text, path), None, None, None, None)
    writer.flush()


# -- 1. search for code words, ranked by meaning ----------------------------------------


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("loader", True),  # DataLoader: camelCase part
        ("grad", True),  # zero_grad: snake_case part
        ("Transformer", True),  # SwinTransformer
        ("server", True),  # HTTPServer: acronym then word
        ("optim", True),  # torch.optim.Adam: dots split words
        ("state", True),  # load_state_dict
        ("data.loader", True),  # a phrase across one identifier's parts
        ("adam", True),  # the word Adam itself
        ("damard", False),  # not a part start: adam must not find Hadamard
        ("oader", False),
        ("rad", False),
        ("loader zero", True),  # two terms, each anywhere
    ],
)
def test_identifier_parts_are_found(memory_db, query, found):
    _store(
        memory_db,
        {
            "code.md": "Use DataLoader, zero_grad, SwinTransformer and HTTPServer; "
            "torch.optim.Adam; load_state_dict.\n",
            "math.md": "The Hadamard product.\n",
        },
    )
    hits = [h.path for h in search(memory_db, query)]
    assert hits == (["code.md"] if found else [])
    scanned = [row[0] for row in scan_search(memory_db, parse_query(query))]
    assert scanned == hits  # the fallback scan means the same


def test_a_phrase_never_spans_two_identifiers(memory_db):
    # The parts of DataLoader and of zero_grad are indexed after the text; a phrase
    # "loader.zero" must not join the last part of one to the first of the next.
    _store(memory_db, {"a.md": "DataLoader then more words then zero_grad\n"})
    assert search(memory_db, "loader.zero") == []
    assert search(memory_db, "data.loader") != []


def test_the_note_about_a_thing_beats_the_note_that_mentions_it(memory_db):
    _store(memory_db, NOTES)
    hits = [h.path for h in search(memory_db, "BLEU")]
    assert hits[0] == "week5/day24/beam-search-bleu.md"
    assert "week5/day24/index.md" in hits
    hits = [h.path for h in search(memory_db, "LSTM")]
    assert hits[0] == "week5/day23/lstm-gru.md"


def test_headings_weigh_more_than_the_body(memory_db):
    _store(
        memory_db,
        {
            "heading.md": "# Notes\n\n## Dropout\n\n" + "more text " * 15 + "\n",
            "body.md": "# Notes\n\n## Other\n\nwe also used dropout here\n",
        },
    )
    assert [h.path for h in search(memory_db, "dropout")] == ["heading.md", "body.md"]


def test_ranking_of_labelled_queries(memory_db):
    """Precision@1 and MRR over the labelled queries (benchmarks/bench_search.py prints them
    beside the occurrence-count baseline)."""
    assert len(QUERIES) >= 20
    _store(memory_db, NOTES)
    ranked = {q: [h.path for h in search(memory_db, q, limit=10)] for q, _ in QUERIES}
    p1, mrr = precision_at_1_and_mrr(ranked)
    misses = {q: ranked[q][:3] for q, want in QUERIES if ranked[q][:1] != [want]}
    assert p1 >= 0.95 and mrr >= 0.95, misses


def test_korean_search_is_unchanged_by_identifier_parts(memory_db):
    _store(memory_db, {"a.md": "학습_loss 와 역전파를 배운다\n", "b.md": "역전 전파\n"})
    assert [h.path for h in search(memory_db, "역전파")] == ["a.md"]
    assert [h.path for h in search(memory_db, "loss")] == ["a.md"]
    assert [h.path for h in search(memory_db, "학습")] == ["a.md"]


# -- 2. messages name notes by their real place ------------------------------------------


def _blog(tmp_path: Path) -> Path:
    root = make_blog(tmp_path / "myblog")
    (root / "_posts" / "2022-01-10-hello-run.md").write_text(
        "---\ntitle: Hello run\ndate: 2022-01-10\n---\n\n# Hello run\n\n"
        "```python run name=hello\nprint('hi from the child')\n```\n",
        encoding="utf-8",
    )
    return root


POST = "_posts/2022-01-10-hello-run.md"


def _names_posts(output: str) -> None:
    assert POST in output, output
    assert "notes/_posts" not in output, output


def test_list_show_search_name_notes_by_their_place(tmp_path):
    blog = _blog(tmp_path)
    _names_posts(blog_cli("-w", str(blog), "list").stdout)
    _names_posts(blog_cli("-w", str(blog), "list", "--by", "date").stdout)
    _names_posts(blog_cli("-w", str(blog), "show", "hello-run").stdout)
    _names_posts(blog_cli("-w", str(blog), "search", "child").stdout)


def test_run_and_runs_show_name_notes_by_their_place(tmp_path):
    blog = _blog(tmp_path)
    result = blog_cli("-w", str(blog), "run", "hello-run")
    assert "hi from the child" in result.stdout
    _names_posts(result.stdout)
    _names_posts(blog_cli("-w", str(blog), "runs", "show", "1").stdout)
    todos = blog_cli("-w", str(blog), "todos").stdout
    assert "_posts/2022-01-06-segmentation.md" in todos and "notes/_posts" not in todos


def test_exports_name_notes_by_their_place(tmp_path):
    blog = _blog(tmp_path)
    blog_cli("-w", str(blog), "run", "hello-run")
    out = tmp_path / "out"
    blog_cli("-w", str(blog), "export", "hello-run", "--format", "ipynb", "--out", str(out))
    notebook = json.loads(next(out.rglob("*.ipynb")).read_text(encoding="utf-8"))
    assert notebook["metadata"]["studylog"]["note"] == POST
    assert f"`{POST}`" in "".join(notebook["cells"][0]["source"])
    # A name in the way is a warning naming the note where it is.
    (tmp_path / "out2" / "_posts").mkdir(parents=True)
    (tmp_path / "out2" / "_posts" / "2022-01-10-hello-run.md").write_text("mine\n")
    result = blog_cli(
        "-w", str(blog), "export", "hello-run", "--format", "md", "--out", str(tmp_path / "out2")
    )
    stderr = " ".join(result.stderr.split())
    assert f"{POST}: _posts/2022-01-10-hello-run.md is taken" in stderr, stderr
    assert "notes/_posts" not in stderr


def test_classic_workspace_still_says_notes(tmp_path):
    root = tmp_path / "ws"
    (root / "notes").mkdir(parents=True)
    (root / "notes" / "a.md").write_text("# A\n\nbody\n", encoding="utf-8")
    assert "notes/a.md" in blog_cli("-w", str(root), "list").stdout


# -- 3. md and ipynb exports resolve blog image paths -------------------------------------


def test_markdown_export_copies_site_images_beside_the_note(tmp_path):
    blog = make_blog(tmp_path / "myblog")
    out = tmp_path / "out"
    page, result = export_page(blog, "segmentation", "md", out)
    text = page.read_text(encoding="utf-8")
    files = f"{page.stem}_files"
    # The three spellings of one image: one copy, three links to it, relative to the note.
    assert text.count(f"]({files}/seg.png)") == 3, text
    assert "{{" not in text.split("## Data Loader")[0].split("목차")[1]
    assert (page.parent / files / "seg.png").read_bytes() == png()
    # Everything else as written.
    assert "- [대회 개요](#대회-개요)" in text and "$$\n\\frac{a}{b}\n$$" in text
    assert "outside" not in result.stderr


def test_markdown_export_leaves_code_and_outside_images_alone(tmp_path):
    blog = make_blog(tmp_path / "myblog")
    (tmp_path / "secret.png").write_bytes(png())
    (blog / "_posts" / "2022-03-01-imgs.md").write_text(
        "---\ntitle: Imgs\n---\n\n![out](/../../secret.png)\n\n"
        "```md\n![code](/assets/img/seg.png)\n```\n\n<img src='/assets/img/seg.png'>\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    page, result = export_page(blog, "imgs", "md", out)
    text = page.read_text(encoding="utf-8")
    assert "![out](/../../secret.png)" in text  # outside the site root: not copied
    assert "![code](/assets/img/seg.png)" in text  # inside a code block: as written
    assert f"<img src='{page.stem}_files/seg.png'>" in text
    assert not list(out.rglob("secret.png"))
    stderr = " ".join(result.stderr.split())
    assert "_posts/2022-03-01-imgs.md: image /../../secret.png is outside" in stderr


def test_notebook_export_attaches_site_images(tmp_path):
    blog = make_blog(tmp_path / "myblog")
    out = tmp_path / "out"
    blog_cli("-w", str(blog), "export", "segmentation", "--format", "ipynb", "--out", str(out))
    notebook = json.loads(next(out.rglob("*.ipynb")).read_text(encoding="utf-8"))
    cells = [c for c in notebook["cells"] if c.get("attachments")]
    assert cells, notebook["cells"]
    source = "".join("".join(c["source"]) for c in cells)
    assert source.count("](attachment:seg.png)") == 3
    import base64

    data = cells[0]["attachments"]["seg.png"]["image/png"]
    assert base64.b64decode(data) == png()
    assert not list(out.rglob("*_files"))


# -- 4. new in a Jekyll site ----------------------------------------------------------------


def test_new_in_a_jekyll_site_writes_a_dated_post(tmp_path):
    blog = make_blog(tmp_path / "myblog")
    result = blog_cli("-w", str(blog), "new", "Beam Search", "--no-edit", "--json")
    made = json.loads(result.stdout)["path"]
    assert made.startswith("_posts/") and made.endswith("-beam-search.md"), made
    import re

    assert re.fullmatch(r"_posts/\d{4}-\d{2}-\d{2}-beam-search\.md", made)
    assert not (blog / "notes").exists()
    listed = json.loads(blog_cli("-w", str(blog), "list", "--json").stdout)
    assert made in {n["path"] for n in listed}


def test_new_in_a_dirs_workspace_writes_into_its_notes_folder(tmp_path):
    root = tmp_path / "repo"
    root.mkdir()
    (root / "studylog.toml").write_text('[notes]\ndirs = ["lectures"]\n', encoding="utf-8")
    (root / "lectures").mkdir()
    result = blog_cli("-w", str(root), "new", "First", "--no-edit", "--json")
    made = json.loads(result.stdout)["path"]
    assert made.startswith("lectures/") and (root / made).is_file(), made


# -- 5. a bad _config.yml -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "cause"),
    [
        (b"title: [unclosed\n", "is not valid YAML at line"),
        (b"- just\n- a list\n", "not settings"),
        (b"\xff\xfe title", "cannot be read"),
    ],
)
def test_a_bad_config_yml_is_a_warning_naming_it(tmp_path, config, cause):
    blog = make_blog(tmp_path / "myblog")
    (blog / "_config.yml").write_bytes(config)
    result = blog_cli("-w", str(blog), "list")
    stderr = " ".join(result.stderr.split())
    assert "_config.yml" in stderr and cause in stderr, stderr
    assert "segmentation" in result.stdout  # the notes are still listed


def test_a_store_indexed_before_identifier_parts_is_spelled_again(tmp_path):
    from studylog.store.db import open_store
    from studylog.store.search import _spelled

    root = tmp_path / "ws"
    (root / "notes").mkdir(parents=True)
    note = root / "notes" / "loader.md"
    note.write_text("# Loading data\n\nA DataLoader batches a Dataset.\n", encoding="utf-8")
    blog_cli("-w", str(root), "search", "batches")
    # The index as the previous studylog spelled it: Hangul bigrams only.
    db = open_store(root / ".studylog" / "studylog.db")
    db.execute("INSERT INTO notes_fts (notes_fts) VALUES ('delete-all')")
    for note_id, *texts in db.execute("SELECT id, title, body, meta FROM notes").fetchall():
        db.execute(
            "INSERT INTO notes_fts (rowid, title, body, meta) VALUES (?, ?, ?, ?)",
            [note_id, *map(_spelled, texts)],
        )
    db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm006_search_spelling'")
    db.execute("PRAGMA user_version = 4")
    db.conn.commit()
    db.close()
    found = json.loads(blog_cli("-w", str(root), "search", "loader", "--json").stdout)
    assert [h["path"] for h in found] == ["loader.md"]
    # The note changed: its old index rows go cleanly, the new text is found.
    note.write_text("# Loading data\n\nA SwinTransformer reads images.\n", encoding="utf-8")
    assert json.loads(blog_cli("-w", str(root), "search", "loader", "--json").stdout) == []
    found = json.loads(blog_cli("-w", str(root), "search", "transformer", "--json").stdout)
    assert [h["path"] for h in found] == ["loader.md"]


def test_two_notes_exported_to_one_name_are_named_by_their_place(tmp_path):
    blog = make_blog(tmp_path / "myblog")
    (blog / "notes").mkdir()
    for folder in ("_posts", "notes"):
        (blog / folder / "2022-05-01-same.md").write_text(
            f"---\ntitle: Same in {folder}\n---\n\nbody\n", encoding="utf-8"
        )
    out = tmp_path / "out"
    result = blog_cli(
        "-w", str(blog), "export", "--all", "--format", "md", "--by", "date", "--out", str(out),
    )  # fmt: skip
    stderr = " ".join(result.stderr.split())
    assert "notes/2022-05-01-same.md: 2022/05/2022-05-01-same.md is taken" in stderr, stderr
    assert "(_posts/2022-05-01-same.md is exported there too)" in stderr, stderr
    assert "notes/_posts" not in stderr
