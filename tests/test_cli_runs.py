"""The run commands through the CLI: run, runs, runs show, and stale marks in show."""

from __future__ import annotations

NOTE = """# Two snippets

```python run name=ok
from studylog import track
track.param(lr=0.1)
for step in range(50):
    track.log(step=step, loss=1 / (step + 1))
print("trained")
```

```python run name=bad
raise RuntimeError("shapes do not match")
```
"""


def test_run_streams_output_and_summarises(run_cli, write_note):
    write_note("two.md", NOTE)
    result = run_cli("run", "two", "--snippet", "ok")
    assert "trained" in result.stdout
    assert "succeeded" in result.stdout and "loss" in result.stdout
    assert "run #1" in result.stdout


def test_run_exits_non_zero_when_a_run_fails(run_cli, write_note):
    write_note("two.md", NOTE)
    result = run_cli("run", "two", "--all", ok=False)
    assert result.exit_code == 1
    assert "shapes do not match" in result.stdout
    assert [r["status"] for r in run_cli.json("runs")] == ["failed", "succeeded"]


def test_run_json_prints_the_finished_runs(run_cli, write_note):
    write_note("two.md", NOTE)
    result = run_cli("run", "two", "--snippet", "ok", "--seed", "7", "--json")
    import json

    (run,) = json.loads(result.stdout)
    assert {
        "id",
        "note",
        "snippet",
        "status",
        "started",
        "duration",
        "exit_code",
        "final_metrics",
    } <= set(run)
    assert run["status"] == "succeeded" and run["seed"] == 7 and run["note"] == "two.md"
    assert run["final_metrics"] == {"loss": 0.02}


def test_several_snippets_need_a_choice(run_cli, write_note):
    write_note("two.md", NOTE)
    result = run_cli("run", "two", ok=False)
    assert result.exit_code != 0
    assert "has 2 snippets (ok, bad)" in result.stderr and "--all" in result.stderr
    result = run_cli("run", "two", "--snippet", "nope", ok=False)
    assert "no snippet 'nope'" in result.stderr


def test_a_note_without_snippets_says_how_to_add_one(run_cli, write_note):
    write_note("plain.md", "# Plain\n\ntext\n")
    result = run_cli("run", "plain", ok=False)
    assert "has no snippets" in result.stderr and "python run" in result.stderr


def test_runs_and_runs_show(run_cli, write_note):
    write_note("two.md", NOTE)
    run_cli("run", "two", "--all", ok=False)
    listed = run_cli.json("runs", "two", "--snippet", "ok")
    assert [r["snippet"] for r in listed] == ["ok"]
    shown = run_cli.json("runs", "show", str(listed[0]["id"]))
    assert shown["output"]["stdout"] == "trained\n" and shown["params"] == {"lr": 0.1}
    assert shown["metrics"][0]["name"] == "loss" and shown["metrics"][0]["points"] == 50
    assert shown["environment"]["python"]
    text = run_cli("runs", "show", str(listed[0]["id"])).stdout
    assert "trained" in text and "param lr" in text and "loss" in text
    assert "┤" in text  # the plot's axis
    failed = run_cli("runs", "show", "2").stdout
    assert "RuntimeError: shapes do not match" in failed


def test_runs_show_of_an_unknown_run(run_cli, write_note):
    write_note("two.md", NOTE)
    result = run_cli("runs", "show", "99", ok=False)
    assert "no run 99" in result.stderr


def test_show_marks_a_stale_snippet(run_cli, write_note):
    write_note("two.md", NOTE)
    run_cli("run", "two", "--snippet", "ok")
    write_note("two.md", NOTE.replace("range(50)", "range(60)"))
    snippets = run_cli.json("show", "two")["snippets"]
    assert [(s["name"], s["status"], s["stale"]) for s in snippets] == [
        ("ok", "stale", True),
        ("bad", "never run", False),
    ]
    assert "stale" in run_cli("show", "two").stdout
