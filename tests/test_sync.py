"""`studylog sync` and `runs --remote` against a real MLflow tracking server (SQLite backend in
a temporary folder), read back through MLflow's own client."""

from __future__ import annotations

import functools
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import Cli
from tests.mlflow_helpers import MlflowServer, free_port

pytest.importorskip("mlflow.server", reason="the sync tests need `pip install -e '.[sync-server]'`")

from mlflow import MlflowClient


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = MlflowServer(tmp_path_factory.mktemp("mlflow"))
    try:
        server.start()
        yield server.url
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _quick_failures(monkeypatch: pytest.MonkeyPatch) -> None:
    # MLflow's client retries a failed request for minutes by default.
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


SNIPPET = """\
from studylog import track
track.param(lr=0.1, optimizer="adam", note_text="x" * 7000)
for step in range({steps}):
    track.log(step=step, **{{f"m{{k}}": {scale} / (step + 1) + k for k in range({keys})}})
print("trained")
"""

FAILING = """\
from studylog import track
track.log(step=0, loss=1.0)
track.log(step=1, loss=float("nan"))
raise SystemExit(3)
"""


def _workspace(
    tmp_path: Path,
    name: str,
    server: str | None,
    *,
    steps: int = 1500,
    keys: int = 2,
    scale: float = 1.0,
    experiment: str | None = None,
    failing: bool = False,
    note: str = "train.md",
) -> Cli:
    root = tmp_path / name
    (root / "notes").mkdir(parents=True)
    (root / "experiments").mkdir()
    settings = "[sync]\n"
    if server is not None:
        settings += f'mlflow_uri = "{server}"\n'
    if experiment is not None:
        settings += f'experiment = "{experiment}"\n'
    (root / "studylog.toml").write_text(settings, encoding="utf-8")
    body = f"# Training\n\n```python run name=adam\n{SNIPPET.format(steps=steps, keys=keys, scale=scale)}```\n"
    if failing:
        body += f"\n```python run name=boom\n{FAILING}```\n"
    (root / "notes" / note).write_text(body, encoding="utf-8")
    cli = Cli(root)
    cli("run", note, "--snippet", "adam")
    if failing:
        cli("run", note, "--snippet", "boom", ok=False)
    return cli


def _sync(cli: Cli, *args: str) -> dict:
    result = cli("sync", "--json", *args)
    return json.loads(result.stdout)


def _experiment_runs(client: MlflowClient, experiment: str) -> list:
    exp = client.get_experiment_by_name(experiment)
    assert exp is not None
    return client.search_runs([exp.experiment_id], max_results=1000)


def _db(cli: Cli) -> sqlite3.Connection:
    return sqlite3.connect(cli.root / ".studylog" / "studylog.db")


