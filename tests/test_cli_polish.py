"""A newcomer's pass over the CLI: `runs show latest|succeeded`, listings piped whole (not
cut at 80 columns), and counts in the right number ("1 file", not "1 files")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from studylog.paths import Workspace
from tests.conftest import Cli

SNIPPETS = """# Two snippets

```python run name=ok
from studylog import track
track.log(step=0, loss=0.5)
print("trained")
```

```python run name=bad
raise RuntimeError("shapes do not match")
```
"""

LONG_NAME = "compare-sgd-momentum-and-adam-on-the-two-moons-dataset-at-three-rates"
LONG_TITLE = "A rather long lecture title about optimizers, schedules and the warm-up " * 2
LONG_NOTE = f"""# {LONG_TITLE.strip()}

```python run name={LONG_NAME}
from studylog import track
track.log(step=0, training_loss=0.125, validation_loss=0.25, accuracy_on_test=0.875,
          learning_rate_now=0.001, gradient_norm=3.5)
```
"""


def test_runs_show_takes_latest_and_succeeded(
    run_cli: Cli, write_note: Callable[..., Path]
) -> None:
    write_note("two.md", SNIPPETS)
    run_cli("run", "two", "--snippet", "ok")
    run_cli("run", "two", "--snippet", "bad", ok=False)
    latest = run_cli.json("runs", "show", "latest")
    assert (latest["id"], latest["status"]) == (2, "failed")
    good = run_cli.json("runs", "show", "succeeded")
    assert (good["id"], good["snippet"], good["status"]) == (1, "ok", "succeeded")
    assert "trained" in run_cli("runs", "show", "succeeded").stdout
    assert run_cli.json("runs", "show", "#1")["id"] == 1  # as `runs` shows the ids


def test_runs_show_latest_says_why_when_there_is_none(
    run_cli: Cli, write_note: Callable[..., Path]
) -> None:
    for which in ("latest", "succeeded"):
        result = run_cli("runs", "show", which, ok=False)
        assert result.exit_code == 1
        assert "no runs yet" in result.stderr or "no run has succeeded" in result.stderr
        assert "Traceback" not in result.output
    write_note("two.md", SNIPPETS)
    run_cli("run", "two", "--snippet", "bad", ok=False)
    result = run_cli("runs", "show", "succeeded", ok=False)
    assert result.exit_code == 1
    assert "no run has succeeded yet" in result.stderr
    result = run_cli("runs", "show", "newest", ok=False)
    assert result.exit_code != 0
    assert "run id, latest or succeeded" in result.stderr and "'newest'" in result.stderr


def _piped(workspace: Workspace, *args: str) -> str:
    """A command's stdout through a real pipe, as `studylog … | less` or a script gets it."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    done = subprocess.run(
        [sys.executable, "-m", "studylog", *args, "--workspace", str(workspace.root)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    return done.stdout


def test_piped_listings_are_neither_cut_nor_wrapped_at_80_columns(
    run_cli: Cli, write_note: Callable[..., Path], workspace: Workspace
) -> None:
    write_note("2026-01-05-optimizers.md", LONG_NOTE)
    run_cli("run", "optimizers")
    runs = _piped(workspace, "runs")
    row = next(line for line in runs.splitlines() if line.startswith("#1"))
    assert LONG_NAME in row  # whole, not "compare-sgd-momentum-and-adam…"
    for shown in ("training_loss 0.125", "validation_loss 0.25", "gradient_norm 3.5"):
        assert shown in row  # the final metrics on the run's one line
    listing = _piped(workspace, "list")
    assert any(LONG_TITLE.strip() in line for line in listing.splitlines()), listing
    assert json.loads(_piped(workspace, "runs", "--json"))[0]["snippet"] == LONG_NAME


def test_counts_read_in_the_right_number(
    run_cli: Cli, write_note: Callable[..., Path], tmp_path: Path
) -> None:
    write_note("one.md", "# One\n\nNo snippets here.\n")
    assert "Indexed 1 note " in run_cli("index").stdout
    exported = run_cli("export", "one", "--format", "md", "--out", str(tmp_path / "out")).stdout
    assert "(1 file)." in " ".join(exported.split()), exported
    assert "1 files" not in exported
    from studylog.labels import plural

    assert [plural(n, "file") for n in (0, 1, 2)] == ["files", "file", "files"]
