"""The metric path holds against odd values and a full disk: track refuses what the store
cannot keep, the channel decoder checks again (in linear time), the metric writer survives any
error and counts what it lost, `studylog run` exits non-zero then, and extreme values are
stored, drawn and summarised everywhere. Real runs, real files, a real SQLite store."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from studylog import track
from studylog.protocol import Columns
from studylog.runner.channel import MAX_LINE, ChannelDecoder
from studylog.runner.metric_writer import BackgroundMetricWriter
from studylog.store.db import open_store
from studylog.store.history import get_run, list_runs, series
from studylog.store.runs import NewRun, start_run
from tests.processes import wait_for

SURROGATE = os.fsdecode(b"data_\xff.csv")  # a file name that is not UTF-8: 'data_\udcff.csv'


def _json_runs(result) -> list[dict]:
    return json.loads(result.stdout)


def _store_of(workspace):
    return open_store(workspace.db_path)


# -- point 2: track refuses, the decoder checks again, the writer survives -------------------


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: track.param(data_file=SURROGATE), ValueError, "param 'data_file' holds"),
        (lambda: track.param(cfg={"files": [SURROGATE]}), ValueError, "lone surrogate"),
        (lambda: track.param(seed=2**64), ValueError, "beyond the 64-bit range"),
        (lambda: track.param(cfg={"sizes": [1, -(2**63) - 1]}), ValueError, "64-bit"),
        (lambda: track.param(cfg={(1, 2): "tuple key"}), TypeError, "param 'cfg' cannot be"),
        # Wrong types on purpose (a snippet is not type-checked): what track says of them.
        (lambda: track.log_metric(123, 0.5), TypeError, "metric name must be a string"),  # type: ignore[arg-type]
        (lambda: track.log(**{SURROGATE: 1.0}), ValueError, "metric name"),  # type: ignore[arg-type]
        (lambda: track.log(loss=10**400), ValueError, "too large for a float"),
    ],
)
def test_track_refuses_what_the_store_cannot_keep(call, error, message):
    # Outside a run as inside: the same script must not pass under plain python only.
    with pytest.raises(error, match=message):
        call()


def test_track_accepts_the_64_bit_extremes():
    track.param(lo=-(2**63), hi=2**63 - 1, name="데이터.csv", big=1e308)


ODD_PARAM = """# Odd

```python run name=odd
import os
from studylog import track
try:
    track.param(data_file=os.fsdecode(b"data_\\xff.csv"))
except ValueError as exc:
    print("refused:", exc)
try:
    track.log_metric(123, 0.5)
except TypeError as exc:
    print("refused:", exc)
track.param(lr=0.1, data_file="data.csv")
for step in range(10):
    track.log(step=step, loss=1.0 / (step + 1))
```
"""


def test_an_odd_param_is_refused_in_the_snippet_and_the_rest_is_kept(run_cli, write_note):
    write_note("odd.md", ODD_PARAM)
    result = run_cli("run", "odd", "--json")
    (run,) = _json_runs(result)
    assert run["status"] == "succeeded" and run["lost"] == 0 and run["warnings"] == []
    detail = run_cli.json("runs", "show", str(run["id"]))
    assert "refused: track: param 'data_file' holds '\\udcff'" in detail["output"]["stdout"]
    assert "refused: track: a metric name must be a string, not 123" in detail["output"]["stdout"]
    assert detail["params"] == {"lr": 0.1, "data_file": "data.csv"}
    assert [(m["name"], m["points"]) for m in detail["metrics"]] == [("loss", 10)]


HOSTILE_CHANNEL = """# Hostile