def test_sync_sends_params_points_tags_artifacts_and_status_once(
    tmp_path: Path, mlflow_server: str
) -> None:
    experiment = f"group-{uuid.uuid4().hex[:8]}"
    cli = _workspace(tmp_path, "alice", None, experiment=experiment, failing=True)
    # Credentials in the URI reach MLflow's client but are never stored.
    with_credentials = mlflow_server.replace("http://", "http://alice:s3cret-pw@")
    result = cli("sync", "--json", "--to", with_credentials)
    report = json.loads(result.stdout)
    assert report == {
        "sent": 2,
        "points": 3002,
        "skipped": 0,
        "server": mlflow_server,
        "experiment": experiment,
        "warnings": [
            "run #1: param 'note_text' is 7,000 characters, over MLflow's 6,000: truncated "
            "there; the full value is in params.json"
        ],
    }
    assert "note_text" in result.stderr

    client = MlflowClient(mlflow_server)
    runs = {r.data.tags["studylog.snippet"]: r for r in _experiment_runs(client, experiment)}
    assert set(runs) == {"adam", "boom"}
    adam, boom = runs["adam"], runs["boom"]
    assert adam.info.status == "FINISHED" and boom.info.status == "FAILED"
    assert adam.info.run_name == "adam"
    assert adam.data.params["lr"] == "0.1" and adam.data.params["optimizer"] == "adam"
    assert len(adam.data.params["note_text"]) == 6000
    for key in ("m0", "m1"):
        history = client.get_metric_history(adam.info.run_id, key)
        assert sorted(m.step for m in history) == list(range(1500))
    boom_loss = client.get_metric_history(boom.info.run_id, "loss")
    assert len(boom_loss) == 2 and any(m.value != m.value for m in boom_loss)  # NaN kept

    local = cli.json("runs", "show", "1")
    tags = adam.data.tags
    assert tags["studylog.note"] == "train.md"
    assert tags["studylog.seed"] == "0"
    assert tags["studylog.code_hash"] == local["code_hash"]
    assert tags["studylog.status"] == "succeeded" and boom.data.tags["studylog.status"] == "failed"
    assert tags["studylog.started"] == local["started"]
    assert json.loads(tags["studylog.environment"])["python"] == local["environment"]["python"]

    artifacts = {a.path for a in client.list_artifacts(adam.info.run_id)}
    assert {"output", "code", "params.json", "environment.json"} <= artifacts
    out = client.download_artifacts(adam.info.run_id, "output/stdout.txt", str(tmp_path))
    assert Path(out).read_text() == "trained\n"
    code = client.download_artifacts(adam.info.run_id, "code/adam.py", str(tmp_path))
    assert Path(code).read_text() == local["code"]
    params = client.download_artifacts(adam.info.run_id, "params.json", str(tmp_path))
    assert len(json.loads(Path(params).read_text())["note_text"]) == 7000

    # Again: nothing new is sent, nothing is doubled.
    again = json.loads(cli("sync", "--json", "--to", mlflow_server).stdout)
    assert (again["sent"], again["points"], again["skipped"]) == (0, 0, 2)
    assert len(_experiment_runs(client, experiment)) == 2
    assert len(client.get_metric_history(adam.info.run_id, "m0")) == 1500

    store = cli.root / ".studylog"
    for path in store.iterdir():
        if path.is_file():
            assert b"s3cret-pw" not in path.read_bytes(), path
    assert "s3cret" not in (cli.root / "studylog.toml").read_text()


