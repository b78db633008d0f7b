"""Notes where they already are, third part (issue 11): NOTE arguments and every message name
a note by its real place in the workspace (`_posts/…`, `notes/…` beside it), and the markdown
export copies plain relative images next to the note."""

from __future__ import annotations

import base64
import json
import sqlite3
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from studylog.notes.parse import parse_note
from studylog.paths import configured
from studylog.store.db import open_store
from studylog.store.index import _Writer
from studylog.store.search import plain_text, search
from studylog.store.todos import TodoError, list_todos, tick_todo
from tests.blog_helpers import blog_cli, export_page, make_blog, png

if TYPE_CHECKING:
    import sqlite_utils

POST = "_posts/2022-01-10-adam.md"


def _two_folders(tmp_path: Path) -> Path:
    """A blog that keeps `notes/` beside `_posts/`, both set in `[notes] dirs`, each with a
    note named adam."""
    root = make_blog(tmp_path / "myblog")
    (root / "studylog.toml").write_text('[notes]\ndirs = ["_posts", "notes"]\n', encoding="utf-8")
    (root / "_posts" / "2022-01-10-adam.md").write_text(
        "---\ntitle: Adam in the blog\n---\n\n# Adam in the blog\n\nposted\n", encoding="utf-8"
    )
    (root / "notes").mkdir()
    (root / "notes" / "adam.md").write_text("# Adam in notes\n\nnoted\n", encoding="utf-8")
    return root


def _store(db: sqlite_utils.Database, notes: dict[str, str]) -> None:
    writer = _Writer(db)
    for path, text in notes.items():
        writer.put(parse_note(text, path), None, None, None, None)
    writer.flush()


# -- NOTE arguments and their messages --------------------------------------------------


def test_a_note_under_notes_beside_posts_is_found_by_its_place(tmp_path: Path) -> None:
    root = _two_folders(tmp_path)
    shown = json.loads(blog_cli("-w", str(root), "show", "notes/adam.md", "--json").stdout)
    assert shown["path"] == "notes/adam.md" and shown["title"] == "Adam in notes"
    shown = json.loads(blog_cli("-w", str(root), "show", POST, "--json").stdout)
    assert shown["path"] == POST


def test_an_ambiguous_note_lists_the_notes_by_their_place(tmp_path: Path) -> None:
    root = _two_folders(tmp_path)
    result = blog_cli("-w", str(root), "show", "ada", ok=False)
    assert result.exit_code != 0
    message = result.stderr
    assert "notes/adam.md" in message and POST in message, message
    assert "notes/_posts" not in message and "notes/notes" not in message, message


def test_a_classic_workspace_takes_notes_paths_as_before(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "notes" / "sub").mkdir(parents=True)
    (root / "notes" / "sub" / "a.md").write_text("# A\n\nbody\n", encoding="utf-8")
    for name in ("notes/sub/a.md", "sub/a.md", "./notes/sub/a.md"):
        shown = json.loads(blog_cli("-w", str(root), "show", name, "--json").stdout)
        assert shown["path"] == "sub/a.md"


# -- export --in-place ------------------------------------------------------------------


def test_in_place_export_names_the_post_it_refuses(tmp_path: Path) -> None:
    root = make_blog(tmp_path / "myblog")
    (root / "_posts" / "2022-01-10-adam.md").write_text(
        "---\ntitle: Adam\n---\n\n# Adam\n\n<!-- studylog:output adam -->\nnever closed\n",
        encoding="utf-8",
    )
    result = blog_cli("-w", str(root), "export", "--in-place", "adam", ok=False)
    assert result.exit_code != 0
    stderr = " ".join(result.stderr.split())
    assert f"{POST}: line 7 opens a studylog output block" in stderr, stderr
    assert "notes/_posts" not in stderr


# -- review cards: warnings and the Anki deck --------------------------------------------

CARDS = """---
title: Adam
---

# Adam

Q: What does Adam keep per parameter?
A: Two moving averages.

Q: Left without an answer?
"""


def test_review_warnings_and_anki_source_name_the_post(tmp_path: Path) -> None:
    root = make_blog(tmp_path / "myblog")
    (root / "_posts" / "2022-01-10-adam.md").write_text(CARDS, encoding="utf-8")
    result = blog_cli("-w", str(root), "review", "--json")
    stderr = " ".join(result.stderr.split())
    assert f"{POST}: line 10: the question" in stderr, stderr
    assert "notes/_posts" not in stderr
    deck = tmp_path / "deck.apkg"
    blog_cli("-w", str(root), "review", "--export", "anki", str(deck))
    with zipfile.ZipFile(deck) as z:
        z.extractall(tmp_path / "deck")
    with sqlite3.connect(tmp_path / "deck" / "collection.anki2") as conn:
        (fields,) = conn.execute("SELECT flds FROM notes").fetchone()
    assert fields.split("\x1f")[-1] == POST


# -- ticking a to-do ----------------------------------------------------------------------


def test_a_to_do_that_cannot_be_ticked_names_the_post(tmp_path: Path) -> None:
    root = make_blog(tmp_path / "myblog")
    blog_cli("-w", str(root), "list")  # indexes the posts
    workspace = configured(root)
    db = open_store(workspace.db_path)
    try:
        (item, *_) = list_todos(db)
    finally:
        db.close()
    seg = "_posts/2022-01-06-segmentation.md"
    assert item.path == seg
    (root / seg).write_text((root / seg).read_text(encoding="utf-8") + "\nmore\n")
    with pytest.raises(TodoError) as changed:
        tick_todo(workspace, item)
    assert str(changed.value).startswith(f"{seg} changed on disk"), changed.value
    (root / seg).unlink()
    with pytest.raises(TodoError) as gone:
        tick_todo(workspace, item)
    assert str(gone.value).startswith(f"{seg} is gone"), gone.value


