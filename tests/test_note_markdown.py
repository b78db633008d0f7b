"""The note view's markdown (tui/widgets/note_markdown.py) is drawn as Rich's own Markdown
draws it, segment for segment, at every width: its code blocks in one pass when every line
fits, by Rich's Syntax when one does not, every piece parsed by one shared parser. The
comparison is with Rich's Markdown (no hyperlinks, as the note view asks) on the same
text."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console, ConsoleOptions
from rich.markdown import Markdown
from rich.segment import Segment
from rich.syntax import Syntax
from textual.strip import Strip

from studylog.tui.widgets.note_document import _RENDERED, render_markdown
from studylog.tui.widgets.note_markdown import NoteMarkdown

NOTES = [
    "```python\nimport torch\n\nx = torch.ones(2, requires_grad=True)\nprint(x.grad)\n```\n",
    "```python\nx = 1\n\n\n```\n",
    "```\n```\n",
    "```py\n\tif x:\n\t\ty = '가나다'  # 한글 주석\n```\n",
    "    indented\n    code  \n\ntext after\n",
    "```bash\n$ ls -la  # a comment\n```\n",
    "```python\n" + "a = 1  # 가나다라 " * 8 + "\n```\n",
    "```nosuchlanguage\nfoo bar\n```\n",
    "- item\n\n  ```python\n  nested = True\n  ```\n",
    "> quote\n>\n> ```python\n> q = 1\n> ```\n",
    "```text\n\n\nleading blank lines\n```\n",
    "```\ntrailing spaces    \n```\n",
    # Where a line's width is not the sum of its tokens' (a ZWJ family, VS16), or its
    # characters outnumber its cells (combining accents, Hangul as macOS writes it: NFD).
    "```python\n👨\u200d👩\u200d👧 = 1\nx\u200d👩 = 1\n❤\ufe0f = 2\n```\n",
    "```\ne\u0301e\u0301e\u0301e\u0301e\u0301   \nx\n```\n",
    "```\n\u1112\u1161\u11ab\u1100\u1173\u11af  # NFD 한글   \n```\n",
    "# Title\n\nProse before.\n\n```python\nloss.backward()\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n",
    # Everything else a note holds: the shared parser and Rich's attributes at work.
    "# 역전파\n\n## Part *one*\n\nSee [the docs](https://pytorch.org) and ![img](a.png), "
    "`x.grad`, **bold**, ~~gone~~, <kbd>Ctrl</kbd>.\n\n> a quote\n> - with a list\n\n"
    "1. first\n2. second\n   - nested ☐\n\n---\n\n| 옵티마이저 | 학습률 |\n| :-- | --: |\n"
    "| Adam | 0.001 |\n\n<div>raw html</div>\n\nline  \nbreak\n",
]
WIDTHS = [3, 5, 10, 24, 40, 80, 106, 150]


def _rich(text: str) -> Markdown:
    return Markdown(text, hyperlinks=False)


def _lines(markdown: Markdown, width: int) -> list[list[Segment]]:
    console = Console(file=io.StringIO(), width=width, color_system="truecolor")
    options = console.options.update(width=width)
    return [
        list(Segment.simplify(line)) for line in console.render_lines(markdown, options, pad=False)
    ]


def test_code_blocks_are_drawn_as_rich_draws_them_at_every_width() -> None:
    for text in NOTES:
        for width in WIDTHS:
            assert _lines(NoteMarkdown(text), width) == _lines(_rich(text), width), (
                text,
                width,
            )


_CODE_CHARS = st.sampled_from(
    [
        *"abc xyz_()=:#'\"\t\\가나다 0123456789+-*/.,[]{}`<>|",
        *"\u200d\ufe0f\u0301\u1161\x7f\r\x0b\u3000\u00a0\ufeff",
        "👩",
        "👍",
        "\U0001f3fd",  # a skin tone: joined to the emoji before it
    ]
)
# Where a note puts code: on its own, in a list item, in a quote.
_PLACES = st.sampled_from(
    [
        lambda block: block,
        lambda block: "- item\n\n" + "\n".join("  " + line for line in block.split("\n")),
        lambda block: "\n".join("> " + line for line in block.split("\n")),
    ]
)


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(st.text(_CODE_CHARS, max_size=40), min_size=0, max_size=5),
    lexer=st.sampled_from(["python", "text", "bash", "yaml", ""]),
    place=_PLACES,
    width=st.integers(min_value=1, max_value=90),
)
def test_any_code_is_drawn_as_rich_draws_it(
    lines: list[str], lexer: str, place: Callable[[str], str], width: int
) -> None:
    text = place(f"```{lexer}\n" + "\n".join(lines) + "\n```\n")
    assert _lines(NoteMarkdown(text), width) == _lines(_rich(text), width)


def test_a_block_whose_lines_fit_is_drawn_without_syntax_passes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The fast path is taken when every line fits (and only then): Syntax's own drawing
    is left to the block with a line too long for the width."""
    drawn: list[str] = []
    original = Syntax._get_syntax

    def counted(self: Syntax, console: Console, options: ConsoleOptions) -> Iterable[Segment]:
        drawn.append(self.code)
        return original(self, console, options)

    monkeypatch.setattr(Syntax, "_get_syntax", counted)
    _lines(NoteMarkdown("```python\nshort = 1\n```\n\n```python\n" + "y" * 90 + "\n```\n"), 60)
    assert drawn == ["y" * 90]


def test_a_piece_keeps_its_code_blocks_padding_at_its_edges() -> None:
    """A piece starts at its first line that shows something and ends with one gap: a code
    block's padding rows show (their background), so a section whose contents begin or end
    with a pasted log keeps them, and the next title does not touch the block."""
    console = Console(file=io.StringIO(), width=60, color_system="truecolor")
    _RENDERED.clear()
    lines = render_markdown(console, "\n\n```\nepoch 1  loss 0.69\n```\n", 40)

    def background(line: Strip) -> bool:
        return any(s.style is not None and s.style.bgcolor is not None for s in line)

    assert [line.text.strip() for line in lines] == ["", "epoch 1  loss 0.69", "", ""]
    assert [background(line) for line in lines] == [True, True, True, False]
    _RENDERED.clear()
    prose = render_markdown(console, "\n\nSome text.\n\n", 40)
    assert [line.text.strip() for line in prose] == ["Some text.", ""]
