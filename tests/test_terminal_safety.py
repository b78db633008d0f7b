"""What reaches a terminal: note and run text with escape sequences is shown, never obeyed
(CLI through CliRunner and through a real pseudo-terminal, the TUI through Pilot); Rich
markup in names is text, never parsed; a run with thousands of metrics is summarised."""

from __future__ import annotations

import html
import os
import pty
import re
import select
import subprocess
import sys
import time

import pytest
from textual.widgets import Input, OptionList

from studylog.safe_text import visible, visible_output, visible_spans
from studylog.store.history import list_runs
from studylog.tui.app import StudylogApp
from studylog.tui.screens.outline import OutlineScreen
from studylog.tui.widgets.note_view import NoteView
from studylog.tui.widgets.run_log import RunLog
from tests.tui_helpers import main_screen, make_workspace, settings, studylog_app, until

ESC = "\x1b"

# Front matter in YAML escapes (YAML refuses raw control characters), the body raw.
HOSTILE_NOTE = f"""---
title: "Clip \\e]52;c;aGk=\\a clear \\e[2J bell \\a csi \\u009b31m x[/]"
date: 2022-01-25
topic: "Topic \\e]2;pwned\\a"
lecture: "4"
tags: ["ask \\e[6n", "[/bold]"]
---
# Heading {ESC}[2J [/]

<details><summary>Summary {ESC}]2;title{ESC}\\ [/]</summary>

inside {ESC}[6n details

</details>

- [ ] todo {ESC}[31m red [/]

```python run name=x[/]
import sys
from studylog import track
track.param(markup="[/]", title="\\x1b]2;param\\x07")
track.log(step=0, **{{"[/bold]": 1.0, "esc\\x1b[2J": 2.0}})
print("out \\x1b]52;c;aGk=\\x07 clear \\x1b[2J csi \\x9b31m done")
print("\\x1b[31mred\\x1b[0m")
print("err \\x1b[2J", file=sys.stderr)
```
"""

# What a terminal would obey. Rich's own colour codes (SGR) and, on a terminal, its cursor
# codes for the live status line may appear; none of these may.
HOSTILE = ["\x1b]", "\x1b[2J", "\x1b[6n", "\x07", "\x9b"]


def _obeyed(text: str) -> list[str]:
    return [seq for seq in HOSTILE if seq in text]


def test_visible_shows_every_control_character_and_keeps_text():
    assert visible("a\tb\nc") == "a\tb\nc"
    assert visible(f"{ESC}]52;c;aGk=\x07") == "␛]52;c;aGk=␇"
    assert visible("\x00\r\x7f\x9b") == "␀␍␡\\x9b"
    assert visible("역전파 [/]") == "역전파 [/]"
    # A run's output: colours kept for Rich to read, line ends as a terminal shows them.
    assert visible_output(f"{ESC}[31mred{ESC}[0m {ESC}[2J\r\nx\ry") == (
        f"{ESC}[31mred{ESC}[0m ␛[2J\nx\ny"
    )
    assert visible_output(f"{ESC}[31mred{ESC}[0m", colours=False) == "red"
    # Search highlights still cover their words after a C1 character grows to four.
    shown, spans = visible_spans("\x9bab cd", [(1, 3), (4, 6)])
    assert [shown[a:b] for a, b in spans] == ["ab", "cd"]


def test_note_text_is_shown_not_obeyed_by_list_show_search(run_cli, write_note):
    write_note("hostile.md", HOSTILE_NOTE)
    for args in (("list",), ("list", "--by", "date"), ("show", "hostile"), ("search", "todo")):
        result = run_cli(*args)
        assert not _obeyed(result.stdout), args
        assert ESC not in result.stdout, args  # not a terminal: no colour codes either
    shown = run_cli("show", "hostile").stdout
    for text in ("␛]52;c;aGk=␇", "␛[2J", "\\x9b31m", "Topic ␛]2;pwned␇", "ask ␛[6n", "␛[31m"):
        assert text in shown
    # Rich markup in names is text (point 9): these crashed with MarkupError.
    assert "x[/]" in shown and "[/bold]" in shown and "Heading ␛[2J [/]" in shown
    # JSON stays the exact data.
    data = run_cli.json("show", "hostile")
    assert data["title"] == "Clip \x1b]52;c;aGk=\x07 clear \x1b[2J bell \x07 csi \x9b31m x[/]"
    assert data["snippets"][0]["name"] == "x[/]"


