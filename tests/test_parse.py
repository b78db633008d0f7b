"""The note parser: metadata sources in order, outline, to-dos and snippets."""

import datetime as dt

from studylog.notes.parse import parse_note

HEADER_NOTE = """\
<details>
<summary>강의 정보</summary>
<div markdown="1">

>Date : 22.01.25
>
>강좌 분류 : Pytorch
>
>>강좌 번호 : 4
>>
>>제목 : AutoGrad & Optimizer
>
>>강좌 번호 : 5
>>
>>제목 : Dataset & DataLoader

</div>
</details>

본문
"""


def test_header_block_inside_details_gives_date_topic_and_two_lectures():
    note = parse_note(HEADER_NOTE, "day8.md")
    assert note.date == dt.date(2022, 1, 25)
    assert note.topic == "Pytorch"
    assert [(lec.number, lec.title) for lec in note.lectures] == [
        ("4", "AutoGrad & Optimizer"),
        ("5", "Dataset & DataLoader"),
    ]
    # No heading: the title comes from the lecture titles.
    assert note.title == "AutoGrad & Optimizer · Dataset & DataLoader"
    assert note.warnings == []


def test_header_block_without_details_and_english_keys():
    text = "> Date: 2022.01.26\n> Course: Deep Learning\n>> Lecture: 3\n>> Title: Backprop\n\n# Notes\n"
    note = parse_note(text, "x.md")
    assert note.date == dt.date(2022, 1, 26)
    assert note.topic == "Deep Learning"
    assert [(lec.number, lec.title) for lec in note.lectures] == [("3", "Backprop")]
    assert note.title == "Notes"


def test_a_blockquote_far_down_the_note_is_not_a_header():
    text = "# Title\n" + "text\n\n" * 30 + "> 제목 : quoted\n> Date : 2020-01-01\n"
    note = parse_note(text, "x.md")
    assert note.date is None
    assert note.title == "Title"


def test_front_matter_wins_over_header_block_and_path():
    text = (
        "---\ntitle: Front\ndate: 2022-02-01\ncourse: PyTorch\ntags: [a, b]\nlecture: [4, 5]\n---\n"
        + HEADER_NOTE
    )
    note = parse_note(text, "2020-01-01-x.md")
    assert note.title == "Front"
    assert note.date == dt.date(2022, 2, 1)
    assert note.topic == "PyTorch"
    assert note.tags == ["a", "b"]
    assert [lec.number for lec in note.lectures] == ["4", "5"]
    assert "title:" not in note.body and "본문" in note.body


def test_categories_list_gives_its_first_entry_as_topic():
    note = parse_note("---\ncategories: [Pytorch, Study]\n---\nx\n", "x.md")
    assert note.topic == "Pytorch"


def test_invalid_yaml_front_matter_warns_and_reads_the_rest():
    text = "---\ntitle: [unclosed\ndate: 2022-01-01\n---\n# Still read\n\n- [ ] todo\n"
    note = parse_note(text, "2022-03-04-x.md")
    assert len(note.warnings) == 1
    assert "invalid YAML front matter at line" in note.warnings[0]
    assert note.title == "Still read"
    assert note.date == dt.date(2022, 3, 4)  # from the path, since the front matter is lost
    assert [t.text for t in note.todos] == ["todo"]


def test_front_matter_that_is_not_a_mapping_warns():
    note = parse_note("---\n- a\n- b\n---\n# T\n", "x.md")
    assert "not a mapping" in note.warnings[0]
    assert note.title == "T"


def test_a_date_that_parses_to_nothing_warns_and_falls_back_to_the_path():
    note = parse_note("---\ndate: sometime soon\n---\n# T\n", "2022/01/25/x.md")
    assert note.date == dt.date(2022, 1, 25)
    assert note.warnings == ["front matter date 'sometime soon' is not a date this reads; ignored"]
    undated = parse_note(">Date : 언젠가\n\n# T\n", "x.md")
    assert undated.date is None
    assert "header date '언젠가'" in undated.warnings[0]


