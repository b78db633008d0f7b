"""Notes where they already are: a Jekyll blog and a folder-structured notes repo, read as
they are written (issue 11)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from studylog.notes.header import read_tags
from studylog.notes.model import ParseOptions
from studylog.notes.parse import parse_note
from studylog.paths import WorkspaceError, find_workspace, sample_files
from tests.blog_helpers import POSTS, blog_cli, make_blog, make_notes_repo, png


@pytest.fixture
def blog(tmp_path: Path) -> Path:
    return make_blog(tmp_path / "myblog")


def _listed(root: Path) -> dict[str, dict]:
    notes = json.loads(blog_cli("-w", str(root), "list", "--json").stdout)
    return {n["path"]: n for n in notes}


# -- 1. a workspace on what exists ------------------------------------------------------


def test_a_jekyll_site_is_a_workspace_with_no_setup(blog):
    before = {p for p in blog.rglob("*")}
    notes = _listed(blog)
    assert set(notes) == {f"_posts/{name}" for name in POSTS}
    seg = notes["_posts/2022-01-06-segmentation.md"]
    assert seg["title"] == "[부스트캠프] 대회 개요와 Segmentation"
    assert seg["date"] == "2022-01-06" and seg["topic"] == "AI"
    # Nothing written into the site but .studylog/, which ignores itself for git.
    added = {p for p in blog.rglob("*")} - before
    assert added and all(p.relative_to(blog).parts[0] == ".studylog" for p in added)
    assert (blog / ".studylog" / ".gitignore").read_text() == "*\n"
    # A subcommand's own -w works, and show/search find posts by their path.
    shown = json.loads(blog_cli("show", "-w", str(blog), "segmentation", "--json").stdout)
    assert shown["title"].startswith("[부스트캠프]")
    hits = json.loads(blog_cli("-w", str(blog), "search", "대회", "--json").stdout)
    assert hits and hits[0]["path"] == "_posts/2022-01-06-segmentation.md"


def test_jekyll_site_is_found_from_inside_it(blog):
    assert find_workspace(cwd=blog / "_posts").note_dirs == ("_posts",)


def test_notes_dirs_setting_keeps_each_notes_folder(blog):
    (blog / "notes").mkdir()
    (blog / "notes" / "scratch.md").write_text("# Scratch\n", encoding="utf-8")
    (blog / "studylog.toml").write_text('[notes]\ndirs = ["_posts", "notes"]\n')
    notes = _listed(blog)
    assert "notes/scratch.md" in notes and "_posts/2022-01-06-segmentation.md" in notes


def test_bad_dirs_entries_are_warnings_naming_the_cause(blog, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "secret.md").write_text("# secret\n")
    (blog / "linked").symlink_to(outside)
    (blog / "studylog.toml").write_text(
        '[notes]\ndirs = ["_posts", "missing", "../elsewhere", "linked", "_posts/../_posts"]\n'
    )
    result = blog_cli("-w", str(blog), "list", "--json")
    paths = {n["path"] for n in json.loads(result.stdout)}
    assert paths == {f"_posts/{name}" for name in POSTS}
    stderr = " ".join(result.stderr.split())
    assert "'missing': no such folder" in stderr
    assert "'../elsewhere' is not a folder inside the workspace" in stderr
    assert "linked: symbolic link to" in stderr and "outside the workspace" in stderr
    assert "loop" not in stderr


def test_same_file_through_a_symlink_is_read_once(blog):
    (blog / "notes").mkdir()
    (blog / "notes" / "again.md").symlink_to(blog / "_posts" / "2023-01-06-year-typo.md")
    (blog / "studylog.toml").write_text('[notes]\ndirs = ["_posts", "notes"]\n')
    result = blog_cli("-w", str(blog), "list", "--json")
    paths = {n["path"] for n in json.loads(result.stdout)}
    assert "notes/again.md" not in paths
    stderr = " ".join(result.stderr.split())
    assert "again.md is the same file as _posts/2023-01-06-year-typo.md" in stderr


def test_a_folder_of_markdown_says_how_to_use_it_as_it_is(tmp_path):
    repo = make_notes_repo(tmp_path / "repo")
    with pytest.raises(WorkspaceError, match=r'dirs = \["\."\]'):
        find_workspace(repo)
    (repo / "studylog.toml").write_text('[notes]\ndirs = ["."]\n')
    assert len(_listed(repo)) == 4


def test_init_empty_makes_a_workspace_without_samples(tmp_path):
    target = tmp_path / "fresh"
    blog_cli("init", "--empty", str(target))
    assert (target / "notes").is_dir() and not any((target / "notes").iterdir())
    assert (target / "studylog.toml").is_file()
    assert _listed(target) == {}


def test_init_copies_only_the_committed_sample_course(tmp_path):
    """A checkout's scratch notes and local edits are not the sample course."""
    repo = tmp_path / "checkout"
    (repo / "notes").mkdir(parents=True)
    (repo / "experiments").mkdir()
    (repo / "notes" / "lesson.md").write_text("# Lesson\n")
    (repo / "experiments" / "x.py").write_text("print(1)\n")

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)

    git("init", "-q")
    git("add", ".")
    git("-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "sample")
    (repo / "notes" / "scratch.md").write_text("# my scratch\n")
    (repo / "notes" / "lesson.md").write_text("# Lesson, edited locally\n")
    files = sample_files(repo)
    assert files == {"notes/lesson.md": b"# Lesson\n", "experiments/x.py": b"print(1)\n"}


# -- 2. tags and categories as Jekyll reads them ----------------------------------------


def test_tags_lists_of_lists_flatten_and_empty_items_drop(blog):
    notes = _listed(blog)
    assert notes["_posts/2022-01-06-segmentation.md"]["tags"] == ["Segmentation", "CV"]
    assert notes["_posts/2023-01-06-year-typo.md"]["tags"] == ["pytorch", "autograd"]
    strange = notes["_posts/2022-02-01-strange-tags.md"]
    assert strange["tags"] == ["3", "2022-02-01", "deep", "deeper"]
    assert any("not a tag" in w and "nested" in w for w in strange["warnings"])
    hits = json.loads(blog_cli("-w", str(blog), "search", "None", "--json").stdout)
    assert hits == []


@pytest.mark.parametrize(
    ("value", "tags"),
    [
        ([["Segmentation", "CV"]], ["Segmentation", "CV"]),
        ([None, [], ""], []),
        ("a b,c", ["a", "b", "c"]),
        ([["a", None], "#b", "a"], ["a", "b"]),
        (["deep learning", " "], ["deep learning"]),
        (None, []),
    ],
)
def test_read_tags(value, tags):
    assert read_tags(value)[0] == tags


# -- 3. metadata from folders ------------------------------------------------------------


def test_folder_structured_repo_gets_topics_lectures_and_titles(tmp_path):
    repo = make_notes_repo(tmp_path / "repo")
    (repo / "studylog.toml").write_text('[notes]\ndirs = ["."]\n')
    notes = _listed(repo)
    autograd = notes["03_PyTorch/md/04_AutoGrad_Optimizer.md"]
    assert autograd["topic"] == "PyTorch"
    assert autograd["lectures"] == [{"number": 4, "title": "AutoGrad Optimizer"}]
    assert autograd["title"] == "AutoGrad & Optimizer"
    assert notes["03_PyTorch/md/02_Tensor_Basics.md"]["title"] == "텐서 기초 정리"
    lstm = notes["Week_5/Day_24/02. LSTM and GRU.md"]
    assert lstm["topic"] == "Week 5"
    assert lstm["lectures"] == [{"number": 24, "title": "Day 24"}]
    assert lstm["title"] == "LSTM and GRU"
    tree = blog_cli("-w", str(repo), "list").stdout
    assert "No topic" not in tree and "PyTorch" in tree


def test_folders_are_not_read_when_the_note_says_or_the_setting_is_off(tmp_path):
    note = parse_note("---\ntopic: Vision\n---\n", "03_PyTorch/04_x.md")
    assert note.topic == "Vision" and note.lectures == []
    off = parse_note("", "03_PyTorch/04_x.md", options=ParseOptions(from_folders=False))
    assert off.topic is None
    repo = make_notes_repo(tmp_path / "repo")
    (repo / "studylog.toml").write_text('[notes]\ndirs = ["."]\nfrom_folders = false\n')
    assert {n["topic"] for n in _listed(repo).values()} == {None}


# -- 4. a front-matter date far from the file name's -------------------------------------


def test_year_off_date_is_kept_with_a_warning_naming_both(blog):
    typo = _listed(blog)["_posts/2023-01-06-year-typo.md"]
    assert typo["date"] == "2022-01-06"
    assert any("2022-01-06" in w and "2023-01-06" in w for w in typo["warnings"])
    ok = parse_note("---\ndate: 2022-01-20\n---\n", "2022-01-06-x.md")
    assert ok.warnings == []


# -- 5. exports as blogs show them -------------------------------------------------------


def test_html_export_keeps_blog_conventions(blog, tmp_path):
    out = tmp_path / "out"
    result = blog_cli(
        "-w", str(blog), "export", "segmentation", "--format", "html", "--out", str(out)
    )
    page = next(out.rglob("*.html")).read_text(encoding="utf-8")
    # Root-absolute and Liquid-wrapped images resolve against the site root and are inlined.
    assert page.count("data:image/png;base64,") == 3, result.stderr
    # Headings carry kramdown/GitHub ids, Korean kept: the contents links work.
    from urllib.parse import quote

    assert 'id="대회-개요"' in page and f'href="#{quote("대회-개요")}"' in page
    assert 'id="data-loader"' in page
    # Math as MathML, emoji as emoji, task items as checkboxes, IALs gone.
    assert "<math" in page and "$$" not in page and "\\frac" not in page
    assert "📖" in page and ":book:" not in page
    assert "☑ 데이터 확인" in page and "☐ 모델 학습" in page
    assert "{:" not in page and "{{" not in page


def test_html_header_does_not_repeat_the_notes_own_title(blog, tmp_path):
    out = tmp_path / "out"
    blog_cli("-w", str(blog), "export", "year-typo", "--format", "html", "--out", str(out))
    page = next(out.rglob("*.html")).read_text(encoding="utf-8")
    assert page.count(">Year typo</h1>") == 1


def test_images_outside_the_site_root_and_bad_math_are_warnings(blog, tmp_path):
    secret = tmp_path / "secret.png"
    secret.write_bytes(png())
    (blog / "_posts" / "2022-03-01-bad.md").write_text(
        "---\ntitle: Bad\n---\n\n![x](/../../secret.png)\n![y](../../secret.png)\n\n"
        "$$\\frac{a}{$$\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    result = blog_cli("-w", str(blog), "export", "bad", "--format", "html", "--out", str(out))
    page = next(out.rglob("*.html")).read_text(encoding="utf-8")
    assert "base64" not in page
    stderr = " ".join(result.stderr.split())
    assert "_posts/2022-03-01-bad.md" in stderr and "outside" in stderr
    assert "does not parse" in stderr and "frac" in page


@pytest.mark.parametrize("site_root", ["/", "..", "../../etc"])
def test_a_site_root_outside_the_workspace_is_refused(tmp_path, site_root):
    """studylog.toml may come with a cloned repository: a site root outside the workspace
    would make a link to /etc/passwd (or an image under ~) count as inside."""
    ws = tmp_path / "ws"
    (ws / "notes").mkdir(parents=True)
    (ws / "notes" / "a.md").write_text("# Fine\n")
    (ws / "notes" / "passwd.md").symlink_to("/etc/passwd")
    (ws / "studylog.toml").write_text(f'[export]\nsite_root = "{site_root}"\n')
    result = blog_cli("--workspace", str(ws), "list", "--json", ok=False)
    assert result.exit_code != 0
    assert "site_root must be a folder inside the workspace" in result.output
