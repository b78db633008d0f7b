"""The review queue with 10,000 cards: how long the next card takes to show, beside a plain
SELECT of the due rows (the baseline).

Goal (issue 14): the next card shows in ≤ 50 ms — the cards brought in step with unchanged
notes, then the next due card read; and after a rating (FSRS scheduling and the review
written), the card after it.

    python benchmarks/bench_review.py
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from _common import median_time, report, timed

NOTES = 1_000
CARDS_PER_NOTE = 10
GOAL_MS = 50.0


def make_workspace(root: Path) -> None:
    for n in range(NOTES):
        folder = root / "notes" / f"topic-{n % 20}"
        folder.mkdir(parents=True, exist_ok=True)
        lines = [f"---\ntitle: Note {n}\ndate: 2022-01-{n % 28 + 1:02d}\n---\n# Note {n}\n"]
        for c in range(CARDS_PER_NOTE):
            if c % 2:
                lines.append(f"Q: Question {n}-{c}?\nA: Answer {n}-{c}, with **markdown**.\n")
            else:
                lines.append(
                    f'<details>\n<summary>Why {n}-{c}?</summary>\n<div markdown="1">\n\n'
                    f"Because {n}-{c}.\n\n</div>\n</details>\n"
                )
        (folder / f"2022-01-{n % 28 + 1:02d}-note-{n}.md").write_text("\n".join(lines))


def main() -> None:
    from studylog.paths import Workspace
    from studylog.settings import Settings
    from studylog.store.db import open_store
    from studylog.store.index import index_notes
    from studylog.store.review import next_card, rate, stamp, sync_cards

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_workspace(root)
        ws = Workspace(root)
        db = open_store(ws.db_path)
        index_notes(db, ws, Settings())
        cold = timed(lambda: sync_cards(db, ws))
        total = db.execute("SELECT count(*) FROM cards WHERE active").fetchone()[0]
        print(f"{NOTES} notes, {total} cards; first read of the cards {cold * 1000:.0f} ms\n")
        at = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)

        def plain_select() -> None:
            db.execute("SELECT * FROM cards WHERE due <= ?", [stamp(at)]).fetchall()

        def next_shown() -> None:
            sync_cards(db, ws)
            next_card(db, at)

        def rate_then_next() -> None:
            card = next_card(db, at)
            assert card is not None
            rate(db, card.id, 3, at)
            next_card(db, at)

        baseline = median_time(plain_select, repeat=20)
        for name, fn in (
            ("next card (cards in step + next)", next_shown),
            ("rate Good, then the next card", rate_then_next),
            ("next card alone", lambda: next_card(db, at)),
        ):
            value = median_time(fn, repeat=20)
            verdict = "ok" if value * 1000 <= GOAL_MS else f"over the {GOAL_MS:.0f} ms goal"
            report(name, f"{value * 1000:.2f} ms", f"{baseline * 1000:.2f} ms", verdict)
        db.close()


if __name__ == "__main__":
    main()
