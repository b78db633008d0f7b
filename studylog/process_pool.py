"""A pool of worker processes for a command's heavy work (indexing many notes): spawned, each
dead with the process that started it (a `kill -9` of `studylog index` leaves no worker
behind), and ended with the block however it ends, Ctrl-C and SIGTERM included. Stdlib only."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from multiprocessing import resource_tracker

from studylog.procctl import die_with_parent

_INTERRUPTS = {signal.SIGINT, signal.SIGTERM}


def _worker_start(parent: int) -> None:
    """Initializer of an index worker: it dies with the process that started it (a
    `kill -9` of `studylog index` must not leave workers behind), and leaves Ctrl-C to
    the parent, which stops the pool itself."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _INTERRUPTS)  # held by the parent as it spawned
    linked = die_with_parent(signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the link was made
        os._exit(1)
    if not linked:  # no prctl: watch for the parent's end instead
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


@contextmanager
def interruptible_pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    """A pool of `workers` spawned processes that ends with the block, however it ends
    (pending work cancelled, workers joined). In the main thread SIGTERM ends the block
    like Ctrl-C, so `studylog index` shuts its pool down and exits non-zero; the TUI
    indexes in a thread, which may not set handlers (its workers die with it anyway)."""
    main = threading.current_thread() is threading.main_thread()

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt) if main else None
    try:
        # spawn, not fork: the TUI indexes from a thread, and forking a threaded process
        # is unsafe.
        pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_worker_start,
            initargs=(os.getpid(),),
        )
        try:
            yield pool
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


@contextmanager
def interrupts_held() -> Iterator[None]:
    """SIGINT and SIGTERM wait until the block ends: an interrupt in the middle of a spawn
    leaves a worker half made (it dies reading its start-up data, with a traceback)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    # Starting the resource tracker unblocks both signals, so it must be running first.
    resource_tracker.ensure_running()
    signal.pthread_sigmask(signal.SIG_BLOCK, _INTERRUPTS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _INTERRUPTS)
