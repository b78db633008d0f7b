"""Grouping notes for browsing (shared by the CLI's trees and the TUI's sidebar)."""

from __future__ import annotations

from studylog.grouping import UNDATED, by_date, by_topic
from studylog.notes.model import Lecture
from studylog.store.queries import NoteSummary


def note(path, date=None, topic=None, lectures=()):
    return NoteSummary(0, path, path, date, topic, lectures=list(lectures))


def test_a_lecture_is_one_group_per_number_titled_by_any_note():
    root = by_topic(
        [
            note("a.md", topic="Pytorch", lectures=[Lecture("4")]),
            note(
                "b.md", topic="PyTorch", lectures=[Lecture("4", "AutoGrad"), Lecture("5", "Data")]
            ),
            note("c.md", topic="pytorch"),
            note("d.md"),
        ]
    )
    (torch, other) = root.groups
    assert (torch.label, torch.count()) == ("Pytorch", 3)  # b counted once
    assert [g.label for g in torch.groups] == ["Lecture 4 · AutoGrad", "Lecture 5 · Data"]
    assert [n.path for n in torch.groups[0].notes] == ["a.md", "b.md"]
    assert [n.path for n in torch.notes] == ["c.md"]  # no lecture: under the topic itself
    assert other.label == "No topic"


def test_dates_in_order_and_undated_last():
    root = by_date([note("b.md", "2022-02-01"), note("u.md"), note("a.md", "2022-01-25")])
    assert [g.label for g in root.groups] == ["2022", UNDATED]
    assert [g.label for g in root.groups[0].groups] == ["01 January", "02 February"]
    assert root.groups[0].groups[0].groups[0].label == "2022-01-25"