def test_a_sync_killed_half_way_resumes_without_duplicates(
    tmp_path: Path, mlflow_server: str
) -> None:
    experiment = f"kill-{uuid.uuid4().hex[:8]}"
    cli = _workspace(tmp_path, "bob", mlflow_server, steps=20_000, keys=1, experiment=experiment)
    env = {**os.environ, "STUDYLOG_WORKSPACE": str(cli.root)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "studylog", "sync", "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    # Kill it once the server has acknowledged some points (the store records each batch).
    deadline = time.monotonic() + 120
    acknowledged = 0
    while acknowledged == 0:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the sync sent nothing in 120 s"
        with _db(cli) as db:
            row = db.execute("SELECT points FROM sync_runs").fetchone()
        acknowledged = row[0] if row else 0
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()
    with _db(cli) as db:
        acknowledged, done = db.execute("SELECT points, done FROM sync_runs").fetchone()
    assert 0 < acknowledged < 20_000 and done is None

    again = _sync(cli)
    assert again["sent"] == 1
    assert again["points"] <= 20_000 - acknowledged
    client = MlflowClient(mlflow_server)
    (run,) = _experiment_runs(client, experiment)
    assert run.info.status == "FINISHED"
    history = client.get_metric_history(run.info.run_id, "m0")
    assert sorted(m.step for m in history) == list(range(20_000))


def test_points_the_server_got_but_the_store_did_not_record_are_not_sent_again(
    tmp_path: Path, mlflow_server: str
) -> None:
    """The instant a kill can fall on: the server acknowledged a batch, the store had not yet
    recorded it; and before that, the MLflow run made but its id not yet recorded."""
    experiment = f"gap-{uuid.uuid4().hex[:8]}"
    # 1,500 keys of 2 points: a batch of 1,000 points spans 500 keys.
    cli = _workspace(tmp_path, "carol", mlflow_server, steps=2, keys=1500, experiment=experiment)
    with _db(cli) as db:
        ws_uuid = db.execute("SELECT uuid FROM sync_workspace").fetchone()[0]
    client = MlflowClient(mlflow_server)
    # A killed sync made the MLflow run (with its tags) and died before recording it.
    exp_id = client.create_experiment(experiment)
    orphan = client.create_run(
        exp_id, tags={"studylog.workspace": ws_uuid, "studylog.run_id": "1"}
    ).info.run_id
    first = _sync(cli)
    assert (first["sent"], first["points"]) == (1, 3000)
    (run,) = _experiment_runs(client, experiment)
    assert run.info.run_id == orphan

    # Roll the store back to before the last batch was recorded (the server has it): the
    # keys it carried are in flight, their marks not yet moved.
    with _db(cli) as db:
        (key,) = db.execute(
            "SELECT key FROM metrics WHERE run_id = 1 ORDER BY key, seq LIMIT 1 OFFSET 2000"
        ).fetchone()
        inflight = [k for (k,) in db.execute("SELECT key FROM sync_series WHERE key >= ?", [key])]
        assert len(inflight) == 500
        db.execute("DELETE FROM sync_series WHERE key >= ?", [key])
        db.execute(
            "UPDATE sync_runs SET done = NULL, inflight = ?, points = 2000",
            [json.dumps(inflight)],
        )
    again = _sync(cli)
    assert (again["sent"], again["points"]) == (1, 0)
    with _db(cli) as db:
        assert db.execute("SELECT points FROM sync_runs").fetchone()[0] == 3000


class _Proxy:
    """A real HTTP front for the MLflow server that can fail: `mode` is "pass", "500" or
    "401"; `batches` lets that many log-batch requests through before failing with 500."""

    def __init__(self, upstream: str) -> None:
        self.mode = "pass"
        self.batches: int | None = None
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _forward(self) -> None:
                body = self._body()
                if "log-batch" in self.path and proxy.batches is not None:
                    if proxy.batches <= 0:
                        return self._reply(500, b"Internal Server Error", "text/plain")
                    proxy.batches -= 1
                if proxy.mode == "500":
                    return self._reply(500, b"Internal Server Error", "text/plain")
                if proxy.mode == "401":
                    return self._reply(401, b"You are not authenticated.", "text/plain")
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower()
                    not in ("host", "content-length", "connection", "transfer-encoding")
                }
                request = urllib.request.Request(
                    upstream + self.path, data=body, method=self.command, headers=headers
                )
                try:
                    with urllib.request.urlopen(request, timeout=120) as response:
                        status, data = response.status, response.read()
                        ctype = response.headers.get("Content-Type", "application/json")
                except urllib.error.HTTPError as exc:
                    status, data = exc.code, exc.read()
                    ctype = exc.headers.get("Content-Type", "application/json")
                self._reply(status, data, ctype)

            def _body(self) -> bytes | None:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []  # artifact uploads come chunked
                    while size := int(self.rfile.readline().split(b";")[0], 16):
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                    self.rfile.readline()
                    return b"".join(chunks)
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else None

            def _reply(self, status: int, data: bytes, ctype: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def proxy(mlflow_server: str) -> Iterator[_Proxy]:
    p = _Proxy(mlflow_server)
    yield p
    p.close()


def test_server_down_failing_or_refusing_says_so_and_the_next_sync_picks_up(
    tmp_path: Path, mlflow_server: str, proxy: _Proxy
) -> None:
    experiment = f"faults-{uuid.uuid4().hex[:8]}"
    cli = _workspace(tmp_path, "dave", proxy.url, steps=2500, keys=2, experiment=experiment)

    down = f"http://127.0.0.1:{free_port()}"
    result = cli("sync", "--to", down, ok=False)
    assert result.exit_code == 1
    assert f"MLflow server {down}: cannot connect (connection refused)" in result.stderr

    proxy.mode = "500"
    result = cli("sync", ok=False)
    assert f"MLflow server {proxy.url}: the server failed (HTTP 500)" in result.stderr

    proxy.mode = "401"
    result = cli("sync", ok=False)
    assert f"MLflow server {proxy.url}: the server rejected the credentials (HTTP 401)" in (
        result.stderr
    )
    assert "MLFLOW_TRACKING_USERNAME" in result.stderr

    # The server fails half way through the points: what it acknowledged stays recorded.
    # (Four requests pass: the params, the tags and two batches of points.)
    proxy.mode, proxy.batches = "pass", 4
    result = cli("sync", ok=False)
    assert "the server failed (HTTP 500)" in result.stderr
    assert "run `studylog sync` again to pick up where it stopped" in result.stderr
    with _db(cli) as db:
        acknowledged, done = db.execute("SELECT points, done FROM sync_runs").fetchone()
    assert (acknowledged, done) == (2000, None)
    assert len(cli.json("runs")) == 1  # nothing lost locally

    proxy.batches = None
    again = _sync(cli)
    assert (again["sent"], again["points"]) == (1, 3000)
    client = MlflowClient(mlflow_server)
    (run,) = _experiment_runs(client, experiment)
    for key in ("m0", "m1"):
        assert sorted(m.step for m in client.get_metric_history(run.info.run_id, key)) == list(
            range(2500)
        )


def test_a_deleted_experiment_is_named_with_what_to_do(tmp_path: Path, mlflow_server: str) -> None:
    experiment = f"gone-{uuid.uuid4().hex[:8]}"
    client = MlflowClient(mlflow_server)
    client.delete_experiment(client.create_experiment(experiment))
    cli = _workspace(tmp_path, "erin", mlflow_server, steps=3, experiment=experiment)
    result = cli("sync", ok=False)
    assert f"the experiment {experiment!r} was deleted there" in result.stderr
    assert "[sync] experiment" in result.stderr


def test_two_members_see_each_others_runs_of_the_same_snippet(
    tmp_path: Path, mlflow_server: str
) -> None:
    note = f"train-{uuid.uuid4().hex[:8]}.md"  # the server is shared by the tests
    alice = _workspace(tmp_path, "alice", mlflow_server, steps=50, note=note)
    bob = _workspace(tmp_path, "bob", mlflow_server, steps=50, scale=2.0, note=note)  # other code
    assert _sync(alice)["sent"] == 1
    assert _sync(bob)["sent"] == 1

    seen = alice.json("runs", "--remote", note, "--snippet", "adam")
    assert len(seen) == 2
    mine = next(r for r in seen if r["mine"])
    theirs = next(r for r in seen if not r["mine"])
    assert mine["experiment"] == "studylog-alice" and theirs["experiment"] == "studylog-bob"
    assert (mine["same_code"], theirs["same_code"]) == (True, False)
    assert theirs["remote"] is True and theirs["status"] == "succeeded"
    assert theirs["final_metrics"]["m0"] == pytest.approx(2.0 / 50)

    # Bob sees Alice's too; neither's history gains the other's run.
    assert {r["mine"] for r in bob.json("runs", note, "--remote")} == {True, False}
    assert len(alice.json("runs")) == 1 and len(bob.json("runs")) == 1
    table = alice("runs", "--remote", note).stdout
    assert "differs" in table and "(you)" in table


def test_runs_remote_without_a_server_says_how_to_set_one(tmp_path: Path) -> None:
    root = tmp_path / "solo"
    (root / "notes").mkdir(parents=True)
    result = Cli(root)("runs", "--remote", ok=False)
    assert "no MLflow server to list runs from" in result.stderr
    assert "[sync] mlflow_uri" in result.stderr


def test_names_mlflow_refuses_are_made_acceptable() -> None:
    from studylog.sync.push import safe_name

    assert safe_name("loss") == "loss"
    assert safe_name("손실") == "손실"
    assert safe_name("acc@1") == "acc_1"
    assert safe_name("/a//b/") == "a/b"
    assert safe_name("..") == "_.."
    assert len(safe_name("x" * 300)) == 250


@pytest.fixture
def teammates(tmp_path: Path, mlflow_server: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Alice and Bob ran the same snippet and synced: Bob's workspace."""
    note = f"tui-{uuid.uuid4().hex[:8]}.md"  # the server is shared by the tests
    alice = _workspace(tmp_path, "alice", mlflow_server, steps=30, note=note)
    # The member's name on the server: MLflow's user name when one is set.
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "alice")
    assert _sync(alice)["sent"] == 1
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "bob")
    bob = _workspace(tmp_path, "bob", mlflow_server, steps=30, scale=2.0, note=note)
    assert _sync(bob)["sent"] == 1  # bob's own run on the server is not a teammate's
    return bob.root


