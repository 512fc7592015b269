"""The report's data and file, and the dashboard's answers, without a browser (tests/report/test_browser.py
opens them in Chromium)."""

from __future__ import annotations

import json
import math
import re
import sqlite3
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gitgrid import create_sweep, open_repository
from gitgrid.layout import Layout
from gitgrid.query import views
from gitgrid.report.data import ViewOptions, finite, point_detail, report_data, sweep_info
from gitgrid.report.page import render_page, script_json
from gitgrid.report.server import Dashboard, make_server
from gitgrid.sweep.catalog import find_sweep
from tests.helpers import SPEC, XSS, XSS_METRIC, XSS_SUBJECT, cli, make_repo


def test_inline_json_cannot_end_its_script_block_and_refuses_nan() -> None:
    text = script_json({"a": "</script><script>alert(1)</script>", "b": "<!-- & \u2028"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"a": "</script><script>alert(1)</script>", "b": "<!-- & \u2028"}
    with pytest.raises(ValueError):
        script_json({"x": math.nan})
    assert finite([1.0, math.nan, math.inf, -math.inf, "x", None]) == [1.0, None, None, None, "x", None]


def test_the_page_is_self_contained_and_allows_only_its_own_scripts() -> None:
    page = render_page({"home": []}, "t <b>")
    assert "<title>t &lt;b&gt;</title>" in page
    markup = re.sub(r"<script[^>]*>.*?</script>", "", page, flags=re.S)  # the page, without its scripts
    assert "<script>" in page and not re.search(r"(src|href)\s*=", markup)  # nothing loaded from elsewhere
    policy = re.search(r'Content-Security-Policy" content="([^"]*)"', page)
    assert policy is not None
    assert (
        "default-src 'none'" in policy.group(1)
        and "'unsafe-inline'" not in policy.group(1).split("style-src")[0]
    )
    assert policy.group(1).count("'sha256-") == 1 and "'unsafe-eval'" in policy.group(1)  # the loader
    packed = re.findall(r'<script type="application/x-gitgrid-packed">([^<]*)</script>', page)
    assert len(packed) == 2 and all("<" not in text for text in packed)  # plotly.js and the page's own


def test_the_fixed_part_of_a_report_is_under_2_mb() -> None:
    """Page, script, style and plotly.js without any data: 4.8 MB with plotly.js inline as it comes."""
    assert len(render_page({"home": []}, "t").encode()) < 2_000_000
    assert len(render_page({"home": []}, "t", packing="inline").encode()) > 4_000_000


def test_the_page_modules_are_joined_and_what_cannot_be_joined_is_refused() -> None:
    from gitgrid.errors import ReportError
    from gitgrid.report.assets import _parse

    module = _parse("x.js", 'import { a, b as c } from "./y.js";\nimport "./z.js";\nexport function f() {}\n')
    assert module.imports == (("y.js", "a, b: c"), ("z.js", "")) and module.exports == ("f",)
    for source in (
        "export let x = 1;\n",
        "export default 1;\n",
        "export { a };\n",
        'import * as y from "./y.js";\n',
    ):
        with pytest.raises(ReportError, match=r"static/js/x\.js:1: the page's modules may not use"):
            _parse("x.js", source)


def test_report_data_of_every_view(studies: Path) -> None:
    repo = open_repository(studies)
    sweeps = [find_sweep(repo, name) for name in ("before", "after")]
    store = views.open_readonly(Layout.of(repo).store)
    data = report_data(repo, store, sweeps, ViewOptions(details=3))
    home = {row["name"]: row for row in data["home"]}
    assert home["after"]["base_subject"] == XSS_SUBJECT and home["before"]["base_subject"] == "initial"
    assert home["before"]["counts"] == {"success": 12, "never run": 0} and home["before"]["best"] == 15.0
    before = data["sweeps"]["before"]
    assert before["metrics"] == ["loss", "rate"] and before["series_names"] == ["t", "v"]
    assert before["points"]["columns"]["index"] == list(range(12))
    assert before["points"]["metrics"]["loss"][5] == 2.5 * 20
    runs = before["points"]["columns"]["run"]
    assert sorted(before["series"]["v"]) == sorted(str(r) for r in runs)
    assert before["series"]["v"][str(runs[5])] == [[0, 10, 20, 30, 40], [20.0, 22.5, 25.0, 27.5, 30.0]]
    assert sorted(before["details"], key=int) == ["0", "1", "4"]  # the best three by loss
    detail = before["details"]["4"]
    assert detail["diff"].endswith("@@ -1,2 +1,2 @@\n-a = 0.0\n-b = 0\n+a = 2.5\n+b = 10\n")
    assert json.loads(detail["files"]["meta"])["status"] == "success"
    assert detail["files"]["stderr"] == [] and set(detail["series"]) == {"t", "v"}
    assert data["sweeps"]["after"]["points"]["metrics"]["loss"][5] == 2.5 * 20 + 1
    # a point the report does not carry is still there for the dashboard
    detail = point_detail(repo, store, sweeps[0], 11, ViewOptions())
    assert detail is not None and detail["params"] == {"a": 3.5, "b": 40}


def test_the_report_command_writes_one_file_and_prints_its_path(studies: Path, tmp_path: Path) -> None:
    output = tmp_path / "out" / "r.html"
    output.parent.mkdir()
    result = cli("report", "before", "xss", "-o", str(output), "--metric", "rate", repo=studies)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{output.resolve()}\n"
    page = output.read_text()
    data = json.loads(re.search(r'id="gitgrid-data">(.*?)</script>', page, re.S).group(1))  # type: ignore[union-attr]
    assert set(data["sweeps"]) == {"before", "xss"} and data["sweeps"]["before"]["metric"] == "rate"
    for payload in (*XSS, XSS_METRIC, "</script><script>alert(5)</script>"):
        assert payload not in page  # only ever escaped inside the JSON block
    assert [p.name for p in output.parent.iterdir()] == ["r.html"]  # no temporary file left


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nosuch"], "no sweep named 'nosuch'"),
        (["before", "before"], "a sweep is named twice"),
        (["-o", "."], "is a folder"),
        (["-o", "missing/r.html"], "cannot write the report"),
        (["--details", "-1"], "--details -1: give a number of points, 0 or more"),
        (["--metric", "nosuch"], "--metric nosuch: no run reported it (metrics: "),
        (["--repeat-param", "nosuch"], "--repeat-param nosuch: no param of that name (params: "),
    ],
)
def test_report_refusals(studies: Path, args: list[str], message: str) -> None:
    result = cli("report", *args, repo=studies)
    assert result.exit_code == 2 and message in result.stderr and result.stdout == ""


