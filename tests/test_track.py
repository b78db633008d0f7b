"""studylog.track outside a run (checks, does nothing) and the parent's channel decoder."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from array import array
from collections.abc import Callable

import pytest

from studylog import track
from studylog.runner.channel import MAX_LINE, ChannelDecoder


def test_outside_a_run_track_does_nothing():
    code = (
        "from studylog import track\n"
        "track.param(lr=0.1)\n"
        "for i in range(3): track.log(step=i, loss=0.5)\n"
        "track.log_metric('acc', 1, step=2)\ntrack.flush()\n"
        "print(track._channel)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "None\n" and out.stderr == ""


@pytest.mark.parametrize(
    ("call", "message"),
    [
        # Wrong types on purpose (a snippet is not type-checked): what track says of them.
        (lambda: track.log(step=0, loss="low"), "metric 'loss' must be a number"),  # type: ignore[arg-type]
        (lambda: track.log(step=1.5, loss=1.0), "step must be a whole number"),  # type: ignore[arg-type]
        (lambda: track.log_metric("acc", None), "metric 'acc' must be a number"),  # type: ignore[arg-type]
    ],
)
def test_arguments_are_checked_in_and_out_of_runs(call: Callable[[], None], message: str) -> None:
    # The same script must not fail under studylog yet pass under plain python.
    with pytest.raises(TypeError, match=message):
        call()


def test_numbers_of_other_kinds_are_accepted():
    class Scalar:  # like a 0-d tensor: float() and __index__ work
        def __float__(self):
            return 0.25

        def __index__(self):
            return 3

    track.log(step=Scalar(), loss=Scalar())


def _points(**columns: list) -> bytes:
    typecodes = {"key": "q", "seq": "q", "step": "q", "value": "d", "ms": "q"}
    body = {
        name: base64.b64encode(array(typecodes[name], values).tobytes()).decode()
        for name, values in columns.items()
    }
    return json.dumps({"points": body}).encode() + b"\n"


def test_decoder_reads_keys_points_params_and_env_across_chunks():
    data = (
        b'{"key": [0, "loss"]}\n'
        + _points(key=[0, 0], seq=[0, 1], step=[0, 10], value=[1.0, 0.5], ms=[1, 2])
        + b'{"params": {"lr": 0.1}}\n{"env": {"torch_imported": true}}\n'
    )
    decoder = ChannelDecoder()
    first = decoder.feed(data[:7])
    rest = decoder.feed(data[7:])
    assert first.keys == [] and first.problems == []
    assert rest.keys == [(0, "loss")]
    assert [list(batch.rows()) for batch in rest.points] == [
        [(0, 0, 0, 1.0, 1), (0, 1, 10, 0.5, 2)]
    ]
    assert rest.params == {"lr": 0.1} and rest.env == {"torch_imported": True}
    assert decoder.close().problems == []


@pytest.mark.parametrize(
    "line",
    [
        b"garbage \xff",
        b"[1, 2, 3]",
        b'{"points": {"key": "!!!"}}',
        b'{"points": 5}',
        b'{"key": ["zero", "loss"]}',
        b'{"hello": 1}',
        json.dumps(
            {"points": {"key": "AAAAAAAAAAA=", "seq": "", "step": "", "value": "", "ms": ""}}
        ).encode(),
    ],
)
def test_decoder_describes_garbage_and_goes_on(line):
    decoder = ChannelDecoder()
    out = decoder.feed(line + b"\n" + b'{"key": [1, "acc"]}\n')
    assert len(out.problems) == 1
    assert out.keys == [(1, "acc")] and out.points == []


def test_decoder_drops_an_endless_line_without_holding_it():
    decoder = ChannelDecoder()
    chunk = b"x" * (1 << 20)
    problems = []
    for _ in range(MAX_LINE // len(chunk) + 2):
        problems += decoder.feed(chunk).problems
    assert len(problems) == 1 and len(decoder.pending) <= len(chunk)
    out = decoder.feed(b'tail\n{"key": [0, "loss"]}\n')
    assert out.keys == [(0, "loss")] and out.problems == []


def test_an_unfinished_last_message_is_reported():
    decoder = ChannelDecoder()
    decoder.feed(b'{"key": [0, "lo')
    assert decoder.close().problems
