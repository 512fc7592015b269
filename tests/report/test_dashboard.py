"""The dashboard under load and faults (#17): no request holds up another, the work of each is bounded, a
rebuilt store is read again, and a damaged store is a JSON error the page can show, never a traceback."""

from __future__ import annotations

import json
import socket
import sqlite3
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gitgrid import open_repository
from gitgrid.report.data import ViewOptions
from gitgrid.report.server import Dashboard, make_server
from tests.helpers import cli, sim


@pytest.fixture
def serve() -> Iterator[Any]:
    """Start a dashboard of a repository (with options for :class:`Dashboard`); its base address."""
    started: list[tuple[Any, Dashboard]] = []

    def start(repo: Path, **options: Any) -> str:
        board = Dashboard(open_repository(repo), ViewOptions(), **options)
        server = make_server(board, "127.0.0.1", 0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        started.append((server, board))
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server, board in started:
        server.shutdown()
        server.server_close()
        board.close()


def fetch(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=60) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        assert error.headers["Content-Type"] == "application/json"
        return error.code, json.loads(error.read())


def test_a_request_waiting_on_the_store_holds_up_no_other(
    ran: Path, serve: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITGRID_STORE_TIMEOUT", "30")
    base = serve(ran)
    holder = sqlite3.connect(ran / ".gitgrid/results.db", isolation_level=None)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")  # every reader of the store now waits
    answers: list[tuple[int, Any]] = []
    waiting = threading.Thread(target=lambda: answers.append(fetch(f"{base}/api/sweeps")), daemon=True)
    waiting.start()
    waiting.join(1.0)
    assert waiting.is_alive()  # it waits for the store ...
    assert fetch(f"{base}/api/sweep?name=nosuch")[0] == 404  # ... and holds up nobody
    assert waiting.is_alive()
    holder.execute("COMMIT")
    holder.close()
    waiting.join(60)
    assert answers[0][0] == 200 and len(answers[0][1]["sweeps"]) == 1


def test_a_request_over_its_time_limit_is_stopped_and_answered(ran: Path, serve: Any) -> None:
    base = serve(ran, limit=0.0)
    status, answer = fetch(f"{base}/api/sweeps")
    assert status == 503 and answer["error"] == "/api/sweeps: stopped after 0 s; try again, or ask for less"
    assert fetch(f"{base}/api/sweep?name=nosuch")[0] == 404


def test_a_rebuilt_store_is_read_again(ran: Path, serve: Any) -> None:
    base = serve(ran)
    name = fetch(f"{base}/api/sweeps")[1]["sweeps"][0]["name"]
    assert fetch(f"{base}/api/sweep?name={name}")[1]["counts"]["success"] == 9
    assert cli("collect", "--rebuild", repo=ran).exit_code == 0  # the old store is renamed away
    assert cli("run", "--", *sim(), repo=ran).exit_code == 0  # into the new store only
    assert fetch(f"{base}/api/sweep?name={name}")[1]["counts"]["success"] == 12


def test_a_damaged_store_is_a_json_error_not_a_traceback(
    ran: Path, serve: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    store = ran / ".gitgrid/results.db"
    for path in ran.joinpath(".gitgrid").glob("results.db*"):
        path.unlink()
    store.write_bytes(b"this is no database" * 100)
    base = serve(ran)
    for _ in range(3):
        status, answer = fetch(f"{base}/api/sweeps")
        assert status == 503 and "not an SQLite database" in answer["error"]
        assert "collect --rebuild" in answer["error"]
    assert "Traceback" not in capfd.readouterr().err


def test_the_series_of_a_running_run_is_sampled_however_large_its_file(ran: Path, serve: Any) -> None:
    """A running run's series file of 300 MB (sparse: only its ends hold lines) is answered from a few
    windows, its last step included; read whole it would be cut at 256 MiB and its end never seen."""
    with sqlite3.connect(ran / ".gitgrid/results.db") as db:
        run_id, run_dir = db.execute("SELECT id, run_dir FROM runs WHERE idx = 0").fetchone()
        db.execute("UPDATE runs SET status = 'running' WHERE id = ?", (run_id,))
    with (Path(run_dir) / "series.jsonl").open("wb") as series:
        series.writelines(b'{"step": %d, "v": %d}\n' % (step, step) for step in range(1000))
        series.seek(300 * 2**20)
        series.writelines(b'\n{"step": %d, "v": %d}\n' % (step, step) for step in range(10**6, 10**6 + 50))
    base = serve(ran)
    name = fetch(f"{base}/api/sweeps")[1]["sweeps"][0]["name"]
    status, answer = fetch(f"{base}/api/series?sweep={name}&name=v")
    steps, values = answer[str(run_id)]
    assert status == 200 and steps[0] == 0 and steps[-1] == 10**6 + 49 and values[-1] == 10**6 + 49
    assert len(steps) <= 200 and steps == sorted(steps)


def test_idle_connections_hold_up_no_request(ran: Path, serve: Any) -> None:
    base = serve(ran)
    port = int(base.rsplit(":", 1)[1])
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(64)]  # connected, silent
    try:
        half = socket.create_connection(("127.0.0.1", port))
        half.sendall(b"GET /api/sweeps HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # headers never finished
        status, answer = fetch(f"{base}/api/sweeps")
        assert status == 200
        many = ",".join(["1"] * 10_001)
        assert fetch(f"{base}/api/updates?sweep={answer['sweeps'][0]['name']}&watch={many}")[0] == 400
    finally:
        for connection in [*idle, half]:
            connection.close()
