"""Review cards: read from notes (details questions, Q:/A: pairs, opt-out), kept in the
store with FSRS state and history across edits and moves, `review --json`, the TUI review
screen, an Anki deck with stable ids, and a store from before cards existed."""

from __future__ import annotations

import datetime as dt
import sqlite3

from fsrs import Card as FsrsCard
from fsrs import Rating

from studylog.notes.cards import extract_cards
from studylog.store.db import open_store
from studylog.store.index import index_notes
from studylog.store.review import (
    due_cards,
    fsrs_json,
    rate,
    review_count,
    scheduler,
    stamp,
    sync_cards,
)
from studylog.tui.app import StudylogApp
from studylog.tui.screens.review import ReviewScreen
from tests.tui_helpers import make_workspace, notes_loaded, settings, until, until_screen

CARD_NOTE = """---
title: Autograd
date: 2022-01-25
topic: Pytorch
---
# Autograd

<details>
<summary>Why call zero_grad?</summary>
<div markdown="1">

Gradients **accumulate** across backward calls.

```python run name=acc
print("accumulate")
```

</div>
</details>

<details>
<summary>Not a question</summary>
Plain content.
</details>

Q: What is a leaf tensor?
A: One made by the user,
   not by an operation.

- Q: 질문이 있나요
- A: 네

Q: Left without an answer?
"""


def _sync(ws, db):
    index_notes(db, ws, settings())
    return sync_cards(db, ws)


def test_cards_from_details_questions_and_qa_pairs():
    scan = extract_cards(CARD_NOTE)
    assert [(c.question, c.line) for c in scan.cards] == [
        ("Why call zero_grad?", 8),
        ("What is a leaf tensor?", 26),
        ("질문이 있나요", 30),
    ]
    assert scan.cards[0].answer.startswith("Gradients **accumulate**")
    assert "```python run name=acc" in scan.cards[0].answer
    assert scan.cards[1].answer == "One made by the user,\n   not by an operation."
    assert scan.warnings == [
        "line 33: the question 'Left without an answer?' has no answer; no card"
    ]


def test_front_matter_opts_a_note_out_or_in():
    assert extract_cards(CARD_NOTE.replace("topic:", "review: false\ntopic:")).cards == []
    opted_in = extract_cards(CARD_NOTE.replace("topic:", "review: true\ntopic:"))
    assert "Not a question" in [c.question for c in opted_in.cards]


def test_history_survives_edits_and_moves_and_deleted_notes(workspace, store, write_note):
    path = write_note("a/autograd.md", CARD_NOTE)
    _sync(workspace, store)
    cards = due_cards(store)
    assert len(cards) == 3
    first = cards[0]
    rate(store, first.id, 3)
    # Edited: lines above, a new answer. Then moved. The card is the same, history and all.
    path.write_text(
        CARD_NOTE.replace("# Autograd\n", "# Autograd\n\nNew intro.\n\n").replace(
            "**accumulate**", "**add up**"
        ),
        encoding="utf-8",
    )
    _sync(workspace, store)
    path.rename(workspace.notes_dir / "autograd-moved.md")
    _sync(workspace, store)
    row = store.execute(
        "SELECT id, note_path, line, answer, active FROM cards WHERE uid = ?", [first.uid]
    ).fetchone()
    assert row[0] == first.id and row[1:3] == ("autograd-moved.md", 11) and row[4] == 1
    assert "**add up**" in row[3]
    assert review_count(store, first.id) == 1
    # Deleted: its cards leave the queue, their reviews stay; back again, back in the queue.
    (workspace.notes_dir / "autograd-moved.md").unlink()
    _sync(workspace, store)
    assert due_cards(store, dt.datetime.now(dt.UTC) + dt.timedelta(days=3650)) == []
    assert review_count(store, first.id) == 1
    write_note("b/again.md", CARD_NOTE)
    _sync(workspace, store)
    back = store.execute("SELECT id, note_path, active FROM cards WHERE uid = ?", [first.uid])
    assert back.fetchone() == (first.id, "b/again.md", 1)


def test_review_json_lists_due_cards(run_cli, write_note):
    write_note("a/autograd.md", CARD_NOTE)
    cards = run_cli.json("review")
    assert [c["question"] for c in cards] == [
        "Why call zero_grad?",
        "What is a leaf tensor?",
        "질문이 있나요",
    ]
    assert set(cards[0]) == {"id", "path", "line", "question", "answer", "due"}
    assert cards[0]["path"] == "a/autograd.md" and cards[0]["due"].endswith("Z")
    result = run_cli("review")
    assert "a/autograd.md: line 33: the question 'Left without an answer?' has no answer" in (
        " ".join(result.stderr.split())
    )


