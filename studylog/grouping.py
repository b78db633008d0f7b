"""Notes grouped for browsing, the same in the CLI's trees and the TUI's sidebar: by topic
(topic → lecture → note) and by date (year → month → day → note, "Undated" last)."""

from __future__ import annotations

import calendar
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from studylog.labels import NO_TOPIC, UNDATED
from studylog.notes.model import Lecture
from studylog.store.queries import NoteSummary

NO_LECTURE = "Other notes"

Kind = Literal["root", "topic", "lecture", "year", "month", "day", "undated"]


@dataclass
class Group:
    label: str
    kind: Kind
    groups: list[Group] = field(default_factory=list)
    notes: list[NoteSummary] = field(default_factory=list)
    _paths: set[str] | None = field(default=None, repr=False, compare=False)

    def count(self) -> int:
        """Notes under it, each once (a note of two lectures is one note of its topic)."""
        return len(self.paths())

    def paths(self) -> set[str]:
        """The notes' paths under it (computed once: groups do not change once built)."""
        if self._paths is None:
            self._paths = {n.path for n in self.notes}
            for group in self.groups:
                self._paths |= group.paths()
        return self._paths


def _lecture_key(lecture: Lecture) -> tuple[int, float, str]:
    """Numbered lectures in number order, then lectures with only a title, then none."""
    if lecture.number:
        match = re.match(r"\d+(?:\.\d+)?", lecture.number)
        return (0 if match else 1, float(match.group()) if match else 0.0, lecture.number)
    if lecture.title:
        return (1, 0.0, lecture.title)
    return (2, 0.0, "")


def by_topic(notes: Iterable[NoteSummary]) -> Group:
    """Topic → lecture → note; a note covering two lectures appears under both. Topics group
    case-insensitively (Pytorch, PyTorch); a lecture is one group per number, titled by
    whichever note names it; notes of no lecture sit under their topic directly."""
    names: dict[str, str] = {}
    lectures: dict[str, dict[tuple[int, float, str], list[NoteSummary]]] = defaultdict(
        lambda: defaultdict(list)
    )
    titles: dict[tuple[str, tuple[int, float, str]], str] = {}
    for note in notes:
        topic = names.setdefault((note.topic or NO_TOPIC).casefold(), note.topic or NO_TOPIC)
        for lecture in note.lectures or [Lecture(None, None)]:
            key = _lecture_key(lecture)
            lectures[topic][key].append(note)
            current = titles.get((topic, key))
            if current is None or (lecture.title and current == Lecture(lecture.number).label()):
                titles[(topic, key)] = lecture.label() or NO_LECTURE
    root = Group("Notes by topic", "root")
    for topic in sorted(lectures, key=lambda t: (t == NO_TOPIC, t.casefold())):
        group = Group(topic, "topic")
        for key in sorted(lectures[topic]):
            if key[0] == 2:
                group.notes = lectures[topic][key]
            else:
                group.groups.append(
                    Group(titles[(topic, key)], "lecture", notes=lectures[topic][key])
                )
        root.groups.append(group)
    return root


def by_date(notes: Iterable[NoteSummary]) -> Group:
    """Year → month → day → note, in date order; undated notes last."""
    dated: dict[str, dict[str, dict[str, list[NoteSummary]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(list))
    )
    undated: list[NoteSummary] = []
    for note in notes:
        if note.date:
            year, month, day = note.date.split("-")
            dated[year][month][day].append(note)
        else:
            undated.append(note)
    root = Group("Notes by date", "root")
    for year in sorted(dated):
        year_group = Group(year, "year")
        for month in sorted(dated[year]):
            month_group = Group(f"{month} {calendar.month_name[int(month)]}", "month")
            for day in sorted(dated[year][month]):
                month_group.groups.append(
                    Group(f"{year}-{month}-{day}", "day", notes=dated[year][month][day])
                )
            year_group.groups.append(month_group)
        root.groups.append(year_group)
    if undated:
        root.groups.append(Group(UNDATED, "undated", notes=undated))
    return root
