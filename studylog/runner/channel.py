"""The parent's end of the metric channel: lines of JSON from `studylog.track`, decoded into
keys, points, params and environment facts. Garbage is counted and described, never fatal."""

from __future__ import annotations

import base64
import binascii
import json
from array import array
from dataclasses import dataclass, field
from typing import Any

from studylog.store.runs import Columns

# A line longer than this is not something track.py sent (its batches stay far below).
MAX_LINE = 64 * 1024 * 1024
_COLUMNS = (("key", "q"), ("seq", "q"), ("step", "q"), ("value", "d"), ("ms", "q"))


@dataclass
class Decoded:
    """What one chunk of the channel held."""

    keys: list[tuple[int, str]] = field(default_factory=list)
    points: list[Columns] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    env: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


class ChannelDecoder:
    """Feed it bytes as they arrive; it splits lines and decodes each."""

    def __init__(self) -> None:
        self.pending = b""
        self.skipping = False  # inside an over-long line: drop until its end

    def feed(self, chunk: bytes) -> Decoded:
        out = Decoded()
        self.pending += chunk
        *lines, self.pending = self.pending.split(b"\n")
        for line in lines:
            if self.skipping:
                self.skipping = False
                continue
            if line:
                self._decode(line, out)
        if len(self.pending) > MAX_LINE:
            out.problems.append(f"a line of over {MAX_LINE // 2**20} MiB; dropped")
            self.pending, self.skipping = b"", True
        return out

    def close(self) -> Decoded:
        """The end of the channel: a last line without its newline was cut off."""
        out = Decoded()
        if self.pending and not self.skipping:
            out.problems.append(f"an unfinished message: {_excerpt(self.pending)}")
        self.pending = b""
        return out

    def _decode(self, line: bytes, out: Decoded) -> None:
        try:
            message = json.loads(line)
            if not isinstance(message, dict) or len(message) != 1:
                raise ValueError("not a studylog message")
            ((kind, body),) = message.items()
            if kind == "points":
                out.points.append(_points(body))
            elif kind == "key":
                key, name = body
                if not isinstance(key, int) or not isinstance(name, str):
                    raise ValueError("bad key")
                out.keys.append((key, name))
            elif kind == "params" and isinstance(body, dict):
                out.params.update(body)
            elif kind == "env" and isinstance(body, dict):
                out.env.update(body)
            else:
                raise ValueError(f"unknown message {kind!r}")
        except (ValueError, TypeError, KeyError, binascii.Error) as exc:
            out.problems.append(f"{exc}: {_excerpt(line)}")


def _points(body: Any) -> Columns:
    """Five base64 columns of equal length → typed arrays (key, seq, step, value, ms)."""
    if not isinstance(body, dict):
        raise ValueError("points must be columns")
    columns = []
    for name, typecode in _COLUMNS:
        column = array(typecode)
        column.frombytes(base64.b64decode(body[name], validate=True))
        columns.append(column)
    if len({len(c) for c in columns}) != 1:
        raise ValueError("point columns of different lengths")
    key, seq, step, value, ms = columns
    return Columns(key, seq, step, value, ms)


def _excerpt(line: bytes) -> str:
    text = line[:80].decode("utf-8", errors="replace")
    return repr(text + ("…" if len(line) > 80 else ""))
