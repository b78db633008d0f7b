"""The command line over the bundled sample course and broken workspaces."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from studylog.cli import cli

SAMPLE_NOTES = 8


def test_list_json_has_the_documented_shape(sample_cli):
    notes = sample_cli.json("list")
    assert len(notes) >= SAMPLE_NOTES
    for note in notes:
        assert {
            "path",
            "title",
            "date",
            "topic",
            "lectures",
            "tags",
            "snippets",
            "warnings",
        } <= set(note)
        assert note["warnings"] == [], note
    day8 = next(n for n in notes if "day8" in n["path"])
    assert day8["date"] == "2022-01-25"
    assert day8["topic"] == "Pytorch"
    assert day8["lectures"] == [
        {"number": 4, "title": "AutoGrad & Optimizer"},
        {"number": 5, "title": "Dataset & DataLoader"},
    ]
    assert day8["snippets"] == 3
    # Sorted by date; the bundled course is all dated.
    dates = [n["date"] for n in notes]
    assert dates == sorted(dates)


def test_bundled_course_covers_every_metadata_style_and_snippet_kind(sample_cli):
    notes = sample_cli.json("list")
    sources = set()
    for note in notes:
        detail = sample_cli.json("show", note["path"])
        sources |= {s["source"] for s in detail["snippets"]}
        if any(w in note["title"].lower() for w in ("autograd", "optimiz", "data", "역전파")):
            assert detail["snippets"], f"{note['path']} teaches a runnable topic but has no snippet"
    assert sources == {"fence", "link", "front_matter"}
    assert sum(len(n["lectures"]) > 1 for n in notes) >= 2
    assert any(any("\uac00" <= ch <= "\ud7a3" for ch in n["title"]) for n in notes)
    for snippet_file in Path(sample_cli.root, "experiments").glob("*.py"):
        assert snippet_file.read_text(encoding="utf-8").strip()


def test_list_by_topic_puts_a_two_lecture_note_under_both(sample_cli):
    out = sample_cli("list", "--by", "topic").stdout
    assert "Lecture 4 · AutoGrad & Optimizer" in out
    assert "Lecture 5 · Dataset & DataLoader" in out
    assert out.count("Day 8 — AutoGrad, Optimizer, Dataset") == 2


def test_list_by_date_groups_year_month_day(sample_cli, write_note):
    out = sample_cli("list", "--by", "date").stdout
    assert "2022" in out and "01 January" in out and "2022-01-25" in out


def test_list_marks_warnings_in_both_forms(run_cli, write_note):
    write_note("bad.md", "---\ntitle: [x\n---\n# Broken front matter\n")
    write_note("undated.md", "# No date\n")
    out = run_cli("list", "--by", "date").stdout
    assert "⚠" in out and "invalid YAML front matter" in out
    assert "Undated" in out
    (bad,) = [n for n in run_cli.json("list") if n["path"] == "bad.md"]
    assert bad["warnings"][0].startswith("invalid YAML front matter")


def test_show_json_adds_sections_todos_and_snippets(sample_cli):
    detail = sample_cli.json("show", "day8")
    assert detail["path"] == "pytorch/2022-01-25-day8-autograd-dataset.md"
    titles = [s["title"] for s in detail["sections"]]
    assert titles == ["강의 정보", "Day 8 — AutoGrad, Optimizer, Dataset"]
    inner = [c["title"] for c in detail["sections"][1]["children"]]
    assert inner[:2] == ["4강 AutoGrad & Optimizer", "5강 Dataset & DataLoader"]
    assert detail["todos"][0] == {
        "text": "zero_grad를 빼먹으면 어떻게 되는지 확인",
        "done": True,
        "line": 77,
    }
    assert [s["name"] for s in detail["snippets"]] == [
        "autograd_basics",
        "optimizers",
        "dataset_dataloader",
    ]
    assert {"name", "source", "path"} <= set(detail["snippets"][0])


def test_show_human_output(sample_cli):
    out = sample_cli("show", "custom-autograd").stdout
    assert "Custom autograd Functions and hooks" in out
    assert "custom-function" in out and "Outline" in out


def test_show_ambiguous_or_unknown_note_is_a_clear_error(sample_cli):
    result = sample_cli("show", "2022-01-2", ok=False)
    assert result.exit_code != 0
    assert "matches" in result.stderr and "be more specific" in result.stderr
    result = sample_cli("show", "no-such-note", ok=False)
    assert "no note matches 'no-such-note'" in result.stderr
    assert result.stdout == ""


def test_show_accepts_paths_with_notes_prefix(sample_cli):
    assert sample_cli.json("show", "notes/2022/01/29/week-3-review.md")["title"] == "Week 3 review"


def test_search_json_korean(sample_cli):
    hits = sample_cli.json("search", "역전파")
    assert hits[0]["path"] == "dl-basics/2022-01-20-backpropagation.md"
    assert {"path", "title", "score", "excerpt"} <= set(hits[0])
    scores = [h["score"] for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert {h["path"] for h in sample_cli.json("search", "학습")} >= {
        "dl-basics/2022-01-19-optimization.md",
        "pytorch/2022-01-25-day8-autograd-dataset.md",
    }


def test_search_without_hits_says_so(sample_cli):
    assert "No notes match" in sample_cli("search", "quaternion").stdout
    assert sample_cli.json("search", "quaternion") == []


def test_index_reports_counts_and_warnings(run_cli, write_note):
    write_note("a.md", "# A\n")
    write_note("b.md", b"\x00\x01binary")
    result = run_cli("index")
    assert "2 notes (2 added)" in result.stdout
    assert "notes/b.md: binary file" in result.stderr
    assert "all up to date" in run_cli("index").stdout


def test_json_output_is_only_json_even_with_warnings(run_cli, workspace, write_note):
    write_note("a.md", "# A\n")
    (workspace.notes_dir / "loop").symlink_to(workspace.notes_dir, target_is_directory=True)
    result = run_cli("list", "--json")
    assert json.loads(result.stdout)[0]["path"] == "a.md"
    assert "notes/loop: symbolic link loop" in result.stderr


def test_no_workspace_is_an_error_that_says_how_to_make_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STUDYLOG_WORKSPACE", raising=False)
    result = CliRunner().invoke(cli, ["list"])
    assert result.exit_code != 0
    assert "studylog init" in result.stderr


def test_workspace_found_from_a_subfolder_and_from_the_environment(sample_workspace, monkeypatch):
    monkeypatch.delenv("STUDYLOG_WORKSPACE", raising=False)
    monkeypatch.chdir(sample_workspace.notes_dir / "pytorch")
    result = CliRunner().invoke(cli, ["list", "--json"])
    assert result.exit_code == 0, result.stderr
    assert len(json.loads(result.stdout)) >= SAMPLE_NOTES
    monkeypatch.chdir("/")
    result = CliRunner(env={"STUDYLOG_WORKSPACE": str(sample_workspace.root)}).invoke(
        cli, ["list", "--json"]
    )
    assert result.exit_code == 0, result.stderr


def test_workspace_option_before_or_after_the_command(sample_workspace):
    runner = CliRunner()
    before = runner.invoke(cli, ["--workspace", str(sample_workspace.root), "list", "--json"])
    after = runner.invoke(cli, ["list", "--json", "--workspace", str(sample_workspace.root)])
    assert before.exit_code == after.exit_code == 0
    assert json.loads(before.stdout) == json.loads(after.stdout)


def test_bad_settings_file_is_a_clear_error(run_cli, workspace):
    workspace.settings_file.write_text('[notes]\ndate_order = "sideways"\n', encoding="utf-8")
    result = run_cli("list", ok=False)
    assert result.exit_code != 0
    assert "studylog.toml" in result.stderr and "date_order" in result.stderr


def test_init_copies_the_sample_course(tmp_path):
    target = tmp_path / "my-studies"
    runner = CliRunner()
    result = runner.invoke(cli, ["init", str(target)])
    assert result.exit_code == 0, result.stderr
    assert len(list((target / "notes").rglob("*.md"))) >= SAMPLE_NOTES
    assert (target / "experiments" / "optimizers.py").is_file()
    assert (target / "studylog.toml").is_file()
    assert ".studylog/" in (target / ".gitignore").read_text()
    listed = runner.invoke(cli, ["list", "--json", "--workspace", str(target)])
    assert len(json.loads(listed.stdout)) >= SAMPLE_NOTES
    again = runner.invoke(cli, ["init", str(target)])
    assert again.exit_code != 0 and "already" in again.stderr


def test_python_dash_m_runs_the_cli(sample_workspace):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "studylog",
            "list",
            "--json",
            "--workspace",
            str(sample_workspace.root),
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert len(json.loads(result.stdout)) >= SAMPLE_NOTES


def test_every_command_has_help_with_an_example():
    for name, _command in cli.commands.items():
        result = CliRunner().invoke(cli, [name, "--help"])
        assert result.exit_code == 0
        assert "Example:" in result.stdout, name


def test_a_whole_file_name_wins_over_paths_that_contain_it(run_cli, write_note):
    write_note("a.md", "# The a note\n")
    write_note("bad.md", "# Bad\n")
    assert run_cli.json("show", "a")["path"] == "a.md"
