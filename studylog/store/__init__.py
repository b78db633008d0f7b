"""SQLite: schema and migrations, indexing, queries, search, runs (through sqlite-utils)."""

import sys


def _import_sqlite_utils() -> None:
    """sqlite-utils imports NumPy and pandas when they are installed, for column types
    studylog never stores: about 40 ms of every command's start, measured. Import it with
    them hidden; they stay importable afterwards (a snippet's process is another one)."""
    if "sqlite_utils" in sys.modules:
        return
    hidden = [name for name in ("numpy", "pandas") if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        import sqlite_utils  # noqa: F401
    finally:
        for name in hidden:
            if sys.modules.get(name, ...) is None:
                del sys.modules[name]


_import_sqlite_utils()
