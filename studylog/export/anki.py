"""An Anki deck (.apkg) of the review cards, with ids that stay the same from one export
to the next, so that importing again updates the notes instead of adding duplicates."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from studylog.paths import Workspace
    from studylog.store.review import DueCard

# Fixed: Anki knows a note type and a deck by these ids across imports.
MODEL_ID = 1_607_392_319
_ID_BITS = 48  # Anki's ids are millisecond times (~2**41); 48 bits leave hashes room


class AnkiError(Exception):
    """The deck could not be written: the message names the file."""


def stable_id(*parts: str) -> int:
    digest = hashlib.blake2b("\0".join(parts).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> (64 - _ID_BITS) | 1 << (_ID_BITS - 1)


def _answer_html(markdown: str) -> str:
    import nh3

    from studylog.notes.markup import markdown_parser

    return nh3.clean(markdown_parser().render(markdown))


def write_deck(cards: list[DueCard], target: Path, deck_name: str, workspace: Workspace) -> int:
    """Write `cards` to `target` as an Anki package; how many cards it holds. Each card's
    source is its note's place in `workspace`."""
    import genanki

    model = genanki.Model(
        MODEL_ID,
        "studylog question",
        fields=[{"name": "Question"}, {"name": "Answer"}, {"name": "Source"}],
        templates=[
            {
                "name": "Card 1",
                "qfmt": "{{Question}}",
                "afmt": '{{FrontSide}}<hr id="answer">{{Answer}}<p><small>{{Source}}</small></p>',
            }
        ],
    )

    class StableNote(genanki.Note):
        """genanki numbers notes and cards from the clock; these keep the card's own ids."""

        def __init__(self, ids: tuple[int, int], **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.ids = ids

        def write_to_db(self, cursor: Any, timestamp: float, deck_id: int, id_gen: Any) -> None:
            super().write_to_db(cursor, timestamp, deck_id, iter(self.ids))

    deck = genanki.Deck(stable_id("deck", deck_name), deck_name)
    for card in cards:
        deck.add_note(
            StableNote(
                (stable_id("note", card.uid), stable_id("card", card.uid)),
                model=model,
                fields=[
                    nh3_text(card.question),
                    _answer_html(card.answer),
                    nh3_text(workspace.label(card.path)),
                ],
                guid=card.uid,
            )
        )
    try:
        genanki.Package(deck).write_to_file(str(target))
    except OSError as exc:
        raise AnkiError(f"cannot write {target}: {exc.strerror or exc}") from exc
    return len(cards)


def nh3_text(text: str) -> str:
    """Plain text as HTML (Anki fields are HTML)."""
    import html

    return html.escape(text)
