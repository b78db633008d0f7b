"""Today's note: `studylog new` and `n` in the TUI — templates (the workspace's and the
built-in ones in both house styles), suggested topic and lecture, the name pattern, and
never writing over a file."""

from __future__ import annotations

import datetime as dt

from textual.widgets import Input

from studylog.notes.parse import parse_note
from studylog.notes.template import note_name
from studylog.tui.app import StudylogApp
from studylog.tui.screens.new_note import NewNoteScreen
from tests.tui_helpers import make_workspace, notes_loaded, settings, until, until_screen

TODAY = dt.date.today()
HEADER_NOTE = """<details>
<summary>강의 정보</summary>
<div markdown="1">

>Date : 22.01.25
>
>강좌 분류 : Pytorch
>
>>강좌 번호 : 4
>>
>>제목 : AutoGrad & Optimizer

</div>
</details>

# Day 8
"""


def test_new_in_the_header_style_with_next_lecture_and_dated_name(run_cli, write_note, workspace):
    write_note("pytorch/2022-01-25-day8.md", HEADER_NOTE)
    made = run_cli.json("new", "Dataset: 기초")
    assert made == {"path": f"pytorch/{TODAY.isoformat()}-dataset-기초.md"}
    text = (workspace.notes_dir / made["path"]).read_text(encoding="utf-8")
    assert f">Date : {TODAY:%y.%m.%d}" in text and ">>강좌 번호 : 5" in text
    note = parse_note(text, made["path"])
    assert note.topic == "Pytorch" and note.date == TODAY
    assert [(lec.number, lec.title) for lec in note.lectures] == [("5", "Dataset: 기초")]
    listed = {n["path"]: n for n in run_cli.json("list")}
    assert listed[made["path"]]["title"] == "Dataset: 기초"


def test_new_front_matter_style_never_overwrites(run_cli, write_note, workspace):
    write_note(
        "dl/2022-01-20-a.md", "---\ntitle: A\ndate: 2022-01-20\ntopic: DL\nlecture: 2\n---\n"
    )
    first = run_cli.json("new", "Same: title", "--lecture", "9")
    taken = workspace.notes_dir / f"dl/{TODAY.isoformat()}-same-title.md"
    assert first["path"] == f"dl/{TODAY.isoformat()}-same-title.md"
    before = taken.read_bytes()
    second = run_cli.json("new", "Same: title")
    assert second["path"] == f"dl/{TODAY.isoformat()}-same-title-2.md"
    assert taken.read_bytes() == before
    note = parse_note(before.decode(), first["path"])
    assert (note.title, note.topic, note.lectures[0].number) == ("Same: title", "DL", "9")


def test_workspace_template_and_unknown_fields(run_cli, workspace):
    (workspace.root / "templates").mkdir()
    (workspace.root / "templates" / "lecture.md").write_text(
        "# {{title}}\n\n>Date : {{date}}\n>강좌 분류 : {{topic}}\n", encoding="utf-8"
    )
    made = run_cli.json("new", "Hello", "--topic", "CS231n")
    text = (workspace.notes_dir / made["path"]).read_text(encoding="utf-8")
    assert text == f"# Hello\n\n>Date : {TODAY.isoformat()}\n>강좌 분류 : CS231n\n"
    (workspace.root / "templates" / "lecture.md").write_text("{{title}} {{weather}}\n")
    result = run_cli("new", "Other", ok=False)
    assert result.exit_code != 0
    assert "lecture.md: unknown field(s) {{weather}}" in result.stderr
    assert sorted(p.name for p in workspace.notes_dir.rglob("*.md")) == [made["path"]]


def test_new_where_the_folder_cannot_be_written(run_cli, write_note, workspace):
    # A file where the note's folder should be (root ignores permission bits, so a
    # read-only folder would not fail under root): the same OSError path, nothing written.
    write_note("2022/01/29/review.md", "# Review\n\n>Date : 22.01.29\n")
    (workspace.notes_dir / TODAY.strftime("%Y")).write_text("in the way")
    result = run_cli("new", "Blocked", ok=False)
    assert result.exit_code != 0
    assert "cannot write" in result.stderr and "nothing was written" in result.stderr


def test_names_follow_dated_folders():
    assert note_name("2022/01/29/x.md", dt.date(2026, 3, 4), "Y") == "2026/03/04/y.md"
    assert note_name("a/b.md", dt.date(2026, 3, 4), "Y", ["a/b.md", "a/c.md"]) == "a/y.md"


async def test_n_makes_todays_note_and_opens_it(tmp_path):
    ws = make_workspace(tmp_path / "ws")
    app = StudylogApp(ws, settings())
    async with app.run_test() as pilot:
        main = await notes_loaded(pilot)
        await pilot.press("n")
        dialog = await until_screen(pilot, NewNoteScreen, "the dialog")
        assert dialog.query_one("#new-topic", Input).value == "Pytorch"  # the newest note's
        await pilot.press(*"Schedulers")
        await pilot.press("enter")
        expected = f"pytorch/{TODAY.isoformat()}-schedulers.md"
        await until(
            pilot,
            lambda: main.detail is not None and main.detail.summary.path == expected,
            "the new note to open",
        )
        assert main.detail is not None and main.detail.summary.title == "Schedulers"
        assert (ws.notes_dir / expected).is_file()
