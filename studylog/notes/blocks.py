"""A note's body as blocks for display: runs of markdown, and `<details>` sections (nested as
written, open or closed as the note says) holding blocks of their own. Pure: text in."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from studylog.notes.markup import ANY_TAG, DETAILS_TAGS, markdown_parser
from studylog.notes.model import MAX_DETAILS_DEPTH

# Wrappers that kramdown needs inside <details> and a display does not.
_WRAPPERS = re.compile(r"</?div\b[^>]*>", re.IGNORECASE)


@dataclass
class MarkdownBlock:
    text: str


@dataclass
class DetailsBlock:
    summary: str
    open: bool
    children: list[Block] = field(default_factory=list)


Block = MarkdownBlock | DetailsBlock


def split_blocks(body: str) -> list[Block]:
    """The body's markdown and its `<details>` sections. HTML blocks other than the details
    tags (and the `<div markdown="1">` wrappers) are kept as they are, in the markdown.
    Sections nested deeper than MAX_DETAILS_DEPTH are flattened into the deepest one kept
    (the parser warns about the note)."""
    lines = body.split("\n")
    html_blocks = {
        token.map[0]: token.map[1]
        for token in markdown_parser(blocks_only=True).parse(body)
        if token.type == "html_block" and token.map and DETAILS_TAGS.search(token.content)
    }
    root: list[Block] = []
    stack: list[list[Block]] = [root]
    pending: list[str] = []
    too_deep = 0  # <details> opened past MAX_DETAILS_DEPTH and not closed yet

    def flush() -> None:
        text = "\n".join(pending).strip("\n")
        if text.strip():
            stack[-1].append(MarkdownBlock(text))
        pending.clear()

    index = 0
    while index < len(lines):
        end = html_blocks.get(index)
        if end is None:
            pending.append(lines[index])
            index += 1
            continue
        chunk = "\n".join(lines[index:end])
        position = 0
        for match in DETAILS_TAGS.finditer(chunk):
            residue = _residue(chunk[position : match.start()])
            if residue or not too_deep:  # flattened sections' lines run on, in one paragraph
                pending.append(residue)
            position = match.end()
            tag = match.group(0).lower()
            if tag.startswith("<details"):
                if len(stack) > MAX_DETAILS_DEPTH:
                    too_deep += 1
                    continue
                flush()
                details = DetailsBlock(
                    summary="", open=bool(re.search(r"\bopen\b", match.group("attrs") or ""))
                )
                stack[-1].append(details)
                stack.append(details.children)
            elif tag.startswith("</details"):
                if too_deep:
                    too_deep -= 1
                    continue
                flush()
                if len(stack) > 1:
                    stack.pop()
            else:
                summary = " ".join(html.unescape(ANY_TAG.sub("", match.group("summary"))).split())
                if too_deep:  # a flattened section's summary stays as a line of its text
                    pending.append(summary)
                    continue
                parent = stack[-2][-1] if len(stack) > 1 else None
                if isinstance(parent, DetailsBlock) and not parent.summary:
                    parent.summary = summary
        pending.append(_residue(chunk[position:]))
        index = end
    flush()
    return root


def _residue(html_text: str) -> str:
    """What is left of an HTML block around the details tags, less the div wrappers."""
    return _WRAPPERS.sub("", html_text).strip()
