"""A snippet's latest run as exported: the summary line, its figures, and the Markdown and
HTML blocks that follow the snippet."""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass

from studylog.export.collect import SnippetResult
from studylog.export.files import safe_name
from studylog.export.plots import curve_png, groups
from studylog.labels import duration_text, started_text, status_label


@dataclass(frozen=True)
class Figure:
    name: str  # file name, e.g. sgd-loss.png
    title: str
    png: bytes

    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


def summary(result: SnippetResult) -> str:
    """`sgd · run #12 · ✔ succeeded · 2026-11-20 21:30 · 1.9 s · seed 0 · peak 212 MB · CPU
    1.85 s` (plain text; which run is shown, and its cost as far as it is known)."""
    assert result.run is not None
    s = result.run.summary
    parts = [result.snippet.name, f"run #{s.id}", status_label(s.status), started_text(s.started)]
    if s.duration is not None:
        parts.append(duration_text(s.duration))
    parts.append(f"seed {s.seed}")
    if cost := s.cost.text():
        parts.append(cost)
    return " · ".join(parts)


def figures(result: SnippetResult) -> list[Figure]:
    """One figure per metric group of the run (loss_sgd and loss_adam share one)."""
    out = []
    for group, names in groups(list(result.curves)).items():
        curves = {name: result.curves[name] for name in names if result.curves[name]}
        if not curves:
            continue
        title = f"{result.snippet.name}: {group}"
        name = safe_name(f"{result.snippet.name}-{group}.png")
        out.append(Figure(name, title, curve_png(curves, title, group)))
    return out


def markdown_block(result: SnippetResult, images: list[tuple[str, str]]) -> list[str]:
    """The lines after a snippet in an exported Markdown note: a kramdown/GitHub friendly
    <details markdown="1"> with the output in a fence no output can close, then the images
    (relative link, alt text)."""
    output = result.output.rstrip("\n") or "(no output)"
    # Tildes: kramdown's own fence, which GitHub (CommonMark) reads too; longer than any
    # run of tildes in the output, so the output cannot close it.
    longest = max((len(m) for m in re.findall(r"~+", output)), default=0)
    fence = "~" * max(3, longest + 1)
    lines = [
        '<details markdown="1">',
        f"<summary>{html.escape(summary(result))}</summary>",
        "",
        f"{fence}text",
        *output.split("\n"),
        fence,
        "",
    ]
    for link, alt in images:
        lines += [f"![{alt}]({link})", ""]
    lines.append("</details>")
    return lines


def html_block(result: SnippetResult, figs: list[Figure]) -> str:
    """The same for an HTML page: everything from the run escaped, plots inline."""
    output = result.output.rstrip("\n") or "(no output)"
    parts = [
        '<details class="run">',
        f"<summary>{html.escape(summary(result))}</summary>",
        f'<pre class="output">{html.escape(output)}</pre>',
    ]
    for fig in figs:
        parts.append(f'<img class="plot" src="{fig.data_uri()}" alt="{html.escape(fig.title)}">')
    parts.append("</details>")
    return "\n".join(parts)
