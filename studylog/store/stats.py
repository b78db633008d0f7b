"""Where the days went: notes written and runs made per day, the streak, and per topic the
notes, runs and cards due."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from studylog.store.review import now_utc, stamp

if TYPE_CHECKING:
    import sqlite_utils


@dataclass
class TopicCounts:
    topic: str | None
    notes: int = 0
    runs: int = 0
    due: int = 0

    def to_json(self) -> dict[str, object]:
        return {"topic": self.topic, "notes": self.notes, "runs": self.runs, "due": self.due}


@dataclass
class Stats:
    today: dt.date
    days: dict[dt.date, tuple[int, int]] = field(default_factory=dict)  # date → (notes, runs)
    streak: int = 0
    topics: list[TopicCounts] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "today": self.today.isoformat(),
            "days": [
                {"date": day.isoformat(), "notes": notes, "runs": runs}
                for day, (notes, runs) in sorted(self.days.items())
            ],
            "streak": self.streak,
            "topics": [t.to_json() for t in self.topics],
        }

    def weeks(self, count: int) -> list[list[tuple[dt.date, int] | None]]:
        """The last `count` weeks to today as columns of seven days (Monday first), each day
        with its notes + runs; None for days after today."""
        start = self.today - dt.timedelta(days=self.today.weekday() + 7 * (count - 1))
        columns = []
        for w in range(count):
            column: list[tuple[dt.date, int] | None] = []
            for d in range(7):
                day = start + dt.timedelta(days=7 * w + d)
                notes, runs = self.days.get(day, (0, 0))
                column.append((day, notes + runs) if day <= self.today else None)
            columns.append(column)
        return columns


def collect_stats(db: sqlite_utils.Database, today: dt.date | None = None) -> Stats:
    """Every day with notes or runs, the streak ending today (or yesterday, when today has
    nothing yet), and the counts per topic (most notes first)."""
    today = today or dt.date.today()
    stats = Stats(today)
    counts: dict[str, list[int]] = {}
    for day, n in db.execute(
        "SELECT date, count(*) FROM notes WHERE date IS NOT NULL GROUP BY date"
    ):
        counts.setdefault(day, [0, 0])[0] = n
    # Runs by the local day they started (the timestamp carries its own offset).
    for day, n in db.execute("SELECT substr(started, 1, 10), count(*) FROM runs GROUP BY 1"):
        counts.setdefault(day, [0, 0])[1] = n
    for day, (notes, runs) in counts.items():
        try:
            stats.days[dt.date.fromisoformat(day)] = (notes, runs)
        except ValueError:
            continue  # a date the index could not read is listed as undated elsewhere
    day = today if today in stats.days else today - dt.timedelta(days=1)
    while day in stats.days:
        stats.streak += 1
        day -= dt.timedelta(days=1)
    topics: dict[str | None, TopicCounts] = {}
    for topic, n in db.execute("SELECT topic, count(*) FROM notes GROUP BY topic"):
        topics[topic] = TopicCounts(topic, notes=n)
    for topic, n in db.execute(
        "SELECT n.topic, count(*) FROM runs r JOIN notes n ON n.id = r.note_id GROUP BY n.topic"
    ):
        topics.setdefault(topic, TopicCounts(topic)).runs = n
    if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'cards'").fetchone():
        for topic, n in db.execute(
            "SELECT n.topic, count(*) FROM cards c JOIN notes n ON n.id = c.note_id "
            "WHERE c.active AND c.due <= ? GROUP BY n.topic",
            [stamp(now_utc())],
        ):
            topics.setdefault(topic, TopicCounts(topic)).due = n
    stats.topics = sorted(
        topics.values(), key=lambda t: (-t.notes, -t.runs, t.topic is None, t.topic or "")
    )
    return stats