def test_run_output_and_names_are_shown_not_obeyed(run_cli, write_note):
    write_note("hostile.md", HOSTILE_NOTE)
    result = run_cli("run", "hostile")
    assert not _obeyed(result.stdout + result.stderr)
    assert "out ␛]52;c;aGk=␇ clear ␛[2J csi \\x9b31m done" in result.stdout
    assert "[/bold]" in result.stdout and "esc␛[2J" in result.stdout

    listed = run_cli("runs")
    assert not _obeyed(listed.stdout) and "x[/]" in listed.stdout
    assert "[/bold] 1" in listed.stdout

    shown = run_cli("runs", "show", "1")
    assert not _obeyed(shown.stdout)
    for text in ("param markup", "[/]", "␛]2;param␇", "err ␛[2J", "esc␛[2J", "[/bold]"):
        assert text in shown.stdout

    # On request, the stored output as the snippet wrote it; JSON exact too.
    raw = run_cli("runs", "show", "1", "--raw")
    assert (
        raw.stdout_bytes
        == ("out \x1b]52;c;aGk=\x07 clear \x1b[2J csi \x9b31m done\n\x1b[31mred\x1b[0m\n").encode()
    )
    assert raw.stderr_bytes == b"err \x1b[2J\n"
    data = run_cli.json("runs", "show", "1")
    assert data["params"] == {"markup": "[/]", "title": "\x1b]2;param\x07"}
    assert {m["name"] for m in data["metrics"]} == {"[/bold]", "esc\x1b[2J"}


MARKUP_NOTE = """# Markup [/] in names

```python run name=x[/]
from studylog import track
track.param(value="[/]", other="[bold]unclosed")
track.log(step=0, **{"[/bold]": 1.0})
print("[/] printed")
```
"""


def test_markup_in_names_and_values_is_text(run_cli, write_note):
    write_note("markup.md", MARKUP_NOTE)
    assert "x[/]" in run_cli("show", "markup").stdout
    ran = run_cli("run", "markup").stdout
    assert "▶ x[/]" in ran and "[/bold]" in ran and "[/] printed" in ran
    assert "x[/]" in run_cli("runs").stdout and "[/bold] 1" in run_cli("runs").stdout
    shown = run_cli("runs", "show", "1").stdout
    assert "[/]" in shown and "[bold]unclosed" in shown and "[/bold]" in shown


