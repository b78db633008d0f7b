"""Review cards from what learners already write (pure: text in, cards out).

A card is a `<details>` whose summary is a question (it ends with `?`, or starts with
`Q.`, `Q:` or `질문`), its answer the block's content; or a `Q:` line with the `A:` lines
after it. `review: false` in the front matter opts a note out; `review: true` opts it in
wholly: then every `<details>` with a summary is a card."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from studylog.notes.header import FrontMatterError, load_front_matter
from studylog.notes.markup import ANY_TAG, DETAILS_TAGS


@dataclass
class Card:
    question: str
    answer: str  # markdown
    line: int  # 1-based line of the question
    key: str  # the card's identity within its note: a hash of the question

    def to_json(self) -> dict[str, object]:
        return {"question": self.question, "answer": self.answer, "line": self.line}


@dataclass
class CardScan:
    cards: list[Card] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


_FRONT = re.compile(r"\A---[ \t]*\n(.*?\n)(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_WRAPPER = re.compile(r"^\s*<div\b[^>]*>\s*|\s*</div>\s*$", re.IGNORECASE)
_QUESTION_START = re.compile(r"^(?:Q\s*[.:：]|질문)", re.IGNORECASE)
# `Q: …` / `A: …`, also as a list item, in a blockquote or in bold (`**Q:**`).
_QA = re.compile(
    r"^[ \t]*(?:>[ \t]?)*[ \t]*(?:[-*+][ \t]+)?(?:\*\*)?(?P<kind>[QqAa])[ \t]*[:：](?:\*\*)?[ \t]*(?P<text>.*)$"  # noqa: E501 (one pattern reads best whole)
)
_OPT_OUT = {False, "false", "no", "off", "0"}
_OPT_IN = {True, "true", "yes", "on", "1"}


def question_key(question: str) -> str:
    """The identity of a question in its note: its words, case and spacing aside."""
    normal = " ".join(question.split()).casefold()
    return hashlib.blake2b(normal.encode("utf-8"), digest_size=8).hexdigest()


def is_question(summary: str) -> bool:
    text = summary.strip()
    return text.endswith(("?", "？")) or bool(_QUESTION_START.match(text))


def extract_cards(text: str) -> CardScan:
    """The cards of a note's text (line ends already '\\n'); problems as warnings."""
    scan = CardScan()
    opt_in = False
    body_offset = 0
    front = _FRONT.match(text)
    if front:
        try:
            value = load_front_matter(front.group(1)).get("review")
        except FrontMatterError:
            value = None  # the note's own warning says so; cards are still read
        if isinstance(value, str):
            value = value.strip().lower()
        if value in _OPT_OUT:
            return scan
        opt_in = value in _OPT_IN
        body_offset = front.end()
    _details_cards(text, body_offset, opt_in, scan)
    _qa_cards(text, body_offset, scan)
    scan.cards.sort(key=lambda c: c.line)
    _unique_keys(scan.cards)
    return scan


def _details_cards(text: str, start: int, opt_in: bool, scan: CardScan) -> None:
    stack: list[_Open] = []  # the <details> blocks open at this point
    for m in DETAILS_TAGS.finditer(text, start):
        tag = m.group(0).lower()
        if tag.startswith("<details"):
            stack.append(_Open(m.end(), text.count("\n", 0, m.start()) + 1))
        elif tag.startswith("<summary"):
            if stack and stack[-1].summary is None:
                summary = ANY_TAG.sub("", m.group("summary") or "")
                stack[-1].summary = " ".join(summary.split())
                stack[-1].content_start = m.end()
        elif stack:
            block = stack.pop()
            if not block.summary or not (is_question(block.summary) or opt_in):
                continue
            answer = _WRAPPER.sub("", text[block.content_start : m.start()]).strip()
            _add(scan, block.summary, answer, block.line)


@dataclass
class _Open:
    content_start: int  # after the summary, once there is one
    line: int
    summary: str | None = None


def _qa_cards(text: str, start: int, scan: CardScan) -> None:
    first_line = text.count("\n", 0, start) + 1
    lines = text[start:].split("\n")
    in_fence = False
    question: tuple[str, int] | None = None
    answer: list[str] | None = None

    def close() -> None:
        nonlocal question, answer
        if question is not None:
            _add(scan, question[0], "\n".join(answer or []).strip(), question[1])
        question, answer = None, None

    for number, line in enumerate(lines, first_line):
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
            if answer is not None:
                answer.append(line)
            continue
        m = None if in_fence else _QA.match(line)
        if m and m.group("kind") in "Qq":
            close()
            question = (m.group("text").strip(), number)
        elif m and question is not None and answer is None:
            answer = [m.group("text")]
        elif question is not None and answer is not None and (line.strip() or in_fence):
            answer.append(line)
        elif question is not None:
            close()
    close()


def _add(scan: CardScan, question: str, answer: str, line: int) -> None:
    if not question:
        return
    if not answer:
        scan.warnings.append(f"line {line}: the question {question!r} has no answer; no card")
        return
    scan.cards.append(Card(question, answer, line, question_key(question)))


def _unique_keys(cards: list[Card]) -> None:
    """The same question twice in a note: the second is `key#2`, and so on."""
    seen: dict[str, int] = {}
    for card in cards:
        n = seen.get(card.key, 0) + 1
        seen[card.key] = n
        if n > 1:
            card.key = f"{card.key}#{n}"