async def test_the_tui_comparison_overlays_a_teammates_run_read_only(teammates: Path) -> None:
    from studylog.paths import Workspace
    from studylog.settings import load_settings
    from studylog.store.history import get_run, list_runs
    from studylog.tui.app import StudylogApp
    from studylog.tui.screens.compare import CompareScreen
    from studylog.tui.widgets.metric_plot import MetricPlot
    from tests.tui_helpers import notifications, until

    ws = Workspace(teammates)
    app = StudylogApp(ws, load_settings(ws.settings_file))
    async with app.run_test(size=(140, 45)) as pilot:
        run = get_run(app.db, 1)
        curves = {"#1 adam · m0": [(0, 1.0)]}
        app.push_screen(CompareScreen([run], curves))
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        await pilot.press("t")  # fetched in a worker: the UI keeps going
        # The group's runs to choose from (tests/test_sync_compare.py): the newest chosen.
        await until(pilot, lambda: app.screen is not screen, "the list of runs", seconds=120)
        await pilot.press("enter")
        await until(pilot, lambda: screen.remote, "the teammate's run", seconds=120)
        (remote,) = screen.remote
        assert remote.run.user == "alice" and not remote.run.mine
        plot = screen.query_one(MetricPlot)
        assert sorted(plot.curves) == ["#1 adam · m0", "⇣ adam@alice · m0", "⇣ adam@alice · m1"]
        assert [s for s, _ in plot.curves["⇣ adam@alice · m0"]] == list(range(30))
        assert plot.curves["⇣ adam@alice · m0"][-1][1] == pytest.approx(1.0 / 30)
        assert not notifications(app, "warning")
        assert len(list_runs(app.db)) == 1  # pulled runs are never stored here