```python run name=hostile
import os
from studylog import track
fd = int(os.environ["STUDYLOG_TRACK_FD"])
# What a careless or hostile program could put on the channel, past track's checks.
os.write(fd, b'{"key": [18446744073709551616, "big"]}\\n')
os.write(fd, b'{"key": [7, "bad \\\\udcff"]}\\n')
os.write(fd, b'{"params": {"data_file": "data_\\\\udcff.csv", "lr": 0.1}}\\n')
os.write(fd, b'{"params": {"seed": 99999999999999999999}}\\n')
track.param(optimizer="sgd")
for step in range(100):
    track.log(step=step, loss=1.0 / (step + 1))
```
"""


def test_hostile_channel_messages_lose_only_themselves_and_run_exits_non_zero(
    run_cli, write_note, workspace
):
    write_note("hostile.md", HOSTILE_CHANNEL)
    result = run_cli("run", "hostile", "--json", ok=False)
    assert result.exit_code == 1
    (run,) = _json_runs(result)
    assert run["status"] == "succeeded" and run["lost"] == 4
    warnings = "\n".join(run["warnings"])
    assert "beyond 64 bits" in warnings and "param 'data_file'" in warnings, warnings
    db = _store_of(workspace)
    try:
        detail = get_run(db, run["id"])
        assert detail.params == {"lr": 0.1, "optimizer": "sgd"}
        assert [(m.name, m.points) for m in detail.metrics] == [("loss", 100)]
    finally:
        db.close()


def test_the_decoder_refuses_big_ints_and_text_that_is_not_text():
    decoder = ChannelDecoder()
    out = decoder.feed(
        b'{"key": [18446744073709551616, "big"]}\n'
        b'{"key": [-1, "negative"]}\n'
        b'{"key": [true, "bool"]}\n'
        b'{"key": [1, "bad \\udcff"]}\n'
        b'{"params": {"a": "\\udcff", "b": 2, "c": [1, {"d": "\\ud800"}]}}\n'
        b'{"env": {"cuda_device": "\\udcff"}}\n'
        b'{"key": [0, "loss"]}\n'
    )
    assert out.keys == [(0, "loss")]
    assert out.params == {"b": 2} and out.env == {}
    assert len(out.problems) == 7, out.problems


class _Exploding(list):
    """A column that fails as no data error would: the writer must survive even this."""

    def __iter__(self):
        raise RuntimeError("a bug in the writer's input")


def test_the_writer_survives_any_error_and_counts_what_it_lost(workspace):
    db = _store_of(workspace)
    run_id = start_run(db, NewRun(None, "a.md", "s", "fence", None, "", 0))
    db.close()
    writer = BackgroundMetricWriter(workspace.db_path, run_id, every=0.05, max_points=1000)
    writer.add_key(0, "loss")
    writer.add_key(1, "bad \udcff")  # past the decoder's checks: the writer checks too
    writer.add_params({"data_file": SURROGATE, "lr": 0.1})
    writer.add_points(Columns([0, 0], [0, 1], [0, 1], [1.0, 0.5], [0, 0]))
    writer.close()  # one flush with all of it
    writer = BackgroundMetricWriter(workspace.db_path, run_id, every=0.05, max_points=1000)
    writer.add_points(Columns(_Exploding([0]), [2], [2], [0.25], [0]))
    wait_for(lambda: writer.backlog == 0, "the failed flush")
    writer.add_points(Columns([0, 0], [3, 4], [3, 4], [0.2, 0.1], [0, 0]))  # the thread lives
    writer.close()
    assert writer.losses.points == 1, writer.losses
    assert "RuntimeError: a bug in the writer's input" in writer.losses.text()
    db = _store_of(workspace)
    try:
        detail = get_run(db, run_id)
        assert detail.params == {"lr": 0.1}
        assert series(db, run_id, "loss", max_points=None) == [
            (0, 1.0),
            (1, 0.5),
            (3, 0.2),
            (4, 0.1),
        ]
    finally:
        db.close()


def test_the_writer_counts_lost_params_and_names(workspace):
    db = _store_of(workspace)
    run_id = start_run(db, NewRun(None, "a.md", "s", "fence", None, "", 0))
    db.close()
    writer = BackgroundMetricWriter(workspace.db_path, run_id, every=0.05, max_points=1000)
    writer.add_key(1, "bad \udcff")
    writer.add_params({"data_file": SURROGATE, "lr": 0.1})
    writer.close()
    assert (writer.losses.params, writer.losses.keys) == (1, 1)
    text = writer.losses.text()
    assert text.startswith("1 param and 1 metric name could not be stored: ")
    assert "param 'data_file'" in text


# -- point 3: a full disk --------------------------------------------------------------------

FLOOD = """# Flood

