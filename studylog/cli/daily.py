"""Daily-use commands: new (today's note), todos (every to-do), review (due cards, FSRS;
an Anki deck), stats (notes and runs per day, streak, per topic)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from studylog.cli import cli
from studylog.cli.common import (
    console,
    fail,
    folder_warnings,
    index_notes_now,
    json_option,
    listing_console,
    print_json,
    session,
    workspace_option,
    ws_of,
)
from studylog.labels import plural

if TYPE_CHECKING:
    from collections.abc import Callable

    import sqlite_utils

    from studylog.store.review import DueCard


@cli.command()
@click.option("--open", "which", flag_value="open", help="Only the items still to do.")
@click.option("--done", "which", flag_value="done", help="Only the items done.")
@json_option
@workspace_option
@click.pass_context
def todos(ctx: click.Context, which: str | None, as_json: bool, workspace: Path | None) -> None:
    """Every to-do (`- [ ]`, `- [x]`) of every note, newest note first.

    Example: studylog todos --open
    """
    from rich.text import Text

    from studylog.safe_text import visible as clean
    from studylog.store.todos import list_todos

    with session(ws_of(ctx, workspace)) as s:
        folder_warnings(index_notes_now(s))
        items = list_todos(s.db, which or "all")  # type: ignore[arg-type]
    if as_json:
        print_json([item.to_json() for item in items])
        return
    out = listing_console()
    if not items:
        out.print("No to-dos." if which is None else f"No {which} to-dos.")
        return
    current = None
    for item in items:
        if item.path != current:
            current = item.path
            head = Text("\n" if item is not items[0] else "")
            head.append(clean(item.title), style="bold")
            head.append(f"  {item.date or 'undated'}", style="dim")
            if item.topic:
                head.append(f" · {clean(item.topic)}", style="dim")
            head.append(f"  {clean(s.workspace.label(item.path))}", style="dim")
            out.print(head)
        line = Text("  ")
        line.append("[x] " if item.done else "[ ] ", style="green" if item.done else "yellow")
        line.append(clean(item.text), style="dim" if item.done else "")
        line.append(f"  :{item.line}", style="dim")
        out.print(line)
    open_count = sum(not i.done for i in items)
    out.print(Text(f"\n{open_count} open, {len(items) - open_count} done", style="dim"))


@cli.command()
@click.argument("title", required=False)
@click.option("--topic", help="The course (default: the newest note's).")
@click.option("--lecture", help="The lecture number (default: the next one of the topic).")
@click.option(
    "--template", help="A template in templates/ (default: the first there, else built-in)."
)
@click.option("--no-edit", is_flag=True, help="Make the note, do not open $EDITOR.")
@json_option
@workspace_option
@click.pass_context
def new(
    ctx: click.Context,
    title: str | None,
    topic: str | None,
    lecture: str | None,
    template: str | None,
    no_edit: bool,
    as_json: bool,
    workspace: Path | None,
) -> None:
    """Start today's note from a template and open it in $EDITOR.

    Fields a template may use: {{date}}, {{short_date}} (22.01.25), {{topic}}, {{lecture}},
    {{title}}, and {{title_yaml}} / {{topic_yaml}} quoted for front matter.

    Example: studylog new "AutoGrad & Optimizer" --topic Pytorch --lecture 4
    """
    import os
    import shlex
    import subprocess
    import sys

    from studylog.store.new_note import NewNoteError, create_note

    with session(ws_of(ctx, workspace)) as s:
        index_notes_now(s)
        try:
            path = create_note(
                s.db, s.workspace, title=title, topic=topic, lecture=lecture, template=template
            )
        except NewNoteError as exc:
            raise fail(str(exc)) from exc
        relative = path.relative_to(s.workspace.root).as_posix()
        if as_json:
            print_json({"path": path.relative_to(s.workspace.notes_dir).as_posix()})
        else:
            click.echo(f"Made {relative}")
        if not (no_edit or as_json) and sys.stdin.isatty() and sys.stdout.isatty():
            editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
            try:
                subprocess.run([*shlex.split(editor), str(path)], check=False)
            except (OSError, ValueError) as exc:
                raise fail(f"{relative} was made, but the editor {editor!r} failed: {exc}") from exc
        index_notes_now(s)


_RATING_KEYS = {"1": 1, "2": 2, "3": 3, "4": 4}


@cli.command()
@click.option(
    "--export",
    "export",
    type=(click.Choice(["anki"]), click.Path(dir_okay=False, path_type=Path)),
    default=None,
    metavar="anki FILE",
    help="Write every card to an Anki deck (.apkg) instead of reviewing.",
)
@click.option("--limit", type=int, default=None, help="At most this many cards.")
@json_option
@workspace_option
@click.pass_context
def review(
    ctx: click.Context,
    export: tuple[str, Path] | None,
    limit: int | None,
    as_json: bool,
    workspace: Path | None,
) -> None:
    """Review the cards due today, one at a time (FSRS schedules the next time).

    Cards are <details> blocks whose summary is a question (ends with ?, or starts with
    Q. / Q: / 질문), and Q: / A: lines. `review: false` in a note's front matter leaves it
    out. On a terminal: Enter shows the answer, then 1 again, 2 hard, 3 good, 4 easy, q stops.

    Example: studylog review --export anki ~/decks/studylog.apkg
    """
    from rich.text import Text

    from studylog.safe_text import visible as clean
    from studylog.store.review import all_cards, due_cards, sync_cards

    with session(ws_of(ctx, workspace)) as s:
        folder_warnings(index_notes_now(s))
        report = sync_cards(s.db, s.workspace)
        err = console(stderr=True)
        for warning in report.warnings or []:
            err.print(Text(f"⚠ {clean(warning)}", style="yellow"))
        if export is not None:
            from studylog.export.anki import AnkiError, write_deck

            cards = all_cards(s.db)
            try:
                count = write_deck(
                    cards, export[1], deck_name=s.workspace.root.name, workspace=s.workspace
                )
            except AnkiError as exc:
                raise fail(str(exc)) from exc
            if as_json:
                print_json({"deck": str(export[1]), "cards": count})
            else:
                click.echo(f"Wrote {count} {plural(count, 'card')} to {export[1]}")
            return
        cards = due_cards(s.db, limit=limit)
        if as_json:
            print_json([c.to_json() for c in cards])
            return
        import sys

        if sys.stdin.isatty() and sys.stdout.isatty():
            _review_loop(s.db, cards, s.workspace.label)
            return
        out = console()
        if not cards:
            out.print("Nothing due. Come back tomorrow.")
        for card in cards:
            line = Text("? ", style="cyan")
            line.append(clean(card.question), style="bold")
            line.append(f"  {clean(s.workspace.label(card.path))}:{card.line}", style="dim")
            out.print(line)


def _review_loop(
    db: sqlite_utils.Database, cards: list[DueCard], label: Callable[[str], str]
) -> None:
    """One card at a time at a terminal: question, Enter, answer, a rating key."""
    from rich.markdown import Markdown
    from rich.rule import Rule
    from rich.text import Text

    from studylog.safe_text import visible as clean
    from studylog.store.review import CardGone, rate

    out = console()
    if not cards:
        out.print("Nothing due. Come back tomorrow.")
        return
    done = 0
    for number, card in enumerate(cards, 1):
        out.print(Rule(f"{number}/{len(cards)} · {clean(label(card.path))}", style="dim"))
        out.print(Text(clean(card.question), style="bold"))
        click.prompt("", default="", show_default=False, prompt_suffix="(Enter: answer) ")
        out.print(Markdown(clean(card.answer)))
        key = ""
        while key not in _RATING_KEYS and key != "q":
            key = click.prompt("1 again · 2 hard · 3 good · 4 easy · q stop", default="3")
        if key == "q":
            break
        try:
            due = rate(db, card.id, _RATING_KEYS[key])
        except CardGone as exc:
            out.print(Text(str(exc), style="yellow"))
            continue
        done += 1
        out.print(Text(f"next: {due} UTC", style="dim"))
    out.print(f"Reviewed {done} of {len(cards)}.")


@cli.command()
@click.option("--weeks", default=17, show_default=True, help="How many weeks the map shows.")
@json_option
@workspace_option
@click.pass_context
def stats(ctx: click.Context, weeks: int, as_json: bool, workspace: Path | None) -> None:
    """Notes written and runs made per day (a heat map), the streak, and per topic the notes,
    runs and review cards due.

    Example: studylog stats --weeks 26
    """
    from studylog.store.review import sync_cards
    from studylog.store.stats import collect_stats

    if weeks < 1:
        raise fail("--weeks must be at least 1")
    with session(ws_of(ctx, workspace)) as s:
        folder_warnings(index_notes_now(s))
        sync_cards(s.db, s.workspace)
        result = collect_stats(s.db)
    if as_json:
        print_json(result.to_json())
        return
    from studylog.daily_views import stats_view

    console().print(stats_view(result, weeks))
