"""Full-text search that works for Korean.

FTS5's unicode61 tokenizer keeps particles on Korean words (학습을 is one token), so 학습
would miss most notes. Before text reaches FTS5, each run of Hangul syllables becomes its
syllable bigrams (역전파를 → 역전 전파 파를): any Korean substring of two or more syllables
is then a phrase of bigrams, and a two-syllable word a single token. Other scripts keep
unicode61 words and match as word prefixes. A query with a one-syllable Korean term, which
bigrams cannot serve, falls back to a plain scan with the same meaning.

Identifiers are found by their parts: after the text, each identifier with camelCase,
snake_case or acronym boundaries (`DataLoader`, `zero_grad`, `HTTPServer`) is spelled
again as its parts (`Data Loader`, `zero grad`, `HTTP Server`), each identifier's parts
set apart by a private-use token no query can contain, so a phrase never spans two
identifiers. Dots already split words. Heading lines are spelled again (HEADING_REPEATS),
so BM25 weighs a heading above a passing mention in the body; the title and meta columns
weigh more again (see _RANK).

Meaning of a query: every whitespace-separated term must occur in the note (title, body,
topic, tags or lecture titles); a term with Hangul as a substring, any other term as the
start of a word or of an identifier part (`loader` finds `DataLoader`, `adam` does not
find `Hadamard`), case-insensitively.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from operator import add
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite_utils

HANGUL_RUN = re.compile(r"[\uac00-\ud7a3]+")
_WORD = re.compile(r"\w+")
_SPACE = re.compile(r"\s+")
EXCERPT_BEFORE = 40
EXCERPT_AFTER = 120
# Weights of the FTS columns: title, body, meta. FTS5's own bm25() weights a column's term
# frequency before saturating it, so a long note's many passing mentions outweigh a title;
# the rank instead adds up each column's BM25 score (saturated, length-normalised) times its
# weight: a note titled by the word beats one that only mentions it.
_WEIGHTS = (8.0, 1.0, 4.0)
_RANK = (
    f"{_WEIGHTS[0]} * bm25(notes_fts, 1, 0, 0) + {_WEIGHTS[1]} * bm25(notes_fts, 0, 1, 0)"
    f" + {_WEIGHTS[2]} * bm25(notes_fts, 0, 0, 1)"
)


_HANGUL_SPLIT = re.compile(r"([\uac00-\ud7a3]+)")
# Words repeat a great deal across notes: spell each Hangul run's bigrams once.
_BIGRAMS: dict[str, str] = {}
_BIGRAMS_MAX = 200_000


def _bigrams(run: str) -> str:
    spelled = _BIGRAMS.get(run)
    if spelled is None:
        spelled = run if len(run) == 1 else " ".join(map(add, run, run[1:]))
        if len(_BIGRAMS) < _BIGRAMS_MAX:
            _BIGRAMS[run] = spelled
    return spelled


# An identifier part starts after `_` or at a case change: aB, 2B, or the B of ABc.
_CAMEL = r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])"
_CAMEL_SPLIT = re.compile(_CAMEL)
_IDENTIFIER = re.compile(r"\w*(?:_|[a-z0-9][A-Z]|[A-Z][A-Z][a-z])\w*")
_PART_START = r"(?:(?<!\w)|(?<=_)(?=[^\W_])|(?-i:" + _CAMEL + "))"
_PART_GAP = r"(?:[\W_]+|(?-i:" + _CAMEL + "))"
# Sets one identifier's parts apart from the next one's: a token character (private use)
# that no query term can hold, so a phrase cannot run from one identifier into the next.
_APART = "\ue000"
# How many more times a heading line is indexed: a heading names what its section is about.
HEADING_REPEATS = 3
_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+(.+)$", re.MULTILINE)


def identifier_parts(word: str) -> list[str]:
    """The parts of an identifier (`DataLoader` → Data, Loader); [] for a plain word."""
    parts = [p for piece in word.split("_") for p in _CAMEL_SPLIT.split(piece) if p]
    return parts if parts != [word] else []


def _extra(text: str) -> str:
    """What the index adds after `text`: heading lines again, then identifier parts."""
    headings = [m.group(1) for m in _HEADING.finditer(text)] if "#" in text else []
    extra = headings * HEADING_REPEATS
    for match in _IDENTIFIER.finditer(text):
        parts = identifier_parts(match.group())
        if parts:
            extra.append(" ".join(parts))
    return f" {_APART}\n".join(extra)


def fts_text(text: str) -> str:
    """`text` as the FTS index sees it: Hangul runs spelled as syllable bigrams, heading
    lines and identifier parts spelled again after it."""
    extra = _extra(text)
    return _spelled(f"{text}\n{_APART}\n{extra}" if extra else text)


def _spelled(text: str) -> str:
    """`text` with its Hangul runs spelled as syllable bigrams."""
    parts = _HANGUL_SPLIT.split(text)  # odd places hold the Hangul runs
    if len(parts) == 1:
        return text
    parts[1::2] = map(_bigrams, parts[1::2])
    return " ".join(parts)


@dataclass(frozen=True)
class Term:
    text: str  # as typed, lower-cased

    @property
    def korean(self) -> bool:
        return HANGUL_RUN.search(self.text) is not None

    @property
    def fts_servable(self) -> bool:
        """False for a one-syllable Hangul run, which bigrams cannot find inside words."""
        return all(len(run) > 1 for run in HANGUL_RUN.findall(self.text)) and bool(
            _WORD.search(self.text)
        )

    def fts_phrase(self) -> str:
        if self.korean:
            return _phrase(_WORD.findall(_spelled(self.text)))
        return "(" + " OR ".join(_phrase(words) + " *" for words in self.spellings()) + ")"

    def spellings(self) -> list[list[str]]:
        """The words of a non-Korean term as typed, and also as identifier parts when it
        has some (`state_dict` → state, dict: found inside `load_state_dict`)."""
        words = _WORD.findall(self.text)
        parts = [p for w in words for p in (identifier_parts(w) or [w])]
        return [words] if parts == words else [words, parts]

    def needle(self) -> re.Pattern[str]:
        """Text every match of `pattern` holds, as a plain case-insensitive search: a fast
        first test (a pattern that opens with a lookbehind is tried at every position)."""
        if self.korean:
            return self.pattern()
        return re.compile(re.escape(self.spellings()[-1][0]), re.IGNORECASE)

    def pattern(self) -> re.Pattern[str]:
        """The same meaning as a regular expression, for scans and excerpt highlights."""
        if self.korean:
            return re.compile(re.escape(self.text), re.IGNORECASE)
        spelled = "|".join(_PART_GAP.join(map(re.escape, w)) for w in self.spellings())
        return re.compile(f"{_PART_START}(?:{spelled})", re.IGNORECASE)


def _phrase(tokens: list[str]) -> str:
    return '"' + " ".join(t.replace('"', '""') for t in tokens) + '"'


def parse_query(query: str) -> list[Term]:
    terms = []
    for raw in query.lower().split():
        term = Term(raw)
        if term.korean or _WORD.search(raw):
            terms.append(term)
    return terms


@dataclass
class Hit:
    path: str
    title: str
    score: float
    excerpt: str
    highlights: list[tuple[int, int]] = field(default_factory=list)  # spans in excerpt

    def to_json(self) -> dict[str, object]:
        return {
            "path": self.path,
            "title": self.title,
            "score": float(f"{self.score:.6g}"),
            "excerpt": self.excerpt,
            "highlights": [list(span) for span in self.highlights],
        }


def search(db: sqlite_utils.Database, query: str, limit: int = 20) -> list[Hit]:
    """The notes matching `query`, best first, each with a highlighted excerpt."""
    terms = parse_query(query)
    if not terms:
        return []
    if all(t.fts_servable for t in terms):
        rows = _fts(db, terms, limit)
    else:
        rows = scan_search(db, terms, limit)
    patterns = [t.pattern() for t in terms]
    return [Hit(path, title, score, *excerpt(body, patterns)) for path, title, body, score in rows]


def _fts(
    db: sqlite_utils.Database, terms: list[Term], limit: int
) -> list[tuple[str, str, str, float]]:
    match = " AND ".join(t.fts_phrase() for t in terms)
    korean = [t.text for t in terms if t.korean] if _needs_check(terms) else []
    # A phrase of bigrams can join two separate words (역전 전파 for 역전파): such notes are
    # dropped below, so a few more are ranked than asked for, and more again when too
    # many were dropped (ranking every match, then sorting them all, costs more).
    wanted = limit * 2 if korean else limit
    while True:
        ranked = db.execute(
            f"SELECT rowid, {_RANK} AS rank FROM notes_fts "
            "WHERE notes_fts MATCH ? ORDER BY rank LIMIT ?",
            [match, wanted],
        ).fetchall()
        rows = _confirmed(db, ranked, korean, limit)
        if len(rows) == limit or len(ranked) < wanted:
            return rows
        wanted *= 4


def _confirmed(
    db: sqlite_utils.Database, ranked: list[tuple[int, float]], korean: list[str], limit: int
) -> list[tuple[str, str, str, float]]:
    """The notes of `ranked` (in its order) holding each of `korean` as a real substring,
    at most `limit`. In Python, not trigram LIKE, which is wrong on SQLite 3.40."""
    rows: list[tuple[str, str, str, float]] = []
    step = min(max(limit, 64), 500)  # notes read per query (SQLite caps its parameters)
    for begin in range(0, len(ranked), step):
        batch = ranked[begin : begin + step]
        ids = [note_id for note_id, _ in batch]
        notes = {
            row[0]: row[1:]
            for row in db.execute(
                "SELECT id, path, title, body, meta FROM notes WHERE id IN "
                f"({','.join('?' * len(ids))})",
                ids,
            )
        }
        for note_id, rank in batch:
            path, title, body, meta = notes[note_id]
            if korean:
                haystack = f"{title}\n{body}\n{meta}".lower()
                if not all(text in haystack for text in korean):
                    continue
            rows.append((path, title, body, -rank))
            if len(rows) == limit:
                return rows
    return rows


def _needs_check(terms: list[Term]) -> bool:
    """True when some term is a phrase of several tokens with Hangul in it."""
    return any(t.korean and len(_WORD.findall(_spelled(t.text))) > 1 for t in terms)


def scan_search(
    db: sqlite_utils.Database, terms: list[Term], limit: int = 20
) -> list[tuple[str, str, str, float]]:
    """A plain scan of every note's text with the same meaning as the FTS path: the
    fallback for one-syllable Korean terms, and the baseline that tests and benchmarks
    check the index against. Scored by occurrences, title counted more."""
    patterns = [(t.pattern(), t.needle()) for t in terms]
    scored = []
    for path, title, body, meta in db.execute("SELECT path, title, body, meta FROM notes"):
        score = 0.0
        for pattern, needle in patterns:
            if not (needle.search(body) or needle.search(title) or needle.search(meta)):
                break
            in_title = len(pattern.findall(title))
            in_body = len(pattern.findall(body)) + len(pattern.findall(meta))
            if not (in_title or in_body):
                break
            score += _WEIGHTS[0] * in_title + in_body
        else:
            scored.append((path, title, body, score))
    scored.sort(key=lambda row: (-row[3], row[0]))
    return scored[:limit]


_MARKUP = re.compile(
    r"<[^>\n]+>"  # html tags (<details>, <div markdown="1">)
    r"|^[ \t]*(?:>[ \t]*)+"  # blockquote marks
    r"|^[ \t]*#{1,6}[ \t]+"  # heading marks
    r"|^[ \t]*(?:[-*+]|\d+\.)[ \t]+(?:\[[ xX]\][ \t]+)?"  # list and to-do marks
    r"|^[ \t]*(?:```|~~~).*$",  # code fence lines
    re.MULTILINE,
)


# Inline marks, their text kept: images and links (their text, not the target), code spans,
# bold, italics and strike-through (not the `_` inside snake_case or the `**` of x**2). The
# lookahead lets the other characters fail at once (this pass is most of an excerpt's cost).
_INLINE = re.compile(
    r"(?=[!\[`*_~])(?:"
    r"!?\[(?P<link>[^\]\n]*)\](?:\([^)\n]*\)|\[[^\]\n]*\])"
    r"|(?P<tick>`+)(?P<code>[^`\n]+?)(?P=tick)"
    r"|(?<![\w*~])(?P<mark>\*\*|__|~~|\*|_)(?=[^\s*_~])(?P<marked>[^\n]*?[^\s*_~\\])(?P=mark)(?![\w*~])"
    r")"
)
# Tables: their rule rows, and the pipes at either end of a row.
_TABLE = re.compile(
    r"^[ \t]*\|?(?:[ \t]*:?-+:?[ \t]*\|)+[ \t]*(?::?-+:?[ \t]*)?$"
    r"|^[ \t]*\|[ \t]*|[ \t]*\|[ \t]*$",
    re.MULTILINE,
)


def _inline_text(match: re.Match[str]) -> str:
    return match.group("link") or match.group("code") or match.group("marked") or ""


def plain_text(markdown: str) -> str:
    """Markdown with its marks removed, for excerpts a person reads: `**bold**` reads bold,
    `[text](url)` reads text, `# Title` reads Title."""
    text = _INLINE.sub(_inline_text, _MARKUP.sub("", markdown))
    return _TABLE.sub("", text) if "|" in text else text


# How much of a body is made plain before looking for the first match (then 4 times more):
# a first match is usually early, and removing the marks is most of an excerpt's cost.
_EXCERPT_CHUNK = 1024


def _first_match(body: str, patterns: list[re.Pattern[str]]) -> tuple[str, int | None]:
    """The plain text of `body` (or of enough of its first lines to hold the first match
    and the excerpt after it) and where that match starts (None: no match). The marks are
    all within a line, so the plain text of some first lines is the start of the whole's."""
    size = _EXCERPT_CHUNK
    while True:
        cut = len(body) if size >= len(body) else body.find("\n", size)
        if cut == -1:
            cut = len(body)
        plain = plain_text(body[:cut])
        first = min((m.start() for p in patterns if (m := p.search(plain))), default=None)
        if cut == len(body) or (first is not None and first + EXCERPT_AFTER < len(plain)):
            return plain, first
        size *= 4


def excerpt(body: str, patterns: list[re.Pattern[str]]) -> tuple[str, list[tuple[int, int]]]:
    """A one-line window of `body` around the first match, and the spans to highlight."""
    # All of the body's plain text when nothing matches, else enough to end past the window.
    body, first = _first_match(body, patterns)
    if first is None:
        return _SPACE.sub(" ", body[: EXCERPT_BEFORE + EXCERPT_AFTER]).strip(), []
    start = max(0, first - EXCERPT_BEFORE)
    end = min(len(body), first + EXCERPT_AFTER)
    # Start and end on whitespace where that is near, so words are not cut in half.
    if start > 0 and (space := body.find(" ", start, first)) != -1:
        start = space + 1
    if end < len(body) and (space := body.rfind(" ", first, end)) > first:
        end = space
    text = _SPACE.sub(" ", body[start:end]).strip()
    if start > 0:
        text = "…" + text
    if end < len(body):
        text += "…"
    spans = sorted({m.span() for p in patterns for m in p.finditer(text) if m.end() > m.start()})
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return text, merged
