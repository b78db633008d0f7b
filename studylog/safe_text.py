"""Text from notes and runs, made safe to show on a terminal: every control character that a
terminal would act on (C0 but tab and newline, DEL, C1) is replaced by a visible stand-in, so
an escape sequence in a title or in a run's output is shown (`␛]52;…`), never obeyed.

One place for the whole program: the CLI and the TUI pass every piece of note or run text
through `visible()` (or `visible_output()` for a run's output) before it reaches Rich or
Textual. JSON output and exports keep the exact data."""

from __future__ import annotations

import re


def _table() -> dict[int, str]:
    table = {code: chr(0x2400 + code) for code in range(0x20)}  # ␀ … ␛ … ␟
    del table[ord("\t")], table[ord("\n")]
    table[0x7F] = "␡"
    # C1 (U+0080–U+009F) has no pictures; `\x9b` says what it is and does nothing.
    table.update({code: f"\\x{code:02x}" for code in range(0x80, 0xA0)})
    return table


_VISIBLE = _table()
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Select Graphic Rendition (colours, bold): the one kind of sequence a run's output may keep,
# because Rich reads it into its own styles and writes only those.
_SGR = re.compile(r"\x1b\[[0-9;:]*m")
_NEWLINES = re.compile(r"\r\n?")


def visible(text: str) -> str:
    """`text` with each control character but tab and newline shown as a visible stand-in:
    ESC as ␛, NUL as ␀, CR as ␍, DEL as ␡, C1 characters as `\\x9b`."""
    if _CONTROL.search(text) is None:  # the common case: nothing to do, no copy
        return text
    return text.translate(_VISIBLE)


def visible_output(text: str, *, colours: bool = True) -> str:
    """A run's output made safe to show: line ends as a terminal would show them (`\\r\\n`
    and a lone `\\r`, as a progress bar writes, become new lines), colour sequences (SGR)
    kept when `colours` (for Rich's `Text.from_ansi`) else dropped, and every other control
    character visible."""
    text = _NEWLINES.sub("\n", text)
    if "\x1b" not in text:
        return visible(text)
    parts = []
    last = 0
    for match in _SGR.finditer(text):
        parts.append(visible(text[last : match.start()]))
        if colours:
            parts.append(match.group())
        last = match.end()
    parts.append(visible(text[last:]))
    return "".join(parts)


def visible_lines(text: str) -> str:
    """Note text (markdown) made safe to show: `\\r\\n` and a lone `\\r` are line ends, as
    markdown reads them; every other control character but tab is visible."""
    return visible(_NEWLINES.sub("\n", text))


def visible_spans(text: str, spans: list[tuple[int, int]]) -> tuple[str, list[tuple[int, int]]]:
    """`visible(text)` and the (start, end) spans moved to where their characters are in it
    (a C1 character becomes four: search highlights must still cover the words they mark)."""
    shown = visible(text)
    if shown is text:
        return text, spans
    where = [0]
    for char in text:
        where.append(where[-1] + len(_VISIBLE.get(ord(char), char)))
    return shown, [
        (where[start], where[end]) for start, end in spans if 0 <= start <= end <= len(text)
    ]
