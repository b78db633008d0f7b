"""Rich's Markdown for the note view: one parser for every piece, and code blocks drawn
line by line.

Rich's Markdown makes a markdown-it parser for each text it is given (0.2 ms: a 100 KB
note is 40 pieces); the note view's pieces share one.

Rich's own code block hands the highlighted code to `Syntax`, which wraps it line by line
and then pads it again in a `Padding`: three passes over every segment, a third of a
note's render (a 10-line block: 2.9 ms, of which the highlighter is 1 ms). When every
line fits (as in nearly every study note) the same lines are made here in one pass; when
one does not, `Syntax` draws the block as before. The output is Rich's own, segment for
segment: tests/test_note_markdown.py renders both and compares."""

from __future__ import annotations

import re
from functools import lru_cache

from markdown_it import MarkdownIt
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.markdown import CodeBlock, Markdown
from rich.segment import Segment
from rich.style import Style
from rich.syntax import Syntax


class _CodeBlock(CodeBlock):
    """A fenced or indented code block, highlighted with the markdown's code theme and
    padded by one cell all round, as Rich's `CodeBlock` draws it."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        code = str(self.text).rstrip()
        syntax = Syntax(code, self.lexer_name, theme=self.theme, word_wrap=True, padding=1)
        drawn = self._drawn(console, syntax, code, options.max_width)
        if drawn is None:
            yield syntax  # Syntax's own way
        else:
            yield from drawn

    def _drawn(
        self, console: Console, syntax: Syntax, code: str, width: int
    ) -> list[Segment] | None:
        """The block's segments, or None where Rich's own passes would draw it otherwise:
        a line wider than the room inside the padding (Rich wraps it), or longer in
        characters than in cells (combining marks, Hangul as macOS writes it: Rich trims
        its trailing spaces by characters), or with an emoji or a joiner (Rich measures
        each piece of a line, the padding joined to the last, and a ZWJ there swallows a
        space: what it crops or pads follows no rule worth copying)."""
        room = width - 2
        background = _background(self.theme)
        # What Syntax does to the code before it highlights it (no dedent: Rich's default).
        code = (code + "\n").expandtabs(syntax.tab_size)
        lines = code[:-1].split("\n")
        if (
            room < 1
            or background.transparent_background  # (a theme without one: not padded)
            or any(max(len(line), cell_len(line)) > room for line in lines)
            or _JOINED.search(code)
        ):
            return None
        rendered = list(Segment.split_lines(syntax.highlight(code).render(console, end="")))
        if len(rendered) != len(lines):
            return None
        side = Segment(" ", background)
        blank = Segment(" " * width + "\n", background)
        add = background.__add__
        drawn = [blank]
        for line, segments in zip(lines, rendered, strict=True):
            length = cell_len(line)
            drawn.append(side)
            drawn.extend(Segment(segment.text, add(segment.style)) for segment in segments)
            if length < room:
                drawn.append(Segment(" " * (room - length), background))
            drawn += [side, Segment.line()]
        drawn.append(blank)
        return drawn


# Emoji (outside the BMP), ZWJ, keycap, variation selectors: widths that depend on what
# is next to them.
_JOINED = re.compile("[\u200d\u20e3\ufe0e\ufe0f\U00010000-\U0010ffff]")


@lru_cache(maxsize=8)
def _background(theme: str) -> Style:
    """The code theme's background, as Syntax pads with it."""
    return Syntax.get_theme(theme).get_background_style()


# The parser Rich's Markdown makes for itself, made once (parsing keeps no state in it).
_PARSER = MarkdownIt().enable("strikethrough").enable("table")


class NoteMarkdown(Markdown):
    """Rich's Markdown with its defaults (no hyperlinks: the terminal is not asked to open
    a note's links), sharing one parser, its code blocks drawn by `_CodeBlock`."""

    elements = {**Markdown.elements, "fence": _CodeBlock, "code_block": _CodeBlock}

    def __init__(self, markup: str) -> None:
        # Rich's __init__ (rich 15) less its parser: the attributes it sets, as it sets them
        # with no arguments but `hyperlinks`. tests/test_note_markdown.py holds the output
        # to Rich's own, so a Rich that sets more fails there, not in front of a user.
        self.markup = markup
        self.parsed = _PARSER.parse(markup)
        self.code_theme = "monokai"
        self.justify = None
        self.style = "none"
        self.hyperlinks = False
        self.inline_code_lexer = None
        self.inline_code_theme = self.code_theme
