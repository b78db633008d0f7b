"""Metadata from where a note lies, for notes that carry none: `03_PyTorch/md/04_AutoGrad.md`
is topic "PyTorch", lecture 4 "AutoGrad"; `Week_5/Day_24/02. LSTM and GRU.md` is topic
"Week 5", lecture 24 "Day 24", titled "LSTM and GRU" (pure: a path in, names out)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from studylog.notes.model import Lecture

# Folders that say nothing about what is in them.
NOISE = frozenset(
    {"md", "markdown", "notes", "note", "docs", "doc", "src", "content", "posts", "_posts", "pages"}
)
# `03_`, `02. `, `1-`: an ordering prefix; the rest is the name.
_ORDER = re.compile(r"^(?P<n>\d{1,4})(?:[._\-\s)]+)(?P<rest>.*\S.*)$")
# `Week_5`, `Day 24`, `Lecture-3`, `Chapter 2`, `3주차`, `5강`: a unit of a course.
_DATED = re.compile(r"^\d{4}-\d{2}-\d{2}[-_ ]")
_UNIT = re.compile(
    r"^(?:(?P<word>week|day|lecture|lec|chapter|ch|part|unit|session|module|lesson)"
    r"[\s_\-.]*(?P<n>\d{1,4})|(?P<kn>\d{1,4})\s*(?P<kword>주차|일차|강|장))$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Named:
    """One path part read: its order number (if it has one), its name, whether a unit."""

    number: str | None
    name: str
    unit: bool = False


def read_part(part: str) -> Named:
    """`03_PyTorch` → (3, "PyTorch"); `Week_5` → (5, "Week 5", unit); `x_y` → "x y"."""
    text = part.strip()
    if m := _UNIT.match(text):
        unit = str(int(m.group("n") or m.group("kn")))
        word = m.group("word")
        label = (
            f"{word[:1].upper()}{word[1:].lower()} {unit}" if word else f"{unit}{m.group('kword')}"
        )
        return Named(unit, label, unit=True)
    number: str | None = None
    if m := _ORDER.match(text):
        number, text = str(int(m.group("n"))), m.group("rest")
    name = " ".join(text.replace("_", " ").split())
    return Named(number, name or part)


@dataclass(frozen=True)
class FolderMeta:
    topic: str | None
    lectures: list[Lecture]
    name: str  # the file's name read as a title (prefix and underscores gone)


def folder_meta(inner: str) -> FolderMeta:
    """Topic, lectures and a readable name from `inner`, a note's path inside its notes
    folder. The first folder that is not a unit names the topic (else the first unit); a
    unit folder below the topic is the lecture, else a numbered file is."""
    parts = inner.split("/")
    stem = parts[-1].rsplit(".", 1)[0] if "." in parts[-1] else parts[-1]
    stem = _DATED.sub("", stem) or stem
    # Date folders (2022/01/25) give the date, not a topic.
    folders = [
        read_part(p)
        for p in parts[:-1]
        if p.strip() and p.strip().lower() not in NOISE and not p.strip().isdigit()
    ]
    own = read_part(stem)
    topic_part = next((f for f in folders if not f.unit), folders[0] if folders else None)
    lectures: list[Lecture] = []
    if topic_part is not None:
        below = folders[folders.index(topic_part) + 1 :]
        unit = next((f for f in below if f.unit), None)
        if unit is not None:
            lectures.append(Lecture(number=unit.number, title=unit.name))
        elif own.number is not None:
            lectures.append(Lecture(number=own.number, title=own.name))
    return FolderMeta(topic_part.name if topic_part else None, lectures, own.name)