def _deck(path):
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        notes = dict(conn.execute("SELECT guid, id FROM notes").fetchall())
        cards = dict(conn.execute("SELECT nid, id FROM cards").fetchall())
        fields = dict(conn.execute("SELECT guid, flds FROM notes").fetchall())
    return {guid: (nid, cards[nid]) for guid, nid in notes.items()}, fields


def test_anki_ids_stay_the_same_across_exports(run_cli, write_note, workspace, tmp_path):
    import zipfile

    path = write_note("a/autograd.md", CARD_NOTE)
    first = tmp_path / "one.apkg"
    assert run_cli.json("review", "--export", "anki", str(first)) == {
        "deck": str(first),
        "cards": 3,
    }
    path.write_text(CARD_NOTE.replace("**accumulate**", "**add up**") + "\nQ: New one?\nA: Yes\n")
    second = tmp_path / "two.apkg"
    run_cli("review", "--export", "anki", str(second))
    decks = []
    for package, folder in ((first, tmp_path / "x1"), (second, tmp_path / "x2")):
        with zipfile.ZipFile(package) as z:
            z.extractall(folder)
        decks.append(_deck(folder / "collection.anki2"))
    (ids1, fields1), (ids2, fields2) = decks
    assert len(ids1) == 3 and len(ids2) == 4
    assert all(ids2[guid] == ids for guid, ids in ids1.items())  # notes and cards alike
    zero_grad = next(g for g, f in fields2.items() if f.startswith("Why call zero_grad?"))
    assert "<strong>add up</strong>" in fields2[zero_grad]
    assert "<strong>accumulate</strong>" in fields1[zero_grad]


def test_a_store_from_before_cards_is_migrated_with_runs_kept(workspace, write_note):
    db = open_store(workspace.db_path)
    db.execute("DROP TABLE cards")
    db.execute("DROP TABLE card_reviews")
    db.execute("DROP TABLE card_sync")
    db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm003_review'")
    db.execute("PRAGMA user_version = 2")
    db.execute(
        "INSERT INTO runs (note_path, snippet, source, code, code_hash, seed, status, started) "
        "VALUES ('x.md', 's', 'fence', 'print(1)', 'h', 0, 'succeeded', '2022-01-01T00:00:00')"
    )
    db.close()
    write_note("a/autograd.md", CARD_NOTE)
    db = open_store(workspace.db_path)
    try:
        assert db.execute("SELECT count(*) FROM runs").fetchone()[0] == 1
        assert db.execute("PRAGMA user_version").fetchone()[0] >= 3
        _sync(workspace, db)
        assert len(due_cards(db)) == 3
    finally:
        db.close()


async def test_review_screen_rates_as_fsrs_says(tmp_path):
    ws = make_workspace(tmp_path / "ws", {"pytorch/2022-01-25-autograd.md": CARD_NOTE})
    app = StudylogApp(ws, settings())
    async with app.run_test() as pilot:
        main = await notes_loaded(pilot)
        await pilot.press("L")
        screen = await until_screen(pilot, ReviewScreen, "the review")
        await until(pilot, lambda: screen.cards is not None, "the cards")
        assert screen.cards is not None
        assert [c.question for c in screen.cards] == [
            "Why call zero_grad?",
            "What is a leaf tensor?",
            "질문이 있나요",
        ]
        for key, rating in (("1", Rating.Again), ("3", Rating.Good), ("4", Rating.Easy)):
            card = screen.card
            assert card is not None
            before = FsrsCard.from_json(fsrs_json(app.db, card.id))
            await pilot.press(key)  # before the answer shows: not rated
            assert screen.card is card
            await pilot.press("space")
            assert screen.has_class("revealed")
            await pilot.press(key)
            reviewed, due = app.db.execute(
                "SELECT reviewed, due_after FROM card_reviews WHERE card_id = ?", [card.id]
            ).fetchone()
            at = dt.datetime.strptime(reviewed, "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.UTC)
            expected, _ = scheduler().review_card(before, rating, review_datetime=at)
            assert due == stamp(expected.due)
            assert (
                app.db.execute("SELECT due FROM cards WHERE id = ?", [card.id]).fetchone()[0] == due
            )
        assert screen.cards == []
        assert screen.reviewed == 3
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is main, "the main screen")
