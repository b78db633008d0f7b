"""The metric channel's wire format, defined once: what `studylog.track` sends from the
snippet and `runner.channel` decodes in studylog (stdlib only: the snippet imports it)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

# The environment variable through which studylog hands a run its channel's file descriptor.
CHANNEL_ENV = "STUDYLOG_TRACK_FD"

# One JSON object a line, with one member whose name is the message's kind:
KEY = "key"  # {"key": [key, name]}: a metric's name gets its small integer key
POINTS = "points"  # {"points": {column: base64 of its array}}: a batch of points
PARAMS = "params"  # {"params": {name: value}}
ENV = "env"  # {"env": {name: value}}: facts of the child's environment (CUDA, ...)
# {"cost": {name: value}}: what the child alone can tell of its cost, sent as it exits:
# cuda_device, cuda_peak_allocated and cuda_peak_reserved (bytes) when it used CUDA
COST = "cost"

# A batch of points: these columns, each an array of this type code, all of one length.
COLUMNS = (("key", "q"), ("seq", "q"), ("step", "q"), ("value", "d"), ("ms", "q"))


class Columns(NamedTuple):
    """Points as the metric channel delivers them: equal-length columns, one row a point."""

    key: Sequence[int]  # the run's number for the metric's name
    seq: Sequence[int]  # the point's place in its series
    step: Sequence[int]
    value: Sequence[float]
    ms: Sequence[int]  # milliseconds since the run started

    def __len__(self) -> int:  # the number of points, not of columns
        return len(self.key)

    def rows(self) -> Iterator[tuple[Any, ...]]:
        return zip(self.key, self.seq, self.step, self.value, self.ms, strict=True)
