"""Workspace discovery and studylog.toml settings."""

from pathlib import Path

import pytest

from studylog.paths import WorkspaceError, find_workspace
from studylog.settings import Settings, SettingsError, load_settings


def test_nearest_folder_up_with_notes_or_settings(tmp_path):
    (tmp_path / "outer" / "notes").mkdir(parents=True)
    inner = tmp_path / "outer" / "inner"
    (inner / "deep").mkdir(parents=True)
    (inner / "studylog.toml").write_text("")
    assert find_workspace(cwd=inner / "deep").root == inner
    assert find_workspace(cwd=tmp_path / "outer" / "notes").root == tmp_path / "outer"


def test_explicit_folder_that_is_not_a_workspace(tmp_path):
    with pytest.raises(WorkspaceError, match="studylog init"):
        find_workspace(tmp_path)
    with pytest.raises(WorkspaceError, match="not a folder"):
        find_workspace(tmp_path / "missing")


def test_environment_variable(tmp_path, monkeypatch):
    (tmp_path / "notes").mkdir()
    monkeypatch.setenv("STUDYLOG_WORKSPACE", str(tmp_path))
    assert find_workspace(cwd=Path("/")).root == tmp_path


def test_defaults_when_there_is_no_file(tmp_path):
    assert load_settings(tmp_path / "studylog.toml") == Settings()


def test_values_are_read_and_typed(tmp_path):
    path = tmp_path / "studylog.toml"
    path.write_text('[notes]\ndate_order = "day-first"\n[run]\ntimeout = 30\nseed = 7\n')
    settings = load_settings(path)
    assert settings.notes.day_first
    assert settings.run.timeout == 30.0 and settings.run.seed == 7
    assert settings.run.memory_limit_mb == 4096


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[run]\ntimeout = 'soon'\n", "timeout should be a float"),
        ("[run]\ncolour = 1\n", "unknown setting"),
        ("[paint]\n", "unknown section"),
        ("not toml = = 1", "cannot read settings"),
    ],
)
def test_bad_settings_name_the_file_and_key(tmp_path, text, message):
    path = tmp_path / "studylog.toml"
    path.write_text(text)
    with pytest.raises(SettingsError, match=message) as info:
        load_settings(path)
    assert str(path) in str(info.value)


def test_schema_version_counts_the_migrations(memory_db):
    from studylog.store.schema import SCHEMA_VERSION, migrations

    assert len(migrations.applied(memory_db)) == SCHEMA_VERSION
    assert memory_db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_store_is_wal_with_busy_timeout(store):
    assert store.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000


def test_store_from_a_newer_studylog_is_refused(workspace, store):
    from studylog.store.db import StoreError, open_store

    store.execute("PRAGMA user_version = 99")
    with pytest.raises(StoreError, match="upgrade studylog"):
        open_store(workspace.db_path)