def _on_a_terminal(args: list[str], cwd, deadline: float = 120.0) -> str:
    """Run studylog with a pseudo-terminal as stdout and stderr (Rich's terminal path: live
    status line, colours) and return all it wrote."""
    primary, secondary = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "studylog", *args],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=secondary,
        stderr=secondary,
        env=env,
    )
    os.close(secondary)
    chunks = []
    end = time.monotonic() + deadline
    try:
        while time.monotonic() < end:
            ready, _, _ = select.select([primary], [], [], 1.0)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                data = os.read(primary, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        assert proc.wait(timeout=max(1.0, end - time.monotonic())) == 0, b"".join(chunks)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(primary)
    return b"".join(chunks).decode("utf-8", errors="replace")


def test_on_a_real_terminal_nothing_from_the_note_or_run_is_obeyed(workspace, write_note):
    write_note("hostile.md", HOSTILE_NOTE)
    ws = str(workspace.root)
    for args in (["show", "hostile"], ["run", "hostile"], ["runs"], ["runs", "show", "1"]):
        out = _on_a_terminal([*args, "--workspace", ws], cwd=ws)
        assert not _obeyed(out), (args, _obeyed(out))
        assert "␛" in out, args
    # The snippet's own colours still show as colours (Rich's codes, not the snippet's bytes).
    assert re.search(r"\x1b\[31m(\x1b\[[0-9;]*m)*red", out)


MANY_NOTE = """# Many metrics

```python run name=many
from studylog import track
for step in range(2):
    track.log(step=step, **{f"key{i:04d}": float(i + step) for i in range(2000)})
```
"""


def test_runs_show_summarises_many_metrics_and_picks_by_name(run_cli, write_note):
    write_note("many.md", MANY_NOTE)
    ran = run_cli("run", "many")
    assert "and 1,992 more metrics" in ran.stdout
    assert ran.stdout.count("key") < 20  # 8 sparklines, not 2,000
    shown = run_cli("runs", "show", "1").stdout
    assert "and 1,952 more metrics" in shown and "--metric NAME" in shown
    assert "key0047" in shown and "key0048" not in shown
    assert len(shown) < 50_000  # 15 MB for 10,000 keys before
    picked = run_cli("runs", "show", "1", "--metric", "key1500", "--metric", "key0001").stdout
    assert "key1500" in picked and "key0001" in picked and "key0002" not in picked
    assert "more metrics" not in picked
    listed = run_cli("runs").stdout
    assert "+1,994 more" in listed
    missing = run_cli("runs", "show", "1", "--metric", "nope", ok=False)
    assert missing.exit_code != 0
    assert "no metric 'nope'" in missing.stderr and "and 1,990 more" in missing.stderr
    assert len(run_cli.json("runs", "show", "1")["metrics"]) == 2000  # JSON: all of them


# -- the TUI -----------------------------------------------------------------------------


@pytest.fixture
def ws(tmp_path):
    return make_workspace(tmp_path / "ws", {"hostile.md": HOSTILE_NOTE})


def _screen_text(app: StudylogApp) -> str:
    """The screen as the terminal would show it now, line by line, from the SVG screenshot
    (which keeps each cell's characters as they would be written)."""
    svg = app.export_screenshot()
    lines: dict[int, list[str]] = {}
    for line, content in re.findall(r'line-(\d+)\)">([^<]*)</text>', svg):
        lines.setdefault(int(line), []).append(html.unescape(content))
    text = "\n".join("".join(parts) for _, parts in sorted(lines.items()))
    assert not _obeyed(svg) and ESC not in svg
    return text.replace("\xa0", " ")


async def test_tui_opens_a_hostile_note_runs_it_and_shows_everything_inert(ws):
    app = StudylogApp(ws, settings())
    async with app.run_test(size=(160, 60), notifications=True) as pilot:
        screen = main_screen(pilot)
        await until(pilot, lambda: screen.notes, "the notes to load")
        screen.open_note("hostile.md")
        await until(pilot, lambda: screen.run_area is not None, "the note to open")
        await until(pilot, lambda: screen.snippet == "x[/]", "the snippet table")
        await pilot.pause()
        assert pilot.app.is_running
        view = pilot.app.query_one(NoteView)
        assert view.detail is not None and view.detail.summary.path == "hostile.md"
        text = _screen_text(studylog_app(pilot))
        assert not _obeyed(text) and ESC not in text
        assert "Clip ␛]52;c;aGk=␇ clear ␛[2J" in text  # the header's title

        # The rendered markdown, the section titles: visible, never handed on raw.
        await until(pilot, lambda: view.ready.is_set(), "the note rendered")
        rendered = "\n".join(view.lines_text())
        assert rendered.strip() and ESC not in rendered
        assert all(ESC not in f.title for f in view.sections())

        # Run it: the streamed log, the runs table, the plot legend, the notifications.
        await pilot.press("r")
        await until(
            pilot, lambda: screen.running is None and list_runs(studylog_app(pilot).db), "the run"
        )
        await pilot.pause()
        log = pilot.app.query_one(RunLog)
        log_text = "\n".join(line.text for line in log.lines)
        assert ESC + "]" not in log_text and "␛]52;c;aGk=␇" in log_text
        assert not _obeyed(_screen_text(studylog_app(pilot)))

        # The outline and the search results.
        await pilot.press("g")
        assert isinstance(pilot.app.screen, OutlineScreen)
        await pilot.pause()
        assert not _obeyed(_screen_text(studylog_app(pilot)))
        await pilot.press("escape")
        await pilot.press("slash")
        assert isinstance(pilot.app.focused, Input)
        await pilot.press(*"todo")
        results = pilot.app.query_one("#search-results", OptionList)
        await until(pilot, lambda: results.option_count, "search results")
        await pilot.pause()
        assert not _obeyed(_screen_text(studylog_app(pilot)))
        assert pilot.app.is_running


async def test_tui_notifications_are_plain_text(ws):
    app = StudylogApp(ws, settings())
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        pilot.app.notify(f"bad [/] name {ESC}]2;x{ESC}\\", title="[/bold]")
        await until(pilot, lambda: "bad [/] name" in _screen_text(studylog_app(pilot)), "the toast")
        assert "bad [/] name ␛]2;x␛\\" in _screen_text(studylog_app(pilot))
        assert "[/bold]" in _screen_text(studylog_app(pilot))
        assert pilot.app.is_running


def test_export_warnings_name_files_as_they_are(run_cli, write_note, tmp_path):
    write_note("a[b].md", '---\ntitle: T\nsnippets: ["experiments/no[/]pe.py"]\n---\n# A\n')
    result = run_cli("export", "--all", "--format", "ipynb", "--out", str(tmp_path / "out"))
    assert "notes/a[b].md" in result.stderr and "experiments/no[/]pe.py" in result.stderr
