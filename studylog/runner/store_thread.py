"""The runner's own connection to the store, used from one thread of its own: a run's record
is written and its history read there, never on the caller's event loop (the TUI's loop
draws; a busy store may make a statement wait up to the busy timeout)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from pathlib import Path

    import sqlite_utils

T = TypeVar("T")


class StoreThread:
    """One connection to the store at `path`, opened in and used by one thread, so the
    statements it runs keep their order (start, output saves, finish)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="studylog-store")
        self._db: sqlite_utils.Database | None = None
        self._closed = threading.Event()

    def _here(self, work: Callable[[sqlite_utils.Database], T]) -> T:
        if self._db is None:
            from studylog.store.db import connect

            self._db = connect(self.path)
        return work(self._db)

    def submit(self, work: Callable[[sqlite_utils.Database], T]) -> Future[T]:
        """Run `work(db)` in the store's thread; its future."""
        return self._pool.submit(self._here, work)

    async def call(self, work: Callable[[sqlite_utils.Database], T]) -> T:
        """Run `work(db)` in the store's thread and wait for it without blocking the loop."""
        return await asyncio.wrap_future(self.submit(work))

    def close(self) -> None:
        """Close the connection and end the thread (waits for what was submitted)."""
        if self._closed.is_set():
            return
        self._closed.set()

        def close() -> None:
            if self._db is not None:
                self._db.close()
                self._db = None

        self._pool.submit(close)
        self._pool.shutdown(wait=True)
