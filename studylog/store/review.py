"""Review cards in the store: kept in step with the notes, scheduled with FSRS.

Cards are read from notes whose file changed since their cards were last read (the
index's hash says which), so a review session on 10,000 notes reads nothing when nothing
changed. A card is its note and its question: edited answers, moved lines and a moved
note keep its history; a question that leaves its note, or a deleted note, makes the card
inactive (hidden, its reviews kept) until it comes back. Review state never goes into a
note."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from studylog.notes.cards import extract_cards
from studylog.store.index import write_transaction

if TYPE_CHECKING:
    import sqlite_utils
    from fsrs import Scheduler

    from studylog.paths import Workspace

RATINGS = {"again": 1, "hard": 2, "good": 3, "easy": 4}
_TIME = "%Y-%m-%d %H:%M:%S"


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def stamp(moment: dt.datetime) -> str:
    """A UTC time as the store keeps it (sorts as text)."""
    return moment.astimezone(dt.UTC).strftime(_TIME)


def scheduler() -> Scheduler:
    """FSRS with its default parameters; no fuzzing, so a rating always gives the interval
    FSRS computes (and tests can say which)."""
    from fsrs import Scheduler

    return Scheduler(enable_fuzzing=False)


@dataclass
class DueCard:
    id: int
    uid: str
    path: str
    question: str
    answer: str
    line: int
    due: str  # UTC, YYYY-MM-DD HH:MM:SS
    note_exists: bool = True

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.uid,
            "path": self.path,
            "line": self.line,
            "question": self.question,
            "answer": self.answer,
            "due": self.due.replace(" ", "T") + "Z",
        }


@dataclass
class SyncReport:
    notes_read: int = 0
    warnings: list[str] = field(default_factory=list)  # "notes/x.md: line 3: …", standing


def sync_cards(db: sqlite_utils.Database, workspace: Workspace) -> SyncReport:
    """Bring the cards in step with the indexed notes (index first)."""
    from fsrs import Card as FsrsCard

    from studylog.notes.read import decode_note

    report = SyncReport()
    changed = db.execute(
        "SELECT n.id, n.path, n.hash FROM notes n LEFT JOIN card_sync s ON s.note_id = n.id "
        "WHERE n.readable AND (s.note_id IS NULL OR s.hash IS NOT n.hash)"
    ).fetchall()
    now = stamp(now_utc())
    if not changed and not _pending(db):  # nothing to write: no write lock taken
        _standing_warnings(db, workspace, report)
        return report
    with write_transaction(db):
        # A moved note (same id, new path): its cards follow.
        db.execute(
            "UPDATE cards SET note_path = n.path FROM notes n "
            "WHERE n.id = cards.note_id AND cards.note_path != n.path"
        )
        for note_id, path, digest in changed:
            try:
                data = workspace.note_file(path).read_bytes()
            except OSError as exc:
                report.warnings.append(f"{workspace.label(path)}: cannot read its cards ({exc})")
                continue
            text = decode_note(data).text
            if text is None:
                continue
            scan = extract_cards(text)
            report.notes_read += 1
            keep = []
            for card in scan.cards:
                row = db.execute(
                    "SELECT id FROM cards WHERE note_id = ? AND qkey = ?", [note_id, card.key]
                ).fetchone()
                if row is None:
                    # The same question in a note that is gone (moved and edited at once, so
                    # the index saw a new note): the card moves here with its history.
                    row = db.execute(
                        "SELECT id FROM cards WHERE qkey = ? AND note_id NOT IN "
                        "(SELECT id FROM notes) LIMIT 1",
                        [card.key],
                    ).fetchone()
                if row is None:
                    fresh = FsrsCard(card_id=0)
                    uid = hashlib.blake2b(
                        f"{path}\0{card.key}\0{now}".encode(), digest_size=8
                    ).hexdigest()
                    cursor = db.execute(
                        "INSERT INTO cards (uid, note_id, note_path, qkey, question, answer, "
                        "line, active, due, fsrs, created) VALUES (?,?,?,?,?,?,?,1,?,?,?)",
                        [
                            uid,
                            note_id,
                            path,
                            card.key,
                            card.question,
                            card.answer,
                            card.line,
                            now,
                            fresh.to_json(),
                            now,
                        ],
                    )
                    keep.append(cursor.lastrowid)
                else:
                    db.execute(
                        "UPDATE cards SET note_id = ?, note_path = ?, question = ?, answer = ?, "
                        "line = ?, active = 1 WHERE id = ?",
                        [note_id, path, card.question, card.answer, card.line, row[0]],
                    )
                    keep.append(row[0])
            db.execute(
                f"UPDATE cards SET active = 0 WHERE note_id = ? AND active "
                f"AND id NOT IN ({','.join('?' * len(keep))})",
                [note_id, *keep],
            )
            db.execute(
                "INSERT OR REPLACE INTO card_sync (note_id, hash, warnings) VALUES (?, ?, ?)",
                [note_id, digest, json.dumps(scan.warnings, ensure_ascii=False)],
            )
        # Deleted notes: their cards wait, inactive, with their history.
        db.execute(
            "UPDATE cards SET active = 0 WHERE active AND note_id NOT IN (SELECT id FROM notes)"
        )
        db.execute("DELETE FROM card_sync WHERE note_id NOT IN (SELECT id FROM notes)")
    _standing_warnings(db, workspace, report)
    return report


def _pending(db: sqlite_utils.Database) -> bool:
    """Whether a moved or deleted note leaves cards to update."""
    return bool(
        db.execute(
            "SELECT EXISTS (SELECT 1 FROM cards c JOIN notes n ON n.id = c.note_id "
            "WHERE c.note_path != n.path) "
            "OR EXISTS (SELECT 1 FROM cards WHERE active "
            "AND note_id NOT IN (SELECT id FROM notes)) "
            "OR EXISTS (SELECT 1 FROM card_sync WHERE note_id NOT IN (SELECT id FROM notes))"
        ).fetchone()[0]
    )


def _standing_warnings(db: sqlite_utils.Database, workspace: Workspace, report: SyncReport) -> None:
    """Every standing warning, not only those of the notes read now, each led by the note's
    place in the workspace."""
    for path, warnings in db.execute(
        "SELECT n.path, s.warnings FROM card_sync s JOIN notes n ON n.id = s.note_id "
        "WHERE s.warnings != '[]' ORDER BY n.path"
    ):
        report.warnings.extend(f"{workspace.label(path)}: {w}" for w in json.loads(warnings))


_CARD_SQL = (
    "SELECT c.id, c.uid, c.note_path, c.question, c.answer, c.line, c.due, "
    "EXISTS (SELECT 1 FROM notes n WHERE n.id = c.note_id) FROM cards c"
)


def _card(row: tuple[Any, ...]) -> DueCard:
    card_id, uid, path, question, answer, line, due, exists = row
    return DueCard(card_id, uid, path, question, answer, line, due, note_exists=bool(exists))


def due_cards(
    db: sqlite_utils.Database, at: dt.datetime | None = None, limit: int | None = None
) -> list[DueCard]:
    """Active cards due at `at` (now), the longest overdue first."""
    rows = db.execute(
        _CARD_SQL
        + " WHERE c.active AND c.due <= ? ORDER BY c.due, c.id"
        + (" LIMIT ?" if limit is not None else ""),
        [stamp(at or now_utc()), *([limit] if limit is not None else [])],
    )
    return [_card(r) for r in rows]


def next_card(db: sqlite_utils.Database, at: dt.datetime | None = None) -> DueCard | None:
    """The card to review now, or None."""
    found = due_cards(db, at, limit=1)
    return found[0] if found else None


def all_cards(db: sqlite_utils.Database) -> list[DueCard]:
    """Every active card, in note and line order (for a deck)."""
    return [
        _card(r) for r in db.execute(_CARD_SQL + " WHERE c.active ORDER BY c.note_path, c.line")
    ]


class CardGone(LookupError):
    """The card is no longer in the store or no longer active."""


def rate(
    db: sqlite_utils.Database, card_id: int, rating: int, at: dt.datetime | None = None
) -> str:
    """Record a review (1 again … 4 easy) and schedule the card by FSRS; its new due time."""
    from fsrs import Card as FsrsCard
    from fsrs import Rating

    moment = at or now_utc()
    with write_transaction(db):
        row = db.execute("SELECT fsrs, due FROM cards WHERE id = ?", [card_id]).fetchone()
        if row is None:
            raise CardGone(f"card {card_id} is no longer in the store")
        card, _log = scheduler().review_card(
            FsrsCard.from_json(row[0]), Rating(rating), review_datetime=moment
        )
        due = stamp(card.due)
        db.execute(
            "UPDATE cards SET fsrs = ?, due = ? WHERE id = ?", [card.to_json(), due, card_id]
        )
        db.execute(
            "INSERT INTO card_reviews (card_id, rating, reviewed, due_before, due_after) "
            "VALUES (?, ?, ?, ?, ?)",
            [card_id, rating, stamp(moment), row[1], due],
        )
    return due


def review_count(db: sqlite_utils.Database, card_id: int) -> int:
    return db.execute("SELECT count(*) FROM card_reviews WHERE card_id = ?", [card_id]).fetchone()[
        0
    ]


def due_by_note(db: sqlite_utils.Database, at: dt.datetime | None = None) -> dict[int, int]:
    """How many cards each note has due (note id → count)."""
    return dict(
        db.execute(
            "SELECT note_id, count(*) FROM cards WHERE active AND due <= ? GROUP BY note_id",
            [stamp(at or now_utc())],
        ).fetchall()
    )


def count_due(workspace: Workspace) -> dict[int, int]:
    """The cards brought in step with the indexed notes, then each note's due count, on a
    connection of its own (for a worker thread: the tree's counts)."""
    from studylog.store.db import connect

    db = connect(workspace.db_path)
    try:
        sync_cards(db, workspace)
        return due_by_note(db)
    finally:
        db.close()


def fsrs_json(db: sqlite_utils.Database, card_id: int) -> str:
    """The card's FSRS state as stored (for tests and the curious)."""
    return db.execute("SELECT fsrs FROM cards WHERE id = ?", [card_id]).fetchone()[0]