def test_title_fallbacks_heading_then_lectures_then_file_name():
    assert parse_note("## two\n# One\n# Later\n", "a.md").title == "One"
    # With no heading, a short first line is the title (issue 11); a sentence is not.
    assert parse_note("just text\n", "dir/my-note.md").title == "just text"
    long_line = "This first line is a whole sentence of text, not a title at all.\n"
    assert parse_note(long_line, "dir/my-note.md").title == "my-note"


def test_a_hash_line_inside_a_code_fence_is_not_a_heading():
    text = "```python\n# not a heading\n```\n\n# Real\n"
    note = parse_note(text, "x.md")
    assert [s.title for s in note.sections] == ["Real"]
    assert note.title == "Real"


def test_outline_nests_headings_and_details_as_written():
    text = (
        '# A\n\n## A.1\n\n<details open>\n<summary><b>Inner</b> part</summary>\n<div markdown="1">\n\n'
        "### deep\n\n<details>\n<summary>nested</summary>\n\nx\n</details>\n\n</div>\n</details>\n\n## A.2\n\n# B\n"
    )
    note = parse_note(text, "x.md")

    def shape(sections):
        return [(s.title, s.kind, s.open, shape(s.children)) for s in sections]

    assert shape(note.sections) == [
        (
            "A",
            "heading",
            True,
            [
                (
                    "A.1",
                    "heading",
                    True,
                    [
                        (
                            "Inner part",
                            "details",
                            True,
                            [("deep", "heading", True, [("nested", "details", False, [])])],
                        )
                    ],
                ),
                ("A.2", "heading", True, []),
            ],
        ),
        ("B", "heading", True, []),
    ]
    assert note.sections[0].children[0].children[0].line == 5


def test_checkbox_items_are_todos_with_state_and_line():
    text = "# T\n\n- [ ] open one\n- [x] done one\n- [X] done two\n- not a todo\n\n[ ] outside a list\n"
    note = parse_note(text, "x.md")
    assert [(t.text, t.done, t.line) for t in note.todos] == [
        ("open one", False, 3),
        ("done one", True, 4),
        ("done two", True, 5),
    ]


def test_three_kinds_of_snippet_in_order_with_names():
    text = (
        "---\nsnippets:\n  - experiments/listed.py\n  - {path: experiments/other.py, name: mine, timeout: 30}\n---\n"
        "# T\n\n```python run name=sgd timeout=60\nprint(1)\n```\n\n"
        "```python run\nprint(2)\n```\n\n```python\nprint('not runnable')\n```\n\n"
        "See [the script](../../experiments/linked.py), [again](../../experiments/linked.py), "
        "[web](https://example.com/a.py) and [outside](../../../evil.py).\n"
    )
    note = parse_note(text, "pytorch/day.md")
    got = [(s.name, s.source, s.path, s.attrs.get("timeout")) for s in note.snippets]
    assert got == [
        ("listed", "front_matter", "experiments/listed.py", None),
        ("mine", "front_matter", "experiments/other.py", "30"),
        ("sgd", "fence", None, "60"),
        ("snippet-4", "fence", None, None),
        ("linked", "link", "experiments/linked.py", None),
    ]
    assert note.snippets[2].code == "print(1)\n"


def test_duplicate_snippet_names_are_made_unique_with_a_warning():
    text = "```python run name=a\n1\n```\n\n```python run name=a\n2\n```\n"
    note = parse_note(text, "x.md")
    assert [s.name for s in note.snippets] == ["a", "a-2"]
    assert "used twice" in note.warnings[0]


def test_front_matter_snippet_outside_the_workspace_is_refused_with_a_warning():
    note = parse_note("---\nsnippets: [../../../etc/passwd.py, notes.txt]\n---\n", "x.md")
    assert note.snippets == []
    assert len(note.warnings) == 2


def test_korean_text_survives_parsing_untouched():
    note = parse_note("# 역전파를 배우자\n\n학습을 한다.\n", "x.md")
    assert note.title == "역전파를 배우자"
    assert "학습을 한다." in note.body
