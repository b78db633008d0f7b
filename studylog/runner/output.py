"""Captured output with a cap: the head and the tail are kept, the middle counted."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass
class CappedOutput:
    """Lines of one stream, at most `cap` characters kept: the first half and the last half."""

    cap: int = 1_000_000
    head: list[str] = field(default_factory=list)
    tail: deque[str] = field(default_factory=deque)
    head_size: int = 0
    tail_size: int = 0
    dropped_lines: int = 0
    dropped_chars: int = 0
    added: int = 0  # lines seen, kept or not: tells a reader whether anything changed

    def add(self, line: str) -> None:
        self.added += 1
        if self.head_size + len(line) <= self.cap // 2 and not self.tail:
            self.head.append(line)
            self.head_size += len(line)
            return
        self.tail.append(line)
        self.tail_size += len(line)
        while self.tail_size > self.cap - self.cap // 2 and len(self.tail) > 1:
            old = self.tail.popleft()
            self.tail_size -= len(old)
            self.dropped_lines += 1
            self.dropped_chars += len(old)

    def text(self) -> str:
        """The kept output, with a marker where lines were left out."""
        if not self.dropped_lines:
            return "".join(self.head) + "".join(self.tail)
        marker = f"\n… {self.dropped_lines} lines ({self.dropped_chars} characters) left out …\n"
        return "".join(self.head) + marker + "".join(self.tail)

    def last_line(self) -> str | None:
        """The last non-blank line, e.g. the error line of a traceback."""
        for line in reversed([*self.head, *self.tail]):
            if line.strip():
                return line.strip()
        return None
