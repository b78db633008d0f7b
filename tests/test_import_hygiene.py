"""Layer boundaries: each layer imported in a fresh interpreter pulls in only what it should."""

import json
import subprocess
import sys

import pytest

HEAVY = {"torch", "numpy", "textual"}


def _modules_after(statement: str) -> set[str]:
    code = f"import sys, json\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return {m.split(".")[0] for m in json.loads(out.stdout)}


@pytest.mark.parametrize(
    "statement",
    [
        "import studylog",
        "import studylog.notes.parse",
        "import studylog.store.index, studylog.store.search, studylog.store.queries",
        "import studylog.cli",
        "import studylog.runner.process",
        "import studylog.runner.service, studylog.runner.snippets, studylog.cli.run",
        "import studylog.cli.runs",
        "import studylog.cli.run_views, studylog.store.history",
        "import studylog.export.exporter, studylog.export.html, studylog.export.notebook",
        "import studylog.runner.session, studylog.runner.metric_writer",
    ],
)
def test_no_layer_imports_torch_numpy_or_textual(statement):
    assert not _modules_after(statement) & HEAVY


def test_notes_layer_does_not_import_the_store_or_the_cli():
    loaded = _modules_after("import studylog.notes.parse, studylog.notes.read")
    assert "sqlite_utils" not in loaded and "click" not in loaded and "rich" not in loaded


def test_store_layer_does_not_import_the_cli_or_rich():
    code = "import studylog.store.index, studylog.store.queries, studylog.store.search"
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            f"{code}\nimport sys\nprint('studylog.cli' in sys.modules, 'rich' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.split() == ["False", "False"]


def test_bare_package_import_is_light():
    loaded = _modules_after("import studylog")
    assert not loaded & {"sqlite_utils", "markdown_it", "yaml", "click", "rich"}


def test_track_is_stdlib_only():
    loaded = _modules_after("from studylog import track")
    assert not loaded & (HEAVY | {"rich", "sqlite_utils", "click", "sqlite3", "yaml"})


def test_the_bootstrap_imports_nothing_heavy_before_the_snippet():
    loaded = _modules_after("import studylog.runner.bootstrap")
    assert not loaded & (HEAVY | {"rich", "sqlite_utils", "click", "sqlite3", "markdown_it"})


def test_the_tui_imports_neither_torch_nor_numpy():
    loaded = _modules_after("import studylog.tui.app")
    assert "textual" in loaded
    assert not loaded & {"torch", "numpy", "pandas"}


@pytest.mark.parametrize(
    "statement",
    [
        "import studylog.runner.session, studylog.runner.service, studylog.runner.metric_writer",
        "import studylog.export.exporter, studylog.export.html, studylog.export.notebook",
    ],
)
def test_runner_and_export_draw_nothing(statement):
    """Rich and Textual are the CLI's and the TUI's: the layers below them only compute."""
    assert not _modules_after(statement) & {"rich", "textual"}
