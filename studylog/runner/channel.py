"""The parent's end of the metric channel: lines of JSON from `studylog.track`, decoded into
keys, points, params and environment facts. Garbage is counted and described, never fatal."""

from __future__ import annotations

import base64
import binascii
import json
from array import array
from dataclasses import dataclass, field
from typing import Any

from studylog.protocol import COLUMNS, COST, ENV, KEY, PARAMS, POINTS, Columns

# A line longer than this is not something track.py sent (its batches stay far below).
MAX_LINE = 64 * 1024 * 1024
_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1  # what SQLite keeps as an integer


@dataclass
class Decoded:
    """What one chunk of the channel held."""

    keys: list[tuple[int, str]] = field(default_factory=list)
    points: list[Columns] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    env: dict[str, Any] = field(default_factory=dict)
    cost: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


class ChannelDecoder:
    """Feed it bytes as they arrive; it splits lines and decodes each. Linear in the bytes fed:
    only a new chunk is searched for newlines, and an unfinished line grows in place."""

    def __init__(self) -> None:
        self.pending = bytearray()  # the start of a line whose newline has not come yet
        self.skipping = False  # inside an over-long line: drop until its end

    def feed(self, chunk: bytes) -> Decoded:
        out = Decoded()
        start = 0
        while (end := chunk.find(b"\n", start)) >= 0:
            piece = chunk[start:end]
            start = end + 1
            if self.skipping:
                self.skipping = False
            elif len(self.pending) + len(piece) > MAX_LINE:
                self._too_long(out)
                self.skipping = False
            elif self.pending:
                self.pending += piece
                line, self.pending = bytes(self.pending), bytearray()
                self._decode(line, out)
            elif piece:
                self._decode(piece, out)
        if start < len(chunk) and not self.skipping:
            if len(self.pending) + len(chunk) - start > MAX_LINE:
                self._too_long(out)
            else:
                self.pending += chunk[start:]
        return out

    def _too_long(self, out: Decoded) -> None:
        """Drop the line being read, once, and skip the rest of it as it comes."""
        out.problems.append(f"a line of over {MAX_LINE // 2**20} MiB; dropped")
        self.pending, self.skipping = bytearray(), True

    def close(self) -> Decoded:
        """The end of the channel: a last line without its newline was cut off."""
        out = Decoded()
        if self.pending and not self.skipping:
            out.problems.append(f"an unfinished message: {_excerpt(bytes(self.pending))}")
        self.pending = bytearray()
        return out

    def _decode(self, line: bytes, out: Decoded) -> None:
        try:
            message = json.loads(line, parse_int=_int64)
            if not isinstance(message, dict) or len(message) != 1:
                raise ValueError("not a studylog message")
            ((kind, body),) = message.items()
            if kind == POINTS:
                out.points.append(_points(body))
            elif kind == KEY:
                key, name = body
                if type(key) is not int or key < 0 or not isinstance(name, str):
                    raise ValueError("bad key")
                _text(name)
                out.keys.append((key, name))
            elif kind in (PARAMS, ENV, COST) and isinstance(body, dict):
                # One bad value loses itself, not the values sent with it.
                kept = {PARAMS: out.params, ENV: out.env, COST: out.cost}[kind]
                for name, value in body.items():
                    try:
                        _text(json.dumps([name, value], ensure_ascii=False))
                    except ValueError as exc:
                        out.problems.append(f"{kind[:-1]} {name!r}: {exc}")
                    else:
                        kept[name] = value
            else:
                raise ValueError(f"unknown message {kind!r}")
        except (ValueError, TypeError, KeyError, binascii.Error) as exc:
            out.problems.append(f"{exc}: {_excerpt(line)}")


def _int64(digits: str) -> int:
    """A JSON integer, refused beyond what SQLite keeps (a Python int has no bound)."""
    number = int(digits)
    if not _INT_MIN <= number <= _INT_MAX:
        raise ValueError(f"the integer {digits[:30]} is beyond 64 bits")
    return number


def _text(text: str) -> None:
    """Refuse a string the store cannot keep (a lone surrogate is not UTF-8)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"{text[exc.start]!r} is not text (a lone surrogate)") from None


def _points(body: Any) -> Columns:
    """Five base64 columns of equal length → typed arrays (key, seq, step, value, ms)."""
    if not isinstance(body, dict):
        raise ValueError("points must be columns")
    columns = []
    for name, typecode in COLUMNS:
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