@pytest.fixture(scope="module")
def served(studies: Path) -> Iterator[str]:
    board = Dashboard(open_repository(studies), ViewOptions())
    server = make_server(board, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    board.close()


def fetch(url: str, host: str | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            body = answer.read()
            return answer.status, json.loads(body) if answer.headers[
                "Content-Type"
            ] == "application/json" else body
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_the_dashboard_answers_pages_and_updates(served: str, studies: Path) -> None:
    status, home = fetch(f"{served}/api/sweeps")
    assert status == 200 and [s["name"] for s in home["sweeps"]] == ["cube", "xss", "after", "before"]
    status, sweep = fetch(f"{served}/api/sweep?name=before")
    assert sweep["count"] == 12 and sweep["running"] == [] and sweep["cursor"] > 0
    _, first = fetch(f"{served}/api/points?sweep=before&limit=5")
    assert first["columns"]["index"] == [0, 1, 2, 3, 4] and first["after"] == 4
    _, rest = fetch(f"{served}/api/points?sweep=before&after=4&limit=100")
    assert rest["columns"]["index"] == list(range(5, 12)) and rest["after"] is None
    _, nothing = fetch(f"{served}/api/updates?sweep=before&after={sweep['cursor']}&series=v")
    assert nothing["points"]["columns"]["index"] == [] and nothing["series"] == {}
    _, everything = fetch(f"{served}/api/updates?sweep=before&after=0")
    assert everything["points"]["columns"]["index"] == list(range(12))
    _, series = fetch(f"{served}/api/series?sweep=before&name=t")
    assert len(series) == 12
    _, point = fetch(f"{served}/api/point?sweep=before&index=7")
    assert point["params"] == {"a": 2.5, "b": 40} and "+b = 40" in point["diff"]
    status, page = fetch(f"{served}/")
    assert status == 200 and b'"live":true' in page


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/api/sweep?name=nosuch", 404),
        ("/api/point?sweep=before&index=99", 404),
        ("/api/point?sweep=before&index=x", 400),
        ("/api/point?sweep=before&index=99999999999999999999", 400),
        ("/api/points?sweep=before&after=99999999999999999999", 400),
        ("/api/updates?sweep=before&watch=99999999999999999999", 400),
        ("/api/series?sweep=before", 400),
        ("/api/drop", 404),
        ("/etc/passwd", 404),
    ],
)
def test_the_dashboard_refuses_what_it_does_not_know(served: str, path: str, code: int) -> None:
    assert fetch(f"{served}{path}")[0] == code


