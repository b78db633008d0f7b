"""HTML export: one self-contained page per note (styles, highlighting and plots inline, no
network needed), and an index by date and by topic when several notes are exported.

The note's markdown is rendered by markdown-it-py; its raw HTML is kept but passes nh3,
which keeps details, summary, div, tables and images and drops scripts, event handlers and
javascript: links. Run output is escaped, never interpreted."""

from __future__ import annotations

import base64
import functools
import html
import mimetypes
import re
import secrets
from collections import defaultdict
from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from studylog.export.collect import ExportNote, local_target, within
from studylog.export.results import figures, html_block
from studylog.labels import NO_TOPIC, UNDATED
from studylog.notes.markup import has_scheme

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from pygments.formatters import HtmlFormatter
    from pygments.lexer import Lexer

    from studylog.paths import Workspace

_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "code",
    "dd",
    "del",
    "details",
    "div",
    "dl",
    "dt",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "kbd",
    "li",
    "mark",
    "ol",
    "p",
    "pre",
    "s",
    "span",
    "strong",
    "sub",
    "summary",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
}
_ATTRIBUTES = {
    "*": {"class", "id", "title", "lang"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "details": {"open"},
    "td": {"align", "colspan", "rowspan"},
    "th": {"align", "colspan", "rowspan"},
    "ol": {"start"},
}
_IMG_SRC = re.compile(r'(<img\b[^>]*?\bsrc=")([^"]+)(")')

CSS = """
:root { color-scheme: light dark; --fg: #1f2328; --bg: #ffffff; --muted: #59636e;
  --line: #d1d9e0; --code-bg: #f6f8fa; --accent: #0969da; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --bg: #0d1117;
  --muted: #9198a1; --line: #3d444d; --code-bg: #151b23; --accent: #4493f8; } }
body { margin: 0 auto; max-width: 52rem; padding: 2rem 1.25rem; color: var(--fg);
  background: var(--bg); line-height: 1.65; word-break: keep-all; overflow-wrap: anywhere;
  font-family: system-ui, -apple-system, "Segoe UI", "Apple SD Gothic Neo",
    "Noto Sans KR", "Malgun Gothic", "Nanum Gothic", sans-serif; }
header.note { border-bottom: 1px solid var(--line); margin-bottom: 1.5rem; }
header.note h1 { margin-bottom: .25rem; }
.meta { color: var(--muted); font-size: .95rem; }
.meta span + span::before { content: " · "; }
.tag { color: var(--accent); }
pre, code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas,
  "D2Coding", "Noto Sans Mono CJK KR", monospace; font-size: .9em; }
pre { background: var(--code-bg); padding: .8rem 1rem; overflow-x: auto; border-radius: 6px; }
:not(pre) > code { background: var(--code-bg); padding: .1em .35em; border-radius: 4px; }
details { border: 1px solid var(--line); border-radius: 6px; padding: .4rem .9rem;
  margin: 1rem 0; }
details > summary { cursor: pointer; font-weight: 600; }
details.run { border-left: 4px solid var(--accent); }
details.run pre.output { max-height: 30rem; overflow: auto; white-space: pre-wrap; }
img { max-width: 100%; }
img.plot { display: block; margin: .5rem 0; background: #fff; border-radius: 4px; }
table { border-collapse: collapse; } th, td { border: 1px solid var(--line);
  padding: .3rem .6rem; }
blockquote { margin: 0; padding-left: 1rem; border-left: 4px solid var(--line);
  color: var(--muted); }
nav.index h2 { margin-top: 2rem; } nav.index li { margin: .2rem 0; }
"""


@functools.cache
def _markdown_it() -> MarkdownIt:
    from markdown_it import MarkdownIt
    from mdit_py_plugins.anchors import anchors_plugin
    from mdit_py_plugins.front_matter import front_matter_plugin

    return (
        MarkdownIt("commonmark", {"html": True, "highlight": _highlight})
        .use(front_matter_plugin)
        .use(anchors_plugin, min_level=1, max_level=6, slug_func=slug)
        .enable(["table", "strikethrough"])
    )


def slug(title: str) -> str:
    """A heading's id as kramdown (GFM) and GitHub make it, Korean kept: `대회 개요` →
    `대회-개요`, `Data Loader!` → `data-loader`; so a note's contents links work."""
    text = re.sub(r"[^\w\- ]", "", title.strip().lower())
    return text.replace(" ", "-")


def _highlight(code: str, lang: str, attrs: str) -> str:
    """Pygments spans for a fence; markdown-it wraps them in <pre><code>."""
    from pygments import highlight

    lexer = _lexer((lang or "").split()[0] if lang else "")
    if lexer is None:
        return ""  # markdown-it escapes the code itself
    return highlight(code, lexer, _formatter())


@functools.cache
def _lexer(language: str) -> Lexer | None:
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        return get_lexer_by_name(language or "text")
    except ClassNotFound:
        return None


@functools.cache
def _formatter() -> HtmlFormatter[str]:
    from pygments.formatters import HtmlFormatter

    return HtmlFormatter(nowrap=True)


@functools.cache
def _pygments_css() -> str:
    from pygments.formatters import HtmlFormatter

    light = HtmlFormatter(style="default").get_style_defs("pre code")
    dark = HtmlFormatter(style="github-dark").get_style_defs("pre code")
    return f"{light}\n@media (prefers-color-scheme: dark) {{\n{dark}\n}}"


def sanitize(markup: str) -> str:
    import nh3

    return nh3.clean(
        markup,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


def render_note(note: ExportNote, warnings: list[str], workspace: Workspace) -> str:
    """The whole page of one note; images inside the workspace are inlined."""
    token = secrets.token_hex(8)
    lines = note.text.split("\n")
    blocks: dict[str, str] = {}
    after: dict[int | None, list[str]] = defaultdict(list)
    for index, result in enumerate(note.ran):
        key = f"STUDYLOGRUN{token}N{index}"
        blocks[key] = html_block(result, figures(result))
        after[result.after_line].append(key)
    out: list[str] = []
    for number, line in enumerate(lines):
        out.append(line)
        for key in after.get(number, []):
            out += ["", key, ""]
    for key in after.get(None, []):
        out += ["", key, ""]
    text, math = blog_markdown("\n".join(out), token, warnings, workspace.label(note.path))
    body = sanitize(_markdown_it().render(text))
    body = _emoji(body)
    for key, block in {**blocks, **math}.items():  # ours, escaped already: after the sanitizer
        body = body.replace(f"<p>{key}</p>", block).replace(key, block)
    body = _inline_images(body, note, warnings, workspace)
    return _page(note.detail.summary.title, _header(note, body) + body)


_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_BLOCK_MATH = re.compile(r"\$\$(.+?)\$\$", re.DOTALL)
_INLINE_MATH = re.compile(r"(?<![\\$\w])\$(?![\s$])([^$\n]+?)(?<![\s\\])\$(?![\w$])")
_CODE_SPAN = re.compile(r"(`+)(?:.+?)\1")
_TASK = re.compile(r"^(\s*(?:[-*+]|\d+[.)])\s+)\[([ xX])\](?=\s)")
_KRAMDOWN_IAL = re.compile(r"^\s*\{:[^}]*\}\s*$")


def blog_markdown(
    text: str, token: str, warnings: list[str], label: str
) -> tuple[str, dict[str, str]]:
    """The note's markdown as a blog shows it: Liquid paths plain, kramdown `{: .x}` lines
    gone, task items as ☐/☑, math as placeholders for MathML (put in after the sanitizer,
    which does not know MathML). Code blocks and code spans are left as written."""
    from studylog.export.collect import unliquid

    math: dict[str, str] = {}

    def add(latex: str, display: bool) -> str:
        key = f"STUDYLOGMATH{token}N{len(math)}"
        math[key] = _mathml(latex, display, warnings, label)
        return f"\n\n{key}\n\n" if display else key

    out: list[str] = []
    prose: list[str] = []
    fence: str | None = None

    def flush() -> None:
        chunk = "\n".join(prose)
        prose.clear()
        chunk = _BLOCK_MATH.sub(lambda m: add(m.group(1), True), chunk)
        pieces = []
        last = 0
        for span in _CODE_SPAN.finditer(chunk):  # no math inside `code`
            pieces.append(
                _INLINE_MATH.sub(lambda m: add(m.group(1), False), chunk[last : span.start()])
            )
            pieces.append(span.group(0))
            last = span.end()
        pieces.append(_INLINE_MATH.sub(lambda m: add(m.group(1), False), chunk[last:]))
        out.append("".join(pieces))

    for line in text.split("\n"):
        m = _FENCE.match(line)
        if fence is None and m:
            flush()
            fence = m.group(1)[0] * 3
            out.append(line)
        elif fence is not None:
            out.append(line)
            if line.strip().startswith(fence):
                fence = None
        elif _KRAMDOWN_IAL.match(line):
            continue
        else:
            line = _TASK.sub(lambda t: f"{t.group(1)}{'☐' if t.group(2) == ' ' else '☑'}", line)
            prose.append(unliquid(line))
    flush()
    return "\n".join(out), math


def _mathml(latex: str, display: bool, warnings: list[str], label: str) -> str:
    """MathML for `latex`; math that does not parse is shown as its source, with a warning."""
    from latex2mathml.converter import convert

    try:
        return convert(latex.strip(), display="block" if display else "inline")
    except Exception as exc:  # latex2mathml raises many kinds on bad input
        warnings.append(
            f"{label}: math {latex.strip()[:40]!r} does not parse ({exc}); shown as source"
        )
        wrapped = f"$${latex}$$" if display else f"${latex}$"
        return f'<code class="math">{html.escape(wrapped)}</code>'


_PRE_OR_CODE = re.compile(r"(<pre\b.*?</pre>|<code\b.*?</code>)", re.DOTALL)


def _emoji(body: str) -> str:
    """`:book:` shortcodes as emoji, outside code."""
    import emoji

    parts = _PRE_OR_CODE.split(body)
    for i in range(0, len(parts), 2):
        parts[i] = emoji.emojize(parts[i], language="alias")
    return "".join(parts)


def _inline_images(body: str, note: ExportNote, warnings: list[str], workspace: Workspace) -> str:
    """Local images become data URIs, so the page needs nothing beside it. Only files inside
    the workspace are read (links resolved): a page is often published, and a cloned
    repository's note must not pull a private file into it."""

    def inline(match: re.Match[str]) -> str:
        src = html.unescape(match.group(2))
        if has_scheme(src) or src.startswith("//"):
            return match.group(0)
        path = local_target(workspace, note.source, src)
        if path is None or not within(workspace, path):
            label = workspace.label(note.path)
            warnings.append(f"{label}: image {src} is outside the workspace; not inlined")
            return match.group(0)
        if not path.is_file():
            if src.startswith("/"):  # a file path of this machine, not of the site
                label = workspace.label(note.path)
                warnings.append(
                    f"{label}: image {src} is not under the site root, so outside the "
                    "workspace; not inlined"
                )
            return match.group(0)  # collect() has warned about it
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if not kind.startswith("image/") or kind == "image/svg+xml":  # svg may hold script
            label = workspace.label(note.path)
            warnings.append(f"{label}: {src} is not a raster image; not inlined")
            return match.group(0)
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        return f"{match.group(1)}data:{kind};base64,{data}{match.group(3)}"

    return _IMG_SRC.sub(inline, body)


def _header(note: ExportNote, body: str = "") -> str:
    """Title, date, topic, lectures and tags; the title left out when the note's own first
    heading already says it."""
    s = note.detail.summary
    first = re.match(r"\s*<h[1-6]\b[^>]*>(.*?)</h[1-6]>", body, re.DOTALL)
    said = first is not None and _text(first.group(1)) == " ".join(s.title.split())
    heading = "" if said else f"<h1>{html.escape(s.title)}</h1>"
    meta = [f"<span>{html.escape(s.date or UNDATED)}</span>"]
    if s.topic:
        meta.append(f"<span>{html.escape(s.topic)}</span>")
    for lecture in s.lectures:
        meta.append(f"<span>{html.escape(lecture.label())}</span>")
    tags = " ".join(f'<span class="tag">#{html.escape(t)}</span>' for t in s.tags)
    return (
        f'<header class="note">{heading}'
        f'<p class="meta">{"".join(meta)}</p>'
        + (f'<p class="meta">{tags}</p>' if tags else "")
        + "</header>\n"
    )


def _text(markup: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", markup)).split())


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html>\n<html lang="ko">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="generator" content="studylog">\n'
        f"<title>{html.escape(title)}</title>\n<style>{CSS}\n{_pygments_css()}</style>\n"
        f"</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def render_index(entries: Sequence[tuple[ExportNote, PurePosixPath]]) -> str:
    """index.html: every exported note by date (newest first) and by topic, with links."""

    def link(note: ExportNote, href: PurePosixPath) -> str:
        s = note.detail.summary
        return (
            f'<li><a href="{html.escape(str(href))}">{html.escape(s.title)}</a> '
            f'<span class="meta">{html.escape(s.date or UNDATED)}</span></li>'
        )

    dated = sorted(entries, key=lambda e: (e[0].detail.summary.date or "", e[1]), reverse=True)
    by_topic: dict[str, list[tuple[ExportNote, PurePosixPath]]] = defaultdict(list)
    for entry in entries:
        by_topic[entry[0].detail.summary.topic or NO_TOPIC].append(entry)
    parts = ['<nav class="index"><h1>Study notes</h1>', "<h2>By date</h2><ul>"]
    parts += [link(*e) for e in dated]
    parts.append("</ul><h2>By topic</h2>")
    for topic in sorted(by_topic, key=lambda t: (t == NO_TOPIC, t.casefold())):
        parts.append(f"<h3>{html.escape(topic)}</h3><ul>")
        parts += [link(*e) for e in sorted(by_topic[topic], key=lambda e: str(e[1]))]
        parts.append("</ul>")
    parts.append("</nav>")
    return _page("Study notes", "\n".join(parts))
