"""Rich renderings of runs for the command line: sparklines, the runs table, the end of a
run, one run in full with a terminal plot of each metric (badges: studylog.rich_labels)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from studylog.cli.views import Label, classic_label, safe
from studylog.labels import duration_text, fraction, number_text, plot_scale, started_text
from studylog.rich_labels import badge, metrics_cell
from studylog.runner.snippets import SnippetState
from studylog.safe_text import visible, visible_output
from studylog.store.history import MetricInfo, RunDetail, RunSummary

_SPARKS = "▁▂▃▄▅▆▇█"
# A run may log thousands of metric keys: plot (or sparkline) this many, list this many more
# one a line, and count the rest (`runs show --metric NAME` picks any).
PLOTTED_METRICS = 8
LISTED_METRICS = 40


def sparkline(values: Sequence[float], width: int = 32) -> str:
    """The shape of a curve in one line of block characters (NaN and inf left out)."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return ""
    if len(finite) > width:  # the mean of each of `width` slices (no sum overflows)
        size = len(finite) / width
        finite = [
            sum(v / len(chunk) for v in chunk)
            for i in range(width)
            if (chunk := finite[int(i * size) : max(int((i + 1) * size), int(i * size) + 1)])
        ]
    low, high = min(finite), max(finite)
    return "".join(_SPARKS[min(7, int(fraction(v, low, high) * 7.999))] for v in finite)


def snippet_table(states: Sequence[SnippetState]) -> Table:
    table = Table(box=None, pad_edge=False, show_header=True, header_style="dim")
    for column in ("snippet", "source", "status", "last run", "final metrics"):
        table.add_column(column)
    for state in states:
        run = state.latest
        status = badge(state.badge)
        if state.problem:
            status = safe(f"⚠ {state.problem}", "red")
        table.add_row(
            safe(state.snippet.name),
            safe(state.snippet.path or f"fence, line {state.snippet.line}"),
            status,
            f"#{run.id} {started_text(run.started)}" if run else "—",
            metrics_cell(run.final_metrics) if run else "",
        )
    return table


def runs_table(
    runs: Sequence[RunSummary], stale: dict[int, bool] | None = None, whole: bool = False
) -> Table:
    """The run history; `whole`: no cell cut or wrapped (piped output, as wide as its rows)."""
    table = Table(box=None, pad_edge=False, header_style="dim")
    table.add_column("run", no_wrap=True, min_width=4)
    if whole:
        table.add_column("snippet", no_wrap=True, min_width=16)
    else:
        table.add_column("snippet", overflow="ellipsis", min_width=16, max_width=30)
    table.add_column("status", no_wrap=True, min_width=12)
    table.add_column("started", no_wrap=True, min_width=11)
    table.add_column("took", no_wrap=True, justify="right", min_width=6)
    table.add_column("seed", no_wrap=True, justify="right")
    if whole:
        table.add_column("final metrics", no_wrap=True)
    else:
        table.add_column("final metrics", overflow="fold", ratio=1)
    one_note = len({r.note_path for r in runs}) == 1
    for run in runs:
        status = badge(run.status)
        if stale and stale.get(run.id):
            status.append("\n≠ code changed", style="yellow")
        what = safe(run.snippet, "bold")
        if not one_note:
            what.append(f"\n{visible(run.note_path.rsplit('/', 1)[-1])}", style="dim")
        table.add_row(
            f"#{run.id}",
            what,
            status,
            started_text(run.started, short=True),
            duration_text(run.duration),
            str(run.seed),
            metrics_cell(run.final_metrics),
        )
    return table


def run_summary(
    finished_status: str,
    run: RunDetail,
    curves: dict[str, list[float]],
    label: Label = classic_label,
) -> Panel:
    """The end of `studylog run`: status, duration, the error, a sparkline per metric."""
    lines: list[RenderableType] = []
    head = Text.assemble(
        badge(finished_status),
        f"  in {duration_text(run.summary.duration)}",
        f"  seed {run.summary.seed}",
        (f"  run #{run.summary.id}", "dim"),
    )
    lines.append(head)
    if cost := run.summary.cost.text():
        lines.append(Text(cost, style="dim"))
    if run.summary.signal:
        lines.append(safe(f"killed by {run.summary.signal}", "red"))
    if run.summary.last_error and finished_status != "succeeded":
        lines.append(safe(run.summary.last_error, "red"))
    if run.metrics:
        grid = Table.grid(padding=(0, 2))
        for _ in range(5):
            grid.add_column(no_wrap=True)
        for metric in run.metrics[:PLOTTED_METRICS]:
            grid.add_row(
                safe(metric.name, "bold"),
                Text(sparkline(curves.get(metric.name, []), width=20), style="cyan"),
                f"last {number_text(metric.last_value)}",
                Text(f"min {number_text(metric.min_value)}", style="dim"),
                Text(f"{metric.points} pts", style="dim"),
            )
        lines.append(grid)
        if len(run.metrics) > PLOTTED_METRICS:
            lines.append(
                Text(
                    f"and {len(run.metrics) - PLOTTED_METRICS:,} more metrics: "
                    f"studylog runs show {run.summary.id}",
                    style="dim",
                )
            )
    for warning in run.warnings:
        lines.append(safe(f"⚠ {warning}", "yellow"))
    title = safe(f"{run.summary.snippet} · {label(run.summary.note_path)}")
    return Panel(Group(*lines), title=title, title_align="left", expand=False)