def test_the_dashboard_is_read_only_and_local(served: str, studies: Path) -> None:
    store = studies / ".gitgrid/results.db"
    before = store.read_bytes()
    assert fetch(f"{served}/api/sweeps", host="evil.example:80")[0] == 403  # DNS rebinding
    request = urllib.request.Request(f"{served}/api/sweeps", data=b"x", method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 501
    assert store.read_bytes() == before


def test_the_dashboard_command_warns_when_not_local(studies: Path) -> None:
    result = cli("dashboard", "--host", "256.0.0.1", "--port", "0", repo=studies)
    assert result.exit_code == 2
    assert "warning: listening on 256.0.0.1: anyone who can reach this machine" in result.stderr
    assert "cannot listen on 256.0.0.1:0" in result.stderr


@pytest.mark.parametrize("port", ["-1", "65536"])
def test_a_port_out_of_range_is_one_line(studies: Path, port: str) -> None:
    result = cli("dashboard", "--port", port, repo=studies)
    assert (
        result.exit_code == 2
        and result.stderr == f"gitgrid: error: --port {port}: a port is 0-65535 (0: any free port)\n"
    )


def test_diffs_of_many_commits_in_one_call(studies: Path) -> None:
    repo = open_repository(studies)
    sweep = find_sweep(repo, "before")
    commits = cli("list", "before", repo=studies).stdout.split()
    diffs = repo.diffs(sweep.base, [*commits, "not-an-id", "--output=/tmp/x"])
    assert list(diffs) == commits
    assert all(d.startswith("diff --git a/model.py b/model.py\n") for d in diffs.values())
    assert repo.diffs("--cached", commits) == {}
    assert repo.subjects([sweep.base, "HEAD"]) == {sweep.base: "initial"}


def test_a_sweep_that_never_ran_has_a_report_and_a_dashboard(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "sim", {"model.py": "a = 0.0\nb = 0\n"})
    (repo / "spec.yaml").write_text(SPEC)
    sweep = create_sweep(repo / "spec.yaml", repo)
    output = tmp_path / "r.html"
    assert cli("report", "-o", str(output), repo=repo).exit_code == 0
    data = json.loads(re.search(r'id="gitgrid-data">(.*?)</script>', output.read_text(), re.S).group(1))  # type: ignore[union-attr]
    shown = data["sweeps"][sweep.name]
    assert shown["counts"] == {"never run": 12} and shown["metrics"] == [] and shown["series_names"] == []
    assert shown["points"]["columns"]["status"] == ["never run"] * 12
    assert shown["points"]["params"]["b"] == [10, 20, 30, 40] * 3
    assert "+b = 40" in shown["details"]["3"]["diff"] and shown["details"]["3"]["runs"] == []
    assert not (repo / ".gitgrid/results.db").exists()  # reading never creates a store
    board = Dashboard(open_repository(repo), ViewOptions())
    status, _, body = board.answer("/api/updates", {"sweep": sweep.name, "after": "0"})
    assert status == 200 and json.loads(body)["points"]["columns"]["index"] == []
    status, _, body = board.answer("/api/point", {"sweep": sweep.name, "index": "3"})
    assert status == 200 and json.loads(body)["params"] == {"a": 1.5, "b": 40}


def test_log_spaced_params_get_log_axes(tmp_path: Path) -> None:
    files = {"model.py": "lr = 0.0\nsteps = 0\ndecay = 0.0\nwidth = 0\n"}
    repo = make_repo(tmp_path / "sim", files)
    spec = (
        "files: [model.py]\nparams:\n  lr: {logspace: [-4, -1, 4]}\n  steps: [10, 100, 1000, 10000]\n"
        "  decay: {linspace: [0.1, 0.9, 3]}\n  width: [1, 2, 4]\n"
    )
    (repo / "spec.yaml").write_text(spec)
    sweep = create_sweep(repo / "spec.yaml", repo)
    info = sweep_info(open_repository(repo), None, sweep, ViewOptions())
    assert info["log_params"] == ["lr", "steps"]  # width doubles, but over less than two decades


def test_a_damaged_or_older_store_is_refused_and_never_written(tmp_path: Path) -> None:
    """The report and the dashboard read the store with the checks every command has, and never write
    it: a damaged store is one line naming it; a schema-1 store is not migrated behind the user's back."""
    repo = make_repo(tmp_path / "sim", {"model.py": "a = 0.0\nb = 0\n"})
    (repo / "spec.yaml").write_text(SPEC)
    create_sweep(repo / "spec.yaml", repo)
    store = repo / ".gitgrid/results.db"
    store.parent.mkdir()
    store.write_bytes(b"")
    result = cli("report", "-o", str(tmp_path / "r.html"), repo=repo)
    assert result.exit_code == 2 and "damaged" in result.stderr and "collect --rebuild" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and store.read_bytes() == b""
    store.unlink()
    with sqlite3.connect(store) as db:
        db.executescript("CREATE TABLE sweeps (name TEXT); PRAGMA user_version = 1;")
    before = store.read_bytes()
    result = cli("report", "-o", str(tmp_path / "r.html"), repo=repo)
    assert result.exit_code == 2 and "older gitgrid" in result.stderr
    assert store.read_bytes() == before


def test_an_infinite_best_is_shown_as_inf_not_left_blank() -> None:
    """JSON has no infinity: a blank best would pass the best of the rest off as the best."""
    from gitgrid.report.data import shown_best

    assert [shown_best(v) for v in (float("inf"), float("-inf"), float("nan"), None, 2.5)] == [
        "inf",
        "-inf",
        None,
        None,
        2.5,
    ]
