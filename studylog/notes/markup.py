"""The markup notes share with their exports, defined once: the `<details>` tags, the URL
scheme that marks a link as not a local file, and the markdown-it parsers."""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

# `<details …>`, `</details>` and `<summary>…</summary>` (its text in the group "summary",
# the details tag's attributes in "attrs": `open` unfolds it).
DETAILS_PATTERN = (
    r"<details\b(?P<attrs>[^>]*)>|</details\s*>|<summary\b[^>]*>(?P<summary>.*?)</summary\s*>"
)
DETAILS_TAGS = re.compile(DETAILS_PATTERN, re.IGNORECASE | re.DOTALL)
# Any one HTML tag, to take tags out of a summary's text.
ANY_TAG = re.compile(r"<[^>]+>")
# `https:`, `mailto:`, `data:` … (RFC 3986 scheme): a link target that is no file of ours.
_URL_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)


def has_scheme(target: str) -> bool:
    """Whether a link target starts with a URL scheme (`https://…`, `mailto:x`)."""
    return _URL_SCHEME.match(target) is not None


@cache
def markdown_parser(
    *, front_matter: bool = False, tables: bool = False, blocks_only: bool = False
) -> MarkdownIt:
    """A CommonMark parser (made once per kind; parsing keeps no state in it): with the
    front-matter block plugin when the text may start with one, with tables where block
    boundaries must see them, without the inline pass where only blocks' kinds and lines
    are read (it would double the parse of a long note). Rendering to HTML (the exports)
    configures its own."""
    from markdown_it import MarkdownIt

    parser = MarkdownIt("commonmark")
    if front_matter:
        from mdit_py_plugins.front_matter import front_matter_plugin

        parser.use(front_matter_plugin)
    if tables:
        parser.enable("table")
    if blocks_only:
        parser.disable(["inline", "text_join"])
    return parser
