"""How the daily views read in a terminal, for the CLI and the TUI alike (Rich, no
Textual): the calendar heat map, the streak and the per-topic table."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from studylog.labels import NO_TOPIC, plural
from studylog.safe_text import visible as clean
from studylog.store.stats import Stats

# Five shades, none to most; a day's level is its share of the busiest day in view.
_SHADES = ["grey23", "dark_green", "green4", "green3", "bright_green"]
_WEEKDAYS = ["Mon", "", "Wed", "", "Fri", "", "Sun"]


def heat_map(stats: Stats, weeks: int = 17) -> Text:
    """A GitHub-style grid: a column a week, a row a weekday, months along the top."""
    columns = stats.weeks(weeks)
    busiest = max((c[1] for col in columns for c in col if c is not None), default=0)
    months = Text("    ")
    last = None
    for column in columns:
        first = column[0]
        month = first[0].strftime("%b") if first is not None else ""
        months.append(month[:2] if month != last else "  ", style="dim")
        last = month
    text = Text.assemble(months, "\n")
    for row in range(7):
        text.append(f"{_WEEKDAYS[row]:<4}", style="dim")
        for column in columns:
            cell = column[row]
            if cell is None:
                text.append("  ")
                continue
            count = cell[1]
            level = 0 if count == 0 else 1 + min(3, (count * 4 - 1) // max(busiest, 1))
            text.append("■ ", style=_SHADES[level])
        text.append("\n")
    return text


def stats_view(stats: Stats, weeks: int = 17) -> Group:
    active = [d for d, (n, r) in stats.days.items() if n or r]
    summary = Text()
    summary.append(f"Streak: {stats.streak} {plural(stats.streak, 'day')}", style="bold")
    in_view = stats.today.toordinal() - 7 * weeks
    recent = [d for d in active if d.toordinal() > in_view]
    summary.append(f"   active days in view: {len(recent)}", style="dim")
    if active:
        summary.append(f"   last: {max(active).isoformat()}", style="dim")
    table = Table("topic", "notes", "runs", "cards due", box=None, header_style="bold")
    for t in stats.topics:
        table.add_row(
            Text(clean(t.topic) if t.topic else NO_TOPIC), str(t.notes), str(t.runs), str(t.due)
        )
    return Group(heat_map(stats, weeks), summary, Text(""), table)
