"""Korean-aware search: the index answers exactly what a plain scan of the texts answers."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studylog.notes.parse import parse_note
from studylog.store.index import _Writer
from studylog.store.search import fts_text, parse_query, scan_search, search

WORDS = [
    "역전파를",
    "역전파",
    "학습을",
    "학습",
    "경사하강법",
    "옵티마이저",
    "데이터",
    "데이터로더",
    "손실이",
    "줄어든다",
    "기울기",
    "전파",
    "역전",
    "optimizer",
    "Optimizers",
    "loss",
    "zero_grad",
    "DataLoader",
    "Tensor를",
    "backward()",
    "학",
    "습",
]


def _store_notes(db, bodies: list[str]) -> None:
    writer = _Writer(db)
    for i, body in enumerate(bodies):
        writer.put(parse_note(body, f"n{i:03d}.md"), None, None, None, None)
    writer.flush()


def _paths(rows) -> set[str]:
    return {row[0] for row in rows}


def test_bigrams_spell_hangul_runs():
    assert fts_text("역전파를 배운다").split() == ["역전", "전파", "파를", "배운", "운다"]
    assert fts_text("Tensor를").split() == ["Tensor", "를"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("역전파", {"n000.md", "n001.md"}),  # 역전파를 and 역전파
        ("학습", {"n001.md", "n002.md"}),  # two syllables: 학습을 and 학습
        ("전파", {"n000.md", "n001.md", "n003.md"}),  # inside 역전파 too
        ("optim", {"n002.md"}),  # English: word prefix
        ("OPTIMIZER", {"n002.md"}),  # case-insensitive
        ("학습 optimizer", {"n002.md"}),  # every term must occur
        ("를", {"n000.md"}),  # one syllable: the scan fallback
        ("zero_grad", {"n003.md"}),
        ("grad", {"n003.md"}),  # an identifier part: zero_grad (issue 11)
        ("rad", set()),  # not the start of a word or of a part
        ("없는단어", set()),
    ],
)
def test_korean_and_english_queries(memory_db, query, expected):
    _store_notes(
        memory_db,
        [
            "# 역전파를 배우다\n",
            "역전파 학습을 한다\n",
            "학습 optimizer 비교\n",
            "역전 전파 zero_grad\n",  # 역전 and 전파 apart: must not match 역전파
        ],
    )
    assert {h.path for h in search(memory_db, query)} == expected


def test_bigram_phrase_across_two_words_is_not_a_match(memory_db):
    _store_notes(memory_db, ["역전 전파\n"])
    assert search(memory_db, "역전파") == []


def test_results_are_ranked_title_first_with_highlighted_excerpt(memory_db):
    _store_notes(
        memory_db,
        ["# 기타\n\n본문에 역전파가 한 번.\n", "# 역전파 정리\n\n역전파는 연쇄 법칙이다.\n"],
    )
    hits = search(memory_db, "역전파")
    assert [h.path for h in hits] == ["n001.md", "n000.md"]
    hit = hits[1]
    assert [hit.excerpt[s:e] for s, e in hit.highlights] == ["역전파"]
    assert hits[0].score > hits[1].score


def test_excerpt_drops_markdown_marks(memory_db):
    _store_notes(
        memory_db, ["<details>\n<summary>x</summary>\n\n>>제목 : 학습 방법\n\n</details>\n"]
    )
    (hit,) = search(memory_db, "학습")
    assert "<" not in hit.excerpt and ">" not in hit.excerpt
    assert "학습 방법" in hit.excerpt


def test_search_covers_topic_and_tags(memory_db):
    _store_notes(memory_db, ["---\ntags: [regularization]\ncourse: 딥러닝 기초\n---\nbody\n"])
    assert [h.path for h in search(memory_db, "regular")] == ["n000.md"]
    assert [h.path for h in search(memory_db, "딥러닝")] == ["n000.md"]


def test_empty_or_punctuation_query_finds_nothing(memory_db):
    _store_notes(memory_db, ["anything\n"])
    assert search(memory_db, "") == []
    assert search(memory_db, "  ()  ") == []
    assert search(memory_db, '"') == []  # FTS5 syntax characters cannot break the query


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.integers(0, 10_000),
    query=st.lists(st.sampled_from(WORDS), min_size=1, max_size=2).map(" ".join),
)
def test_index_answers_the_same_notes_as_a_plain_scan(memory_db, seed, query):
    memory_db.execute("DELETE FROM notes")
    memory_db.execute("INSERT INTO notes_fts (notes_fts) VALUES ('delete-all')")
    rng = random.Random(seed)
    bodies = [" ".join(rng.choices(WORDS, k=rng.randint(1, 12))) + "\n" for _ in range(25)]
    _store_notes(memory_db, bodies)
    expected = _paths(scan_search(memory_db, parse_query(query), limit=1000))
    got = {h.path for h in search(memory_db, query, limit=1000)}
    assert got == expected