def metric_plot(name: str, points: Sequence[tuple[int, float]], width: int, height: int) -> Text:
    """A terminal line plot of one metric (plotext), as Rich text."""
    import plotext

    plotext.clear_figure()
    plotext.plot_size(width, height)
    plotext.theme("clear")
    # NaN and inf are left out of the plot; huge values are drawn in units of a power of ten.
    kept = [(s, v) for s, v in points if v is not None and math.isfinite(v)]
    scale, unit = plot_scale(v for _, v in kept)
    plotext.plot([s for s, _ in kept], [v / scale for _, v in kept], marker="braille")
    plotext.title(f"{visible(name)} ({unit})" if unit else visible(name))
    plotext.xlabel("step")
    return Text.from_ansi(plotext.build())


def metrics_to_plot(metrics: Sequence[MetricInfo], picked: Sequence[str] = ()) -> list[MetricInfo]:
    """What `runs show` plots: the metrics picked by name (in the order given), else the
    first PLOTTED_METRICS of the run."""
    if not picked:
        return list(metrics[:PLOTTED_METRICS])
    by_name = {m.name: m for m in metrics}
    return [by_name[name] for name in dict.fromkeys(picked) if name in by_name]


def run_detail(
    run: RunDetail,
    plots: dict[str, Sequence[tuple[int, float]]],
    width: int,
    *,
    picked: bool = False,
    label: Label = classic_label,
) -> Group:
    """`studylog runs show`: what ran, how it ended, params, environment, output, and a plot
    of each metric in `plots`; unless the metrics were `picked`, the metrics not plotted
    follow one a line (LISTED_METRICS of them) and the rest are counted."""
    s = run.summary
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="dim")
    facts.add_column()
    facts.add_row("run", f"#{s.id}")
    facts.add_row("note", safe(label(s.note_path)))
    facts.add_row("snippet", safe(f"{s.snippet} ({run.snippet_path or run.source})"))
    facts.add_row("status", badge(s.status))
    if s.last_error and s.status != "succeeded":
        facts.add_row("error", safe(s.last_error, "red"))
    if s.signal:
        facts.add_row("signal", safe(s.signal))
    facts.add_row("started", safe(s.started))
    facts.add_row("duration", duration_text(s.duration))
    facts.add_row("exit code", "—" if s.exit_code is None else str(s.exit_code))
    if cost := s.cost.text():
        facts.add_row("cost", safe(cost))
    facts.add_row("seed", str(s.seed))
    if run.start_path:
        facts.add_row("process", "warm (forked)" if run.start_path == "warm" else "cold (new)")
    if run.args:
        facts.add_row("args", safe(" ".join(run.args)))
    facts.add_row("code", safe(s.code_hash[:12]))
    for name, value in run.params.items():
        facts.add_row(safe(f"param {name}"), safe(str(value)))
    env = run.env
    facts.add_row(
        "environment",
        safe(
            ", ".join(
                f"{key} {env[key]}"
                for key in ("python", "studylog", "torch", "numpy")
                if env.get(key) is not None
            )
        ),
    )
    cuda = env.get("cuda_device") or ("yes" if env.get("cuda_available") else None)
    if env.get("torch_imported"):
        facts.add_row("cuda", safe(str(cuda or "not available")))
    facts.add_row("platform", safe(str(env.get("platform", "—"))))
    parts: list[RenderableType] = [facts]
    for warning in run.warnings:
        parts.append(safe(f"⚠ {warning}", "yellow"))
    for title, text in (("stdout", run.stdout), ("stderr", run.stderr)):
        if text.strip():
            parts.append(
                Panel(
                    output_text(text.rstrip("\n")),
                    title=title,
                    title_align="left",
                    border_style="dim",
                )
            )
    for name, points in plots.items():
        if points:
            parts.append(metric_plot(name, points, width=min(width, 100), height=15))
        else:
            parts.append(safe(f"{name}: no finite points to plot", "dim"))
    if not picked:
        rest = [m for m in run.metrics if m.name not in plots]
        if rest:
            parts.append(_metric_list(rest[:LISTED_METRICS]))
        if len(rest) > LISTED_METRICS:
            parts.append(
                Text(
                    f"and {len(rest) - LISTED_METRICS:,} more metrics — "
                    f"pick with --metric NAME (all of them: studylog runs show {s.id} --json)",
                    style="dim",
                )
            )
    return Group(*parts)


def _metric_list(metrics: Sequence[MetricInfo]) -> Table:
    table = Table(box=None, pad_edge=False, header_style="dim")
    table.add_column("metric", overflow="fold")
    for column in ("points", "last", "min", "max"):
        table.add_column(column, justify="right", no_wrap=True)
    for m in metrics:
        table.add_row(
            safe(m.name, "bold"),
            f"{m.points:,}",
            number_text(m.last_value),
            number_text(m.min_value),
            number_text(m.max_value),
        )
    return table


def output_text(text: str, style: str = "") -> Text:
    """A run's output as Rich text: its colours kept (Rich writes its own codes for them),
    every other control character shown, never obeyed (safe_text.visible_output)."""
    return Text.from_ansi(visible_output(text), style=style)
