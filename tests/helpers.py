"""Small helpers shared by the tests: real git repositories in temporary folders, and the CLI."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from typer.testing import CliRunner, Result

from gitgrid.cli import app

CANONICAL_MODEL = """\
class Model:
    def __init__(self):
        self.param1 = 1.0  # weight E->E
        self.param2 = 1.0
        self.param3 = -1.0
        self.weightEI = 3.
"""

CANONICAL_SPEC = """\
files:
  - path: src/model.py
params:
  param1: 3.
  param2: {range: [0.5, 3.0, 0.5]}
  param3: {range: [-5., -30., -5.]}
"""


def git(repo: Path, *args: str, stdin: str | None = None) -> str:
    """Run git in ``repo`` and return its stdout; fail the test with git's message otherwise."""
    result = subprocess.run(
        ["git", *args], cwd=repo, input=stdin, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"git {' '.join(args)}: {result.stderr}"
    return result.stdout


def stored_rows(store: Path, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows of a query on a store file, read with sqlite3 itself: how a test looks at what gitgrid wrote
    (gitgrid's own code asks the store's named methods)."""
    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


def make_repo(path: Path, files: Mapping[str, str | bytes], branch: str = "master") -> Path:
    """A git repository at ``path`` whose first commit holds ``files``."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", branch)
    for name, content in files.items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "initial")
    return path


def refs(repo: Path) -> str:
    """Every ref and what it points to: compare before and after to prove nothing was written."""
    return git(repo, "for-each-ref", "--format=%(refname) %(objectname)")


def cli(*args: str, repo: Path | None = None) -> Result:
    """Run ``gitgrid [-C repo] args`` in-process."""
    prefix = ["-C", str(repo)] if repo is not None else []
    return CliRunner().invoke(app, [*prefix, *args], catch_exceptions=False)


def gitgrid_command() -> list[str]:
    """The command line that starts gitgrid in a child process, with this interpreter."""
    return [sys.executable, "-m", "gitgrid"]


# The test simulation of the run, results and cluster tests -----------------------------------------
SIM = '''\
"""Test simulation: reads its params from model.py (the checkout), checks them against the
environment, and reports metrics. SIM_* variables make some points misbehave."""
import json, os, sys, time
ns = {}
exec(open("model.py").read(), ns)
a, b = ns["a"], ns["b"]
params = json.loads(os.environ["GITGRID_PARAMS"])
assert (a, b) == (params["a"], params["b"]), (a, b, params)
assert os.environ["GITGRID_PARAM_A"] == repr(a) and os.environ["GITGRID_PARAM_B"] == str(b)
index = int(os.environ["GITGRID_INDEX"])
print(f"point {index} a={a} b={b}")
print("to stderr", index, file=sys.stderr)
time.sleep(float(os.environ.get("SIM_SLEEP", "0")))
if str(index) in os.environ.get("SIM_FAIL", "").split(","):
    sys.exit(3)
if str(index) in os.environ.get("SIM_HANG", "").split(","):
    time.sleep(float(os.environ.get("SIM_HANG_FOR", "60")))
result = {"loss": a * b, "rate": a + b}
if str(index) in os.environ.get("SIM_BAD", "").split(","):
    result = os.environ["SIM_BAD_KIND"]
    open(os.environ["GITGRID_RESULT"], "w").write(result)
else:
    json.dump(result, open(os.environ["GITGRID_RESULT"], "w"))
'''
SPEC = "files: [model.py]\nparams:\n  a: [1.5, 2.5, 3.5]\n  b: {range: [10, 40, 10]}\n"
CUBE_SPEC = "files: [model.py]\nparams:\n  a: [1.5, 2.5]\n  b: [10, 20]\n  c: [0, 1]\n"


def sim(*extra: str) -> list[str]:
    """The command that runs the test simulation with this interpreter."""
    return sim_command("sim.py", *extra)


def sim_command(script: str, *extra: str) -> list[str]:
    """The command that runs a script of the test repository with this interpreter."""
    return [sys.executable, script, *extra]


# A simulation that reports metrics over time ($GITGRID_SERIES) as well as final metrics --------------
SERIES_SIM = '''\
"""Test simulation with series: STEPS steps of {"step", "t", "v"}; SIM_SERIES_BAD=i writes a bad line
in point i's series; SIM_SERIES_PAUSE=s sleeps between steps (a live run)."""
import json, os, time
ns = {}
exec(open("model.py").read(), ns)
a, b = ns["a"], ns["b"]
index = int(os.environ["GITGRID_INDEX"])
pause = float(os.environ.get("SIM_SERIES_PAUSE", "0"))
with open(os.environ["GITGRID_SERIES"], "a") as series:
    for step in range(int(os.environ.get("STEPS", "5"))):
        series.write(json.dumps({"step": step * 10, "t": step * 0.5, "v": a * step + b}) + "\\n")
        series.flush()
        if str(index) == os.environ.get("SIM_SERIES_BAD") and step == 2:
            series.write('{"step": 25, "v": "high"}\\n')
        time.sleep(pause)
json.dump({"loss": a * b, "rate": a + b}, open(os.environ["GITGRID_RESULT"], "w"))
'''


# A real headless Chromium for the report's pages ----------------------------------------------------
CHROMIUM = "/usr/bin/chromium"  # Debian's chromium (apt), driven by Playwright; never `playwright install`
BROWSER_ARGS = ["--no-sandbox", "--use-gl=swiftshader", "--enable-unsafe-swiftshader"]
LOCAL = ("file:", "data:", "blob:", "about:", "http://127.0.0.1", "http://localhost")
ARTEFACTS = Path(__file__).parent.parent / "test-artefacts"  # screenshots of each view, kept by CI


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    import importlib.util

    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    return None


