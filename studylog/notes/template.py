"""Today's note from a template: fields filled in, a file name in the workspace's pattern
(pure: text and names in, text and a name out)."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

# `{{date}}`-style fields: single braces are common in notes (LaTeX, dicts, f-strings).
_FIELD = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
# *_yaml: the value quoted for front matter (a title with `:` or `#` stays one string).
FIELDS = ("date", "short_date", "topic", "lecture", "title", "title_yaml", "topic_yaml")

FRONT_MATTER_TEMPLATE = """\
---
title: {{title_yaml}}
date: {{date}}
topic: {{topic_yaml}}
lecture: {{lecture}}
---
# {{title}}

## 복습할 것

- [ ] 
"""

# The blockquote header block of Korean study blogs, inside a first <details>.
HEADER_TEMPLATE = """\
<details>
<summary>강의 정보</summary>
<div markdown="1">

>Date : {{short_date}}
>
>강좌 분류 : {{topic}}
>
>>강좌 번호 : {{lecture}}
>>
>>제목 : {{title}}

</div>
</details>

# {{title}}

## 복습할 것

- [ ] 
"""

_DATED_NAME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})-")
_DATED_FOLDERS = re.compile(r"(?:^|/)(\d{4})/(\d{2})/(\d{2})/[^/]+$")


class TemplateError(ValueError):
    """A template that cannot be filled: the message names the field."""


@dataclass
class NoteFields:
    title: str  # one line: what the user typed, newlines and control characters removed
    date: dt.date
    topic: str = ""
    lecture: str = ""

    def __post_init__(self) -> None:
        self.title = " ".join(self.title.split())
        self.topic = " ".join(self.topic.split())

    def values(self) -> dict[str, str]:
        return {
            "date": self.date.isoformat(),
            "short_date": self.date.strftime("%y.%m.%d"),  # 22.01.25, as Korean notes write it
            "topic": self.topic,
            "lecture": self.lecture,
            "title": self.title,
            "title_yaml": json.dumps(self.title, ensure_ascii=False),
            "topic_yaml": json.dumps(self.topic, ensure_ascii=False) if self.topic else "",
        }


def fill(template: str, fields: NoteFields, source: str = "the template") -> str:
    """`template` with each `{{field}}` replaced; TemplateError names an unknown field."""
    unknown = sorted({m.group(1) for m in _FIELD.finditer(template)} - set(FIELDS))
    if unknown:
        raise TemplateError(
            f"{source}: unknown field(s) {', '.join('{{' + u + '}}' for u in unknown)}; "
            f"known: {', '.join('{{' + f + '}}' for f in FIELDS)}"
        )
    values = fields.values()
    return _FIELD.sub(lambda m: values[m.group(1)], template)


def slug(title: str) -> str:
    """A file-name part from a title, Korean kept: `AutoGrad & Optimizer` → `autograd-optimizer`."""
    words = re.findall(r"\w+", title.lower())
    return "-".join(words)[:80].strip("-") or "note"


def note_name(like: str | None, day: dt.date, title: str, others: Sequence[str] = ()) -> str:
    """The path under notes/ of a new note, in the pattern of the note `like` (the newest):
    its folder, and dated folders (`2022/01/25/`) as it has, or a dated name
    (`2022-01-25-title.md`) as most notes beside it (`others`) have."""
    name = slug(title) + ".md"
    if like is None:
        return f"{day.isoformat()}-{name}"
    folder, _, base = like.rpartition("/")
    siblings = [p.rpartition("/")[2] for p in others if p.rpartition("/")[0] == folder] or [base]
    dated_names = sum(bool(_DATED_NAME.match(b)) for b in siblings) * 2 >= len(siblings)
    if _DATED_FOLDERS.search(like):
        parent = folder.rsplit("/", 3)[0] if folder.count("/") >= 3 else ""
        prefix = f"{parent}/" if parent else ""
        return f"{prefix}{day:%Y/%m/%d}/{name}"
    dated = f"{day.isoformat()}-{name}" if dated_names else name
    return f"{folder}/{dated}" if folder else dated


def free_name(wanted: str, taken: set[str]) -> str:
    """`wanted`, or `wanted` with -2, -3, … before .md when a note of that name exists."""
    if wanted not in taken:
        return wanted
    stem = wanted.removesuffix(".md")
    n = 2
    while f"{stem}-{n}.md" in taken:
        n += 1
    return f"{stem}-{n}.md"