```python run name=flood
from studylog import track
for step in range(2_000_000):
    track.log(step=step, loss=1.0 / (step + 1))
```
"""


@pytest.fixture
def tiny_store(workspace):
    """The workspace's .studylog/ on a 3 MB tmpfs of its own (needs root or CAP_SYS_ADMIN)."""
    folder = workspace.root / ".studylog"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(
            "a full disk needs a small filesystem: mounting a 3 MB tmpfs needs root or "
            f"CAP_SYS_ADMIN, which this test does not have ({mounted.stderr.strip()})"
        )
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_full_disk_says_how_many_points_were_lost_and_where(workspace, write_note, tiny_store):
    write_note("flood.md", FLOOD)
    ws_root = str(workspace.root)
    done = subprocess.run(
        [sys.executable, "-m", "studylog", "run", "flood", "--json", "--workspace", ws_root],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 1, done.stderr
    (run,) = json.loads(done.stdout)
    warnings = "\n".join(run["warnings"])
    assert f"no free space on {tiny_store}" in warnings, warnings
    assert "no transaction is active" not in warnings
    db = _store_of(workspace)
    try:
        (stored,) = get_run(db, run["id"]).metrics
    finally:
        db.close()
    lost = 2_000_000 - stored.points
    assert lost > 0 and run["lost"] == lost
    assert f"{lost:,} metric points could not be stored" in warnings


# -- point 15: extreme values everywhere -----------------------------------------------------

EXTREMES = [1e308, -1e308, 1.7976931348623157e308, -1.7976931348623157e308, 5e-324, 0.0]
EXTREME_NOTE = """# Extremes

```python run name=extremes
from studylog import track
values = [1e308, -1e308, float("nan"), float("inf"), float("-inf"),
          1.7976931348623157e308, -1.7976931348623157e308, 5e-324, -5e-324, 0.0]
for step, value in enumerate(values):
    track.log(step=step, loss=value)
for step in range(200):
    track.log(step=step, huge=1e308 if step % 2 else -1e308)
```
"""
PLAIN_NOTE = """# Plain

```python run name=plain
from studylog import track
for step in range(5):
    track.log(step=step, loss=1.0 / (step + 1))
```
"""


def test_extreme_values_are_stored_drawn_and_summarised(run_cli, write_note, workspace, tmp_path):
    write_note("extremes.md", EXTREME_NOTE)
    write_note("plain.md", PLAIN_NOTE)
    summary = run_cli("run", "extremes")
    assert "min -inf" in summary.stdout and "last 1e+308" in summary.stdout
    run_cli("run", "plain")
    (run_id,) = [r["id"] for r in run_cli.json("runs", "extremes")]
    shown = run_cli("runs", "show", str(run_id))
    assert "loss (×1e308)" in shown.stdout and "huge (×1e308)" in shown.stdout
    detail = run_cli.json("runs", "show", str(run_id))
    loss = next(m for m in detail["metrics"] if m["name"] == "loss")
    assert loss["points"] == 10 and loss["max"] is None  # inf has no JSON: null
    db = _store_of(workspace)
    try:
        values = [v for _, v in series(db, run_id, "loss", max_points=None)]
    finally:
        db.close()
    assert values[:2] == [1e308, -1e308] and values[2:4] == [float("inf"), float("-inf")]
    for fmt in ("md", "html", "ipynb"):
        out = tmp_path / f"out-{fmt}"
        result = run_cli("export", "--all", "--format", fmt, "--out", str(out))
        assert "Exported 2 notes" in result.stdout
    assert (tmp_path / "out-html" / "index.html").is_file()
    pngs = list((tmp_path / "out-md").rglob("*.png"))
    assert len(pngs) == 3 and all(p.read_bytes().startswith(b"\x89PNG") for p in pngs)


def test_number_helpers_hold_at_the_float_extremes():
    from studylog.cli.run_views import metric_plot, sparkline
    from studylog.export.plots import curve_png
    from studylog.labels import fraction, number_text, plot_scale

    top = 1.7976931348623157e308
    assert fraction(0.0, -top, top) == 0.5 and fraction(top, -top, top) == 1.0
    assert fraction(5e-324, 0.0, 5e-324) == 1.0
    assert plot_scale([top, float("inf"), None]) == (1e308, "×1e308")
    assert plot_scale([1.0, 5e-324]) == (1.0, "")
    assert [number_text(v) for v in (top, float("-inf"), float("nan"))] == [
        "1.798e+308",
        "-inf",
        "nan",
    ]
    for values in (EXTREMES, [top, top], [5e-324, 0.0]):
        assert len(sparkline(values * 40, width=20)) == 20
        metric_plot("x", list(enumerate(values)), 80, 15)
        assert curve_png({"x": list(enumerate(values))}, "t", "y").startswith(b"\x89PNG")
    metric_plot("x", [(-(2**63), 1.0), (2**63 - 1, 2.0)], 80, 15)  # the step extremes too


async def test_the_tui_plot_draws_extreme_values(tmp_path):
    from studylog.tui.app import StudylogApp
    from studylog.tui.widgets.metric_plot import MetricPlot
    from tests.tui_helpers import main_screen, make_workspace, settings, studylog_app, until

    ws = make_workspace(tmp_path / "ws", {"extremes.md": EXTREME_NOTE})
    async with StudylogApp(ws, settings()).run_test(size=(140, 45)) as pilot:
        screen = main_screen(pilot)
        await until(pilot, lambda: screen.notes, "the notes to load")
        screen.open_note("extremes.md")
        await until(pilot, lambda: screen.detail is not None, "the note to open")
        await pilot.pause()
        await pilot.press("r")
        await until(
            pilot, lambda: screen.running is None and list_runs(studylog_app(pilot).db), "the run"
        )
        plot = pilot.app.query_one(MetricPlot)
        await until(pilot, lambda: len(plot.curves.get("huge", [])) == 200, "the curve")
        plot.draw()
        await pilot.pause()
        assert "×1e308" in plot.plt.build()
        assert pilot.app.is_running


# -- point 16 (first half): a channel line without a newline ----------------------------------


def test_an_endless_line_is_skipped_in_linear_time_with_one_warning():
    decoder = ChannelDecoder()
    chunk = b"x" * (1 << 20)  # as the runner reads the channel
    problems = []
    for _ in range(300):  # 300 MB without a newline
        problems += decoder.feed(chunk).problems
        assert len(decoder.pending) <= MAX_LINE
    out = decoder.feed(b'tail\n{"key": [0, "loss"]}\n')
    assert problems == [f"a line of over {MAX_LINE // 2**20} MiB; dropped"]
    assert out.keys == [(0, "loss")] and out.problems == []


def test_a_line_just_under_the_cap_is_read_across_many_chunks():
    decoder = ChannelDecoder()
    name = "n" * (MAX_LINE - 100)
    line = json.dumps({"key": [0, name]}).encode() + b"\n"
    keys = []
    for start in range(0, len(line), 65536):
        keys += decoder.feed(line[start : start + 65536]).keys
    assert keys == [(0, name)]


ENDLESS_LINE = """# Endless

```python run name=endless timeout=300
import os
from studylog import track
fd = int(os.environ["STUDYLOG_TRACK_FD"])
chunk = b"x" * (1 << 20)
for _ in range(300):  # a 300 MB line without a newline
    os.write(fd, chunk)
os.write(fd, b"\\n")
for step in range(10):
    track.log(step=step, loss=1.0 / (step + 1))
```
"""


def test_a_300_mb_channel_line_does_not_stall_the_run(run_cli, write_note, workspace):
    write_note("endless.md", ENDLESS_LINE)
    result = run_cli("run", "endless", "--json", ok=False)
    (run,) = _json_runs(result)
    assert run["status"] == "succeeded", run
    assert [w for w in run["warnings"] if "MiB; dropped" in w] == [
        f"metric channel: ignored a line of over {MAX_LINE // 2**20} MiB; dropped"
    ]
    assert result.exit_code == 1 and run["lost"] == 1
    assert run["final_metrics"] == {"loss": 0.1}
