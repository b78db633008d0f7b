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

from markdown_it import MarkdownIt
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.markdown import CodeBlock, Markdown
from rich.segment import Segment
from rich.syntax import Syntax


class _CodeBlock(CodeBlock):
    """A fenced or indented code block, highlighted with the markdown's code theme and
    padded by one cell all round, as Rich's `CodeBlock` draws it."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        code = str(self.text).rstrip()
        syntax = Syntax(code, self.lexer_name, theme=self.theme, word_wrap=True, padding=1)
        width = options.max_width
        code_width = width - 2
        base = Syntax.get_theme(self.theme).get_background_style()
        # What Syntax does to the code before it highlights it (no dedent: Rich's default).
        code = (code + "\n").expandtabs(syntax.tab_size)
        if (
            code_width < 1
            or base.transparent_background  # (a theme without a background: not padded)
            or any(cell_len(line) > code_width for line in code[:-1].split("\n"))
        ):
            yield syntax  # a line wraps: Syntax's own way
            return
        text = syntax.highlight(code)
        left = Segment(" ", base)
        blank = Segment(" " * width + "\n", base)
        new_line = Segment.line()
        add = base.__add__
        yield blank
        for line in Segment.split_lines(text.render(console, end="")):
            yield left
            length = 0
            for segment in line:
                yield Segment(segment.text, add(segment.style))
                length += cell_len(segment.text)
            if length < code_width:
                yield Segment(" " * (code_width - length), base)
            yield left
            yield new_line
        yield blank


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