class Watched:
    """A page whose console errors, page errors and blocked (non-local) requests are kept, to fail on."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.errors: list[str] = []
        self.blocked: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("dialog", self._dialog)  # an alert() is an injected script that ran
        page.route("**/*", self._route)

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def _dialog(self, dialog: Any) -> None:
        self.errors.append(f"dialog: {dialog.message}")
        dialog.dismiss()

    def _route(self, route: Any) -> None:
        url = route.request.url
        if url.startswith(LOCAL):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()

    def check(self) -> None:
        assert not self.errors, self.errors
        assert not self.blocked, self.blocked


# Untrusted text the report must show as text: a string param, a metric, a series, stderr, a subject --
XSS = ("<script>alert(1)</script>", '"><img src=x onerror=alert(2)>')
XSS_METRIC = "<img src=x onerror=alert(3)>"
XSS_SUBJECT = "fix the loss <script>alert(4)</script>"
XSS_SIM = f"""\
import json, os, sys
params = json.loads(os.environ["GITGRID_PARAMS"])
print("stderr says", params["label"], file=sys.stderr)
json.dump({{{XSS_METRIC!r}: params["n"] * 1.5}}, open(os.environ["GITGRID_RESULT"], "w"))
with open(os.environ["GITGRID_SERIES"], "w") as series:
    series.write(json.dumps({{"step": 0, "</script><script>alert(5)</script>": params["n"]}}) + "\\n")
"""
XSS_SPEC = f"files: [config.ini]\nparams:\n  label: {list(XSS)!r}\n  n: [1, 2]\n"


def gitgrid_bounded(
    repo: Path, *args: str, memory: int = 1 << 30, seconds: int = 60
) -> subprocess.CompletedProcess[str]:
    """``gitgrid -C repo args`` in a child process limited to ``memory`` bytes of address space.

    Proves that hostile input is answered with bounded memory: a MemoryError or an endless computation
    would show up as a traceback or a timeout (``seconds`` detects a hang, it is no speed target).
    """
    import resource

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    return subprocess.run(
        [*gitgrid_command(), "-C", str(repo), *args],
        capture_output=True,
        text=True,
        timeout=seconds,
        preexec_fn=limit,
        check=False,
    )


def alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return status.rsplit(")", 1)[1].split()[0] != "Z"


def wait_gone(pids: Iterable[int], timeout: float = 10.0) -> None:
    """Wait until none of ``pids`` is alive (a condition, not a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)


# A simulation that writes a large array per point, and a stage (gitgrid analyze) that reads it ----------
ARRAY_SIM = '''\
"""Test simulation of the stage tests: a large array (a million samples) in its run directory."""
import json, os
import numpy as np
ns = {}
exec(open("model.py").read(), ns)
index = int(os.environ["GITGRID_INDEX"])
trace = np.random.default_rng(index).normal(ns["a"], 1.0, size=1_000_000)
np.save(os.path.join(os.environ["GITGRID_RUN_DIR"], "trace.npy"), trace)
json.dump({"loss": ns["a"] * ns["b"]}, open(os.environ["GITGRID_RESULT"], "w"))
'''
ARRAY_SPEC = "files: [model.py]\nparams:\n  a: [1.0, 2.0]\n  b: [10, 20]\n"
STAGE = '''\
"""Test stage: two metrics from the simulation's array; STAGE_FAIL=i,j makes those points fail."""
import json, os, sys
import numpy as np
index = os.environ["GITGRID_INDEX"]
if index in os.environ.get("STAGE_FAIL", "").split(","):
    print("reading the trace", file=sys.stderr)
    raise SystemExit("ValueError: no spikes in this trace")
trace = np.load(os.path.join(os.environ["GITGRID_RUN_DIR"], "trace.npy"))
SCALE = 1.0
json.dump({"mean": float(trace.mean()) * SCALE, "peak": float(trace.max())},
          open(os.environ["GITGRID_RESULT"], "w"))
with open(os.environ["GITGRID_SERIES"], "w") as series:
    for step, count in enumerate(np.histogram(trace, bins=3, range=(-5, 5))[0]):
        series.write(json.dumps({"step": step, "count": int(count)}) + "\\n")
'''


def stage_repo(path: Path) -> Path:
    """A repository with the array simulation, its 4-point sweep created and run, and the stage script
    ``spikes.py`` committed."""
    from gitgrid import create_sweep
    from gitgrid.run.runner import RunOptions, run_sweep

    files = {"model.py": "a = 0.0\nb = 0\n", "sim.py": ARRAY_SIM, "spikes.py": STAGE, "spec.yaml": ARRAY_SPEC}
    repo = make_repo(path, files)
    create_sweep(repo / "spec.yaml", repo)
    summary = run_sweep(sim(), repo=repo, options=RunOptions(jobs=2))
    assert summary.state.succeeded == 4, summary
    return repo


def files_under(folder: Path, skip: str = "stages") -> dict[str, tuple[int, int, int]]:
    """Every file below ``folder`` (but the subfolder ``skip``): size, modification time and inode, to
    show that nothing there changed."""
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and skip not in path.relative_to(folder).parts:
            info = path.stat()
            found[str(path.relative_to(folder))] = (info.st_size, info.st_mtime_ns, info.st_ino)
    return found
