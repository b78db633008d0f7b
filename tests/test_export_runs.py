"""Which run an export shows (issue 11): each snippet's latest *succeeded* run by default,
so a failed 5-step try never replaces a good 200-step run; `--run latest|succeeded|ID`
chooses; the export says which run it used. Real runs through the CLI, a real store."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from studylog.paths import Workspace
from tests.conftest import Cli

NOTE = """# Training

```python run name=train
import os
from studylog import track
bad = os.path.exists({flag!r})
steps = 5 if bad else 200
for step in range(steps):
    track.log(step=step, loss=1 / (step + 1))
print("trained", steps, "steps")
if bad:
    raise SystemExit("diverged")
```
"""


def _two_runs(workspace: Workspace, write_note: Callable[..., Path], tmp_path: Path) -> Cli:
    """Run #1 succeeds with 200 steps; run #2 fails after 5."""
    flag = tmp_path / "make-it-fail"
    write_note("train.md", NOTE.format(flag=str(flag)))
    cli = Cli(workspace.root)
    cli("run", "train.md")
    flag.touch()
    assert cli("run", "train.md", ok=False).exit_code == 1
    assert [r["status"] for r in cli.json("runs")] == ["failed", "succeeded"]
    return cli


def _md(cli: Cli, out: Path, *extra: str) -> str:
    cli("export", "train.md", "--format", "md", "--out", str(out), *extra)
    return (out / "train.md").read_text(encoding="utf-8")


def test_an_export_shows_the_latest_succeeded_run_and_says_which(
    workspace: Workspace, write_note: Callable[..., Path], tmp_path: Path
) -> None:
    cli = _two_runs(workspace, write_note, tmp_path)
    text = _md(cli, tmp_path / "out")
    assert "trained 200 steps" in text and "trained 5 steps" not in text
    assert "run #1" in text and "run #2" not in text
    html = tmp_path / "html"
    cli("export", "train.md", "--format", "html", "--out", str(html))
    assert "trained 200 steps" in (html / "train.html").read_text(encoding="utf-8")
    nb = tmp_path / "nb"
    cli("export", "train.md", "--format", "ipynb", "--out", str(nb))
    cells = json.loads((nb / "train.ipynb").read_text(encoding="utf-8"))["cells"]
    outputs = json.dumps([c.get("outputs", []) for c in cells])
    assert "trained 200 steps" in outputs and "trained 5 steps" not in outputs


def test_run_latest_and_run_id_choose_another_run(
    workspace: Workspace, write_note: Callable[..., Path], tmp_path: Path
) -> None:
    cli = _two_runs(workspace, write_note, tmp_path)
    latest = _md(cli, tmp_path / "a", "--run", "latest")
    assert "trained 5 steps" in latest and "run #2" in latest
    chosen = _md(cli, tmp_path / "b", "--run", "2")
    assert "trained 5 steps" in chosen and "run #2" in chosen
    good = _md(cli, tmp_path / "c", "--run", "#1")
    assert "trained 200 steps" in good


def test_a_run_that_is_not_there_or_of_another_note_is_refused(
    workspace: Workspace, write_note: Callable[..., Path], tmp_path: Path
) -> None:
    cli = _two_runs(workspace, write_note, tmp_path)
    write_note("other.md", "# Other\n\n```python run name=hi\nprint('hi')\n```\n")
    cli("run", "other.md")  # run #3
    out = tmp_path / "out"
    for choice, message in [
        ("99", "there is no run #99"),
        ("abc", "--run takes succeeded, latest or a run id"),
        ("3", "run #3 is of notes/other.md, which is not among the notes exported"),
    ]:
        result = cli(
            "export", "train.md", "--format", "md", "--out", str(out), "--run", choice, ok=False
        )
        assert result.exit_code != 0
        assert message in " ".join(result.stderr.split())
    assert not (out / "train.md").exists()  # nothing written


def test_a_snippet_that_never_succeeded_shows_its_latest_with_a_warning(
    workspace: Workspace, write_note: Callable[..., Path], tmp_path: Path
) -> None:
    flag = tmp_path / "make-it-fail"
    flag.touch()
    write_note("train.md", NOTE.format(flag=str(flag)))
    cli = Cli(workspace.root)
    cli("run", "train.md", ok=False)
    out = tmp_path / "out"
    result = cli("export", "train.md", "--format", "md", "--out", str(out))
    said = " ".join(result.stderr.split())  # as Rich wrapped it
    assert "'train' has no succeeded run; its latest (#1, failed) is shown" in said
    assert "trained 5 steps" in (out / "train.md").read_text(encoding="utf-8")


def test_in_place_writes_the_latest_succeeded_run_unless_told(
    workspace: Workspace, write_note: Callable[..., Path], tmp_path: Path
) -> None:
    cli = _two_runs(workspace, write_note, tmp_path)
    note = workspace.notes_dir / "train.md"
    cli("export", "--in-place", "train.md")
    text = note.read_text(encoding="utf-8")
    assert "trained 200 steps" in text and "trained 5 steps" not in text
    cli("export", "--in-place", "train.md", "--run", "latest")
    text = note.read_text(encoding="utf-8")
    assert "trained 5 steps" in text and "trained 200 steps" not in text