@pytest.fixture
def lonely(tmp_path: Path) -> list[tuple[Path, str]]:
    """A workspace with no server set, and one whose server is not there."""
    return [
        (_workspace(tmp_path, "solo", None, steps=3).root, "no MLflow server to fetch runs from"),
        (
            _workspace(tmp_path, "away", f"http://127.0.0.1:{free_port()}", steps=3).root,
            "cannot connect",
        ),
    ]


async def test_the_tui_comparison_says_when_there_is_no_server_or_it_is_down(
    lonely: list[tuple[Path, str]],
) -> None:
    from studylog.paths import Workspace
    from studylog.settings import load_settings
    from studylog.store.history import get_run
    from studylog.tui.app import StudylogApp
    from studylog.tui.screens.compare import CompareScreen
    from tests.tui_helpers import notifications, until

    for root, expected in lonely:
        ws = Workspace(root)
        app = StudylogApp(ws, load_settings(ws.settings_file))
        async with app.run_test(size=(140, 45)) as pilot:
            app.push_screen(CompareScreen([get_run(app.db, 1)], {}))
            await pilot.pause()
            await pilot.press("t")
            warned = functools.partial(notifications, app, "warning")
            await until(pilot, warned, "a notice", seconds=120)
            assert expected in str(notifications(app, "warning")[0].message)
            assert isinstance(app.screen, CompareScreen)  # the comparison stays open
