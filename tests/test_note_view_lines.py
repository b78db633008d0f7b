"""Issue 10, third round: the note view's speed work (kept behaviour), the tree's group
labels cut before their count, and the run area's rows at small sizes. Real workspaces, a
real store, the real app under Pilot; every wait is on the app's state."""

from __future__ import annotations

from pathlib import Path

from studylog.tui.app import StudylogApp
from studylog.tui.screens.main import MainScreen
from studylog.tui.widgets.note_tree import NoteTree
from tests.tui_helpers import make_workspace, settings, until

LONG_TOPIC = "Optimisers and Schedulers in PyTorch, Part Two: a Long Group Name"


def _long_topic_note(number: int) -> str:
    return (
        f"---\ntitle: Lecture {number}\ndate: 2022-03-0{number}\n"
        f"topic: {LONG_TOPIC}\n---\n# Lecture {number}\n\nText.\n"
    )


async def test_a_long_group_label_is_cut_before_its_count(tmp_path: Path) -> None:
    extra: dict[str, str | bytes] = {
        f"{LONG_TOPIC}/l{n}.md": _long_topic_note(n) for n in (1, 2, 3)
    }
    ws = make_workspace(tmp_path / "ws", extra)
    async with StudylogApp(ws, settings()).run_test(size=(150, 45)) as pilot:
        screen = pilot.app.screen
        assert isinstance(screen, MainScreen)
        await until(pilot, lambda: screen.notes, "the notes to load")
        tree = screen.query_one(NoteTree)
        node = next((n for n in tree.root.children if LONG_TOPIC[:20] in str(n.label)), None)
        assert node is not None, [str(n.label) for n in tree.root.children]
        label = tree.render_label(node, tree.rich_style, tree.rich_style).plain
        room = tree.scrollable_content_region.width - 1
        assert label.endswith("  3"), label  # the count stays whole
        assert "…" in label  # the name is what is cut
        assert len(label) <= room, (label, room)
        assert label.startswith(("▼ ", "▶ "))  # the expand arrow stays
