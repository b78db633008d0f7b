"""The open note's outline (headings and <details> sections); Enter jumps there."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from studylog.notes.model import Section
from studylog.safe_text import visible
from studylog.store.queries import NoteDetail


class OutlineScreen(ModalScreen[Section | None]):
    BINDINGS = [Binding("escape,g", "dismiss_none", "Close")]

    def __init__(self, detail: NoteDetail) -> None:
        super().__init__()
        self.detail = detail

    def compose(self) -> ComposeResult:
        title = Text(f"Outline · {visible(self.detail.summary.title)}")
        tree: Tree[Section] = Tree(title, id="outline")
        tree.show_root = False
        self._add(tree.root, self.detail.sections)
        tree.root.expand_all()
        yield tree

    def on_mount(self) -> None:
        tree = self.query_one(Tree)
        tree.focus()
        tree.cursor_line = 0

    def _add(self, node: TreeNode[Section], sections: list[Section]) -> None:
        for section in sections:
            if section.kind == "details":
                label = Text.assemble(
                    ("▸ " if not section.open else "▾ ", "cyan"), visible(section.title)
                )
            else:
                label = Text.assemble(("#" * section.level + " ", "dim"), visible(section.title))
            child = node.add(label, data=section, expand=True)
            self._add(child, section.children)
            if not section.children:
                child.allow_expand = False

    def on_tree_node_selected(self, event: Tree.NodeSelected[Section]) -> None:
        self.dismiss(event.node.data)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