# -- markdown export: relative images ---------------------------------------------------


def test_markdown_export_copies_relative_images_beside_the_note(tmp_path: Path) -> None:
    root = make_blog(tmp_path / "myblog")
    (root / "_posts" / "img").mkdir()
    (root / "_posts" / "img" / "x.png").write_bytes(png())
    (root / "_posts" / "2022-01-10-adam.md").write_text(
        "---\ntitle: Adam\n---\n\n# Adam\n\n![plain](img/x.png)\n\n"
        '<img src="./img/x.png" width="50">\n\n![web](https://example.com/y.png)\n\n'
        "```md\n![code](img/x.png)\n```\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    page, result = export_page(root, "adam", "md", out)
    text = page.read_text(encoding="utf-8")
    files = f"{page.stem}_files"
    assert f"![plain]({files}/x.png)" in text, text
    assert f'<img src="{files}/x.png" width="50">' in text, text
    assert "![web](https://example.com/y.png)" in text  # not a local file: as written
    assert "![code](img/x.png)" in text  # inside a code block: as written
    assert (page.parent / files / "x.png").read_bytes() == png()
    assert "adam" not in result.stderr


def test_notebook_export_attaches_relative_images_beside_the_note(tmp_path: Path) -> None:
    root = make_blog(tmp_path / "myblog")
    (root / "_posts" / "img").mkdir()
    (root / "_posts" / "img" / "x.png").write_bytes(png())
    (root / "_posts" / "2022-01-10-adam.md").write_text(
        "---\ntitle: Adam\n---\n\n# Adam\n\n![plain](img/x.png)\n", encoding="utf-8"
    )
    out = tmp_path / "out"
    page, _ = export_page(root, "adam", "ipynb", out)
    cells = json.loads(page.read_text(encoding="utf-8"))["cells"]
    [cell] = [c for c in cells if "![plain]" in "".join(c["source"])]
    assert "![plain](attachment:x.png)" in "".join(cell["source"])
    assert base64.b64decode(cell["attachments"]["x.png"]["image/png"]) == png()


def test_markdown_export_reads_no_relative_image_outside_the_workspace(tmp_path: Path) -> None:
    root = make_blog(tmp_path / "myblog")
    (tmp_path / "secret.png").write_bytes(png())
    (root / "_posts" / "img").mkdir()
    (root / "_posts" / "img" / "link.png").symlink_to(tmp_path / "secret.png")
    (root / "_posts" / "2022-01-10-adam.md").write_text(
        "---\ntitle: Adam\n---\n\n# Adam\n\n![up](../../secret.png)\n\n![link](img/link.png)\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    page, result = export_page(root, "adam", "md", out)
    text = page.read_text(encoding="utf-8")
    assert "![up](../../secret.png)" in text and "![link](img/link.png)" in text, text
    assert not [p for p in out.rglob("*.png")]
    stderr = " ".join(result.stderr.split())
    assert f"{POST}: image ../../secret.png is outside the workspace" in stderr, stderr
    assert f"{POST}: image img/link.png is outside the workspace" in stderr, stderr


# -- search: the faster paths mean the same ----------------------------------------------


def test_korean_phrases_that_join_two_words_are_dropped_however_many_rank_first(
    memory_db: sqlite_utils.Database,
) -> None:
    # Forty notes whose titles hold 역전 and 전파 apart (bigrams of 역전파 in a row) rank
    # above the one note that holds 역전파, in its body only: it is still the one found.
    notes = {f"join{i:02}.md": f"# 역전 전파 {i}\n\n역전 전파\n" for i in range(40)}
    notes["real.md"] = "# Backprop\n\n오늘은 역전파를 배웠다\n"
    _store(memory_db, notes)
    assert [h.path for h in search(memory_db, "역전파", limit=1)] == ["real.md"]
    assert [h.path for h in search(memory_db, "역전파")] == ["real.md"]


def test_an_excerpt_far_into_a_long_note_is_the_same_as_from_the_whole(
    memory_db: sqlite_utils.Database,
) -> None:
    filler = "".join(f"- item {i} <b>bold</b> text\n" for i in range(400))
    body = f"# Long\n\n{filler}\n## Later\n\n> quoted DataLoader here, then more words after it\n"
    _store(memory_db, {"long.md": body, "short.md": "# Short\n\nDataLoader\n"})
    hits = {h.path: h for h in search(memory_db, "loader")}
    long = hits["long.md"]
    assert long.excerpt.startswith("…") and "quoted DataLoader here" in long.excerpt
    assert long.excerpt[long.highlights[0][0] : long.highlights[0][1]] == "Loader"
    whole = " ".join(plain_text(body).split())
    assert whole.endswith(long.excerpt.removeprefix("…")), long.excerpt
    assert hits["short.md"].excerpt == "Short DataLoader"


async def test_the_apps_search_results_name_posts_by_their_place(tmp_path: Path) -> None:
    from textual.widgets import Input, OptionList

    from studylog.settings import load_settings
    from studylog.tui.app import StudylogApp
    from tests.tui_helpers import until

    root = make_blog(tmp_path / "myblog")
    workspace = configured(root)
    app = StudylogApp(workspace, load_settings(workspace.settings_file))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        await until(pilot, lambda: getattr(screen, "notes", None), "the notes to load")
        await pilot.press("slash")
        assert isinstance(app.focused, Input)
        await pilot.press(*"segmentation")
        results = app.query_one("#search-results", OptionList)
        await until(pilot, lambda: results.option_count, "search results")
        shown = str(results.get_option_at_index(0).prompt)
        assert "_posts/2022-01-06-segmentation.md" in shown, shown
        assert "notes/_posts" not in shown, shown
