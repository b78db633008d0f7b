"""Note metadata written by hand: YAML front matter and the blockquote header block
(`>Date : 22.01.25`, `>>강좌 번호 : 4`) of Korean study blogs."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from studylog.notes.model import Lecture

try:  # the C loader is several times faster on 10,000 notes
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader


def _norm(key: str) -> str:
    return re.sub(r"[\s_-]+", "", key).lower()


# Header-block keys in Korean and English, normalised (spaces removed, lower case).
HEADER_KEYS: dict[str, str] = {
    **dict.fromkeys(["date", "날짜", "작성일", "일자"], "date"),
    **dict.fromkeys(["topic", "course", "category", "강좌분류", "분류", "과목"], "topic"),
    **dict.fromkeys(["lecture", "lectureno", "강좌번호", "강의번호"], "lecture"),
    **dict.fromkeys(["title", "제목", "강의제목", "강좌제목"], "title"),
    **dict.fromkeys(["tags", "tag", "태그"], "tags"),
}

_KEY_VALUE = re.compile(r"^\s*(?P<key>[^:：]{1,24}?)\s*[:：]\s*(?P<value>.*?)\s*$")
_QUOTE_MARKS = re.compile(r"^(?:\s{0,3}>)+\s?")


@dataclass
class HeaderBlock:
    """What a blockquote header block says, in the order it says it."""

    date: str | None = None
    topic: str | None = None
    title: str | None = None
    tags: list[str] = field(default_factory=list)
    lectures: list[Lecture] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.date or self.topic or self.title or self.tags or self.lectures)


def read_header_lines(lines: list[str], into: HeaderBlock) -> bool:
    """Read `key : value` lines of one blockquote into `into`; True when any key was known.

    A lecture number opens a lecture; a title that follows it names that lecture, so
    several number/title pairs make several lectures."""
    found = False
    for raw in lines:
        line = _QUOTE_MARKS.sub("", raw)
        m = _KEY_VALUE.match(line)
        if not m:
            continue
        key = HEADER_KEYS.get(_norm(m.group("key")))
        value = m.group("value").strip()
        if key is None or not value:
            continue
        found = True
        if key == "lecture":
            into.lectures.append(Lecture(number=value))
        elif key == "title":
            if into.lectures and into.lectures[-1].title is None:
                into.lectures[-1].title = value
            elif into.title is None:
                into.title = value
        elif key == "tags":
            into.tags.extend(split_tags(value))
        elif key == "date" and into.date is None:
            into.date = value
        elif key == "topic" and into.topic is None:
            into.topic = value
    return found


def split_tags(value: object) -> list[str]:
    """Tags from a YAML list or a comma/space separated string, without '#' marks."""
    return read_tags(value)[0]


def read_tags(value: object) -> tuple[list[str], list[str]]:
    """Tags as Jekyll reads them, and what was dropped as unreadable.

    A string splits at commas and spaces (a list's items do not); a list of lists flattens
    (`- [Segmentation, CV]`); empty items, `[]` and nulls are dropped; numbers and dates are
    their text; a mapping is not a tag (it goes in the second list, for a warning)."""
    tags: list[str] = []
    dropped: list[str] = []
    todo: list[object] = [value]
    while todo:
        item = todo.pop(0)
        if item is None:
            continue
        if isinstance(item, (list, tuple)):
            todo[:0] = list(item)
        elif isinstance(item, dict):
            dropped.append(repr(item) if len(repr(item)) <= 60 else repr(item)[:57] + "...")
        elif isinstance(item, str):
            # A string of words splits (Jekyll); a list item is one tag, spaces and all.
            words = re.split(r"[,\s]+", item) if item is value else [item]
            for word in words:
                tag = word.strip().lstrip("#").strip()
                if tag and tag not in ("[]", "None", "null", "~") and tag not in tags:
                    tags.append(tag)
        elif isinstance(item, bool):
            dropped.append(str(item).lower())
        else:  # numbers, dates
            tag = item.isoformat() if hasattr(item, "isoformat") else str(item)
            if tag not in tags:
                tags.append(tag)
    return tags, dropped


class FrontMatterError(Exception):
    """The front matter is not YAML, or not a mapping."""


def load_front_matter(text: str) -> dict[str, Any]:
    """The front matter's mapping; FrontMatterError says what is wrong and where.

    YAML aliases (`*name`) are refused: front matter has no use for them, and a few hundred
    bytes of nested aliases expand into gigabytes ("billion laughs")."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return {}
        _refuse_aliases(node)
        data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 2}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise FrontMatterError(f"invalid YAML front matter{where}: {problem}") from exc
    except (ValueError, OverflowError) as exc:  # `date: 2022-13-45`, `n: !!int zz`
        raise FrontMatterError(
            f"front matter holds a value that cannot be read ({exc}); the front matter is ignored"
        ) from exc
    finally:
        loader.dispose()
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise FrontMatterError(
            f"front matter is a {type(data).__name__}, not a mapping of keys to values"
        )
    return {str(k).strip().lower(): v for k, v in data.items()}


def _refuse_aliases(root: yaml.Node) -> None:
    """FrontMatterError when a node is reached twice: the composer gives an alias the very
    node its anchor names, so a repeat is an alias (walked without recursion)."""
    seen: set[int] = set()
    todo = [root]
    while todo:
        node = todo.pop()
        if id(node) in seen:
            line = node.start_mark.line + 2 if node.start_mark is not None else 0
            raise FrontMatterError(
                f"front matter repeats the value anchored at line {line} through a YAML "
                "alias (`*name`); aliases are not read in notes, so the front matter is "
                "ignored. Write the value out instead."
            )
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            todo.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                todo.extend((key, value))


def front_matter_lectures(value: object) -> list[Lecture]:
    """`lecture: 4`, `lecture: [4, 5]` or `lectures: [{number: 4, title: ...}]`."""
    items = value if isinstance(value, list) else [value]
    lectures = []
    for item in items:
        if isinstance(item, dict):
            number = item.get("number", item.get("lecture"))
            title = item.get("title")
            lectures.append(
                Lecture(
                    number=None if number is None else str(number),
                    title=None if title is None else str(title),
                )
            )
        elif item is not None and str(item).strip():
            lectures.append(Lecture(number=str(item).strip()))
    return lectures


def front_matter_topic(fm: dict[str, Any]) -> str | None:
    for key in ("topic", "course", "category", "categories"):
        value = fm.get(key)
        if isinstance(value, (list, str)):  # Jekyll's categories: a list or words
            names = read_tags(value)[0] if isinstance(value, list) else [value.strip()]
            value = names[0] if names and names[0] else None
        elif isinstance(value, dict):
            value = None
        if value is not None and str(value).strip():
            return str(value).strip()
    return None
