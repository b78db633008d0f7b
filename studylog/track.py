"""Log metrics and parameters from a snippet: `from studylog import track` (stdlib only).

Outside a studylog run every call checks its arguments and does nothing else, so an
experiment runs the same with plain `python`. Inside a run, points are buffered in typed
arrays and sent to studylog in batches over a pipe of their own (never stdout), at the latest
a quarter second after they were logged while the snippet keeps logging, and at exit.

    from studylog import track
    track.param(lr=0.1, optimizer="sgd")
    for step in range(100):
        ...
        track.log(step=step, loss=loss.item())
"""

from __future__ import annotations

import atexit
import base64
import json
import operator
import os
import time
from array import array
from typing import Any, SupportsFloat, SupportsIndex

__all__ = ["flush", "log", "log_metric", "param"]

from studylog.protocol import CHANNEL_ENV, COLUMNS, KEY, PARAMS, POINTS

# Send a batch when this many points wait, or this many seconds passed since the last one.
BATCH_POINTS = 16_384
BATCH_SECONDS = 0.25
_STEP_MIN, _STEP_MAX = -(2**63), 2**63 - 1  # steps travel as int64


class _Channel:
    """The write end of the metric pipe, with the points not yet sent."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.pid = os.getpid()  # a forked DataLoader worker must not send its copy
        self.t0 = time.monotonic()
        self.last_sent = self.t0
        self.keys: dict[str, int] = {}
        self.counts: list[int] = []  # points so far per key: the next point's place
        self._clear()

    def _clear(self) -> None:
        code = dict(COLUMNS)  # each column's array type, as the decoder reads it
        self.key, self.seq, self.step = array(code["key"]), array(code["seq"]), array(code["step"])
        self.value: array[float] = array(code["value"])
        self.ms = array(code["ms"])

    def _key(self, name: str) -> int:
        key = self.keys[name] = len(self.keys)
        self.counts.append(0)
        self.send({KEY: [key, name]})
        return key

    def add(self, step: int | None, metrics: dict[str, Any]) -> None:
        # The hot path of a snippet that logs every step: no call that is not needed.
        now = time.monotonic()
        ms = int((now - self.t0) * 1000)
        for name, value in metrics.items():
            value = _number(name, value) if type(value) is not float else value
            key = self.keys.get(name)
            if key is None:
                key = self._key(_name(name))
            seq = self.counts[key]
            self.counts[key] = seq + 1
            self.key.append(key)
            self.seq.append(seq)
            self.step.append(seq if step is None else step)
            self.value.append(value)
            self.ms.append(ms)
        if len(self.key) >= BATCH_POINTS or now - self.last_sent >= BATCH_SECONDS:
            self.flush()

    def flush(self) -> None:
        if os.getpid() != self.pid or not len(self.key):
            self._clear()
            return
        columns = {
            name: base64.b64encode(getattr(self, name).tobytes()).decode("ascii")
            for name, _ in COLUMNS
        }
        self._clear()
        self.last_sent = time.monotonic()
        self.send({POINTS: columns})

    def send(self, message: dict[str, Any]) -> None:
        self.send_line(json.dumps(message, default=repr, allow_nan=True))

    def send_line(self, line: str) -> None:
        """One message, already JSON."""
        if os.getpid() != self.pid:
            return
        data = (line + "\n").encode()
        try:
            while data:
                data = data[os.write(self.fd, data) :]
        except OSError:  # studylog went away: the run is being torn down, stop sending
            self.fd = -1
            self.pid = -1


def _open_channel() -> _Channel | None:
    raw = os.environ.get(CHANNEL_ENV)
    if not raw:
        return None
    try:
        fd = int(raw)
        os.fstat(fd)
    except (ValueError, OSError):
        return None
    channel = _Channel(fd)
    atexit.register(channel.flush)
    return channel


_channel = _open_channel()


def _number(name: str, value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"track: metric {name!r} must be a number, not {value!r}") from None
    except OverflowError:  # an int beyond the float range (about 1.8e308)
        raise ValueError(f"track: metric {name!r} is too large for a float") from None


def _text(text: str, what: str) -> None:
    """Refuse a string the store cannot keep: a lone surrogate is not UTF-8 text."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"track: {what} holds {text[exc.start]!r}, which is not text (a lone surrogate, as "
            "os.fsdecode gives for a file name that is not UTF-8); pass a str without it, "
            "e.g. os.fsencode(x).decode('utf-8', 'replace')"
        ) from None


def _name(name: Any) -> str:
    """A metric's name: a string of valid text."""
    if not isinstance(name, str):
        raise TypeError(f"track: a metric name must be a string, not {name!r}")
    _text(name, f"metric name {name!r}")
    return name


def _param_json(name: str, value: Any) -> str:
    """One param's value as JSON (a value that is not JSON as its repr); an error the snippet
    can read for what the store could not keep."""
    _text(name, f"param name {name!r}")
    try:
        text = json.dumps(value, default=repr, allow_nan=True, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise TypeError(f"track: param {name!r} cannot be recorded ({exc})") from None
    _text(text, f"param {name!r}")

    def whole(digits: str) -> int:
        number = int(digits)
        if not _STEP_MIN <= number <= _STEP_MAX:
            raise ValueError(
                f"track: param {name!r} holds the integer {digits}, beyond the 64-bit range "
                "the store keeps; pass it as a string (str(n)) or a float"
            )
        return number

    json.loads(text, parse_int=whole)
    return text


def _step(step: Any) -> int | None:
    if step is None:
        return None
    try:
        step = operator.index(step)
    except TypeError:
        raise TypeError(f"track: step must be a whole number, not {step!r}") from None
    if not _STEP_MIN <= step <= _STEP_MAX:
        raise ValueError(f"track: step {step} is out of range")
    return int(step)


def log(step: SupportsIndex | None = None, **metrics: SupportsFloat) -> None:
    """Record metric values at `step` (each metric's next step when omitted):
    `track.log(step=epoch, loss=loss.item(), acc=acc)`; anything `float()` reads is a value
    (a 0-d tensor too), anything `operator.index()` reads a step."""
    _record(step, metrics)


def log_metric(name: str, value: SupportsFloat, step: SupportsIndex | None = None) -> None:
    """Record one metric value: `track.log_metric("loss", 0.25, step=10)`."""
    if not isinstance(name, str):
        _name(name)
    _record(step, {name: value})


def _record(step: Any, metrics: dict[str, Any]) -> None:
    if step is not None and (type(step) is not int or not _STEP_MIN <= step <= _STEP_MAX):
        step = _step(step)
    if _channel is None:
        for name, value in metrics.items():
            _number(_name(name), value)
    else:
        _channel.add(step, metrics)


def param(**params: Any) -> None:
    """Record the run's parameters (learning rate, optimizer, ...): `track.param(lr=0.1)`.
    Values that are not JSON are recorded as their repr. A string with a lone surrogate or
    an integer beyond 64 bits raises ValueError (the store could not keep it)."""
    body = ", ".join(
        f"{json.dumps(name, ensure_ascii=False)}: {_param_json(name, value)}"
        for name, value in params.items()
    )
    if _channel is not None and params:
        _channel.send_line(f'{{"{PARAMS}": {{{body}}}}}')


def flush() -> None:
    """Send the points logged so far now (they are sent within a quarter second anyway while
    the snippet keeps logging, and at exit)."""
    if _channel is not None:
        _channel.flush()
