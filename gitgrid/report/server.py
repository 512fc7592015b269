"""``gitgrid dashboard``: the report's page served live from the repository and its store, read-only.

The standard library's HTTP server is enough: the page is one document, its data are a few small JSON
answers, and updates are polled once a second (polling works through ``ssh -L`` and proxies, and needs no
connection held per page, which server-sent events would). Each poll asks only for what changed since
its cursor (:func:`gitgrid.query.views.changed_points`), so an answer costs milliseconds with 10^5
points in the store.

Read-only: only GET; the store is opened with ``PRAGMA query_only`` and nothing is run, written or
deleted. It listens on 127.0.0.1 unless told otherwise, and there answers only requests whose ``Host``
names the loopback address (so a web page elsewhere cannot read it through DNS rebinding).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from gitgrid.errors import ReportError
from gitgrid.git.repository import Repository
from gitgrid.layout import Layout
from gitgrid.query import views
from gitgrid.report import data
from gitgrid.report.data import ViewOptions
from gitgrid.report.page import render_page
from gitgrid.store import Store
from gitgrid.sweep.catalog import list_sweeps
from gitgrid.sweep.record import Sweep

__all__ = ["LOOPBACK", "Dashboard", "make_server"]

LOOPBACK = ("127.0.0.1", "localhost", "::1")
Answer = tuple[HTTPStatus, str, bytes]


class Dashboard:
    """The dashboard's answers, one method per path; one lock, so the store is used by one thread."""

    def __init__(self, repo: Repository, options: ViewOptions) -> None:
        self.repo, self.options = repo, options
        self.path = Layout.of(repo).store
        self._store: Store | None = None
        self._lock = threading.Lock()
        self._page: bytes | None = None
        self._listed: tuple[float, list[Sweep]] = (-1e9, [])
        data.check_options(options, None, self._sweeps(), live=True)

    def store(self) -> Store | None:
        if self._store is None:  # the store appears once something has run
            self._store = views.open_readonly(self.path)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()

    def answer(self, path: str, query: dict[str, str]) -> Answer:
        if path == "/":
            if self._page is None:
                self._page = render_page({"live": True}, "gitgrid dashboard").encode()
            return HTTPStatus.OK, "text/html; charset=utf-8", self._page
        route: Callable[[dict[str, str]], Any] | None = getattr(
            self, "api_" + path.removeprefix("/api/"), None
        )
        if not path.startswith("/api/") or route is None:
            return _json(HTTPStatus.NOT_FOUND, {"error": f"no such page: {path}"})
        with self._lock:
            try:
                found = route(query)
            except (KeyError, ValueError) as exc:
                return _json(HTTPStatus.BAD_REQUEST, {"error": f"bad request: {exc}"})
        if found is None:
            return _json(HTTPStatus.NOT_FOUND, {"error": "no such sweep or point"})
        return _json(HTTPStatus.OK, found)

    def _sweeps(self) -> list[Sweep]:
        """The repository's sweeps, read from git at most once a second (every poll names its sweep)."""
        if time.monotonic() - self._listed[0] > 1.0:
            self._listed = (time.monotonic(), list_sweeps(self.repo))
        return self._listed[1]

    def _sweep(self, query: dict[str, str], key: str = "sweep") -> Sweep | None:
        """The sweep a request names, only ever one of the repository's (never a free string to git)."""
        return next((s for s in self._sweeps() if s.name == query[key]), None)

    def _metrics(self, sweep: Sweep) -> list[str]:
        return views.metric_names(self.store(), sweep.name)

    def api_sweeps(self, query: dict[str, str]) -> dict[str, Any]:
        return {"sweeps": data.home(self.repo, self.store(), self._sweeps(), self.options)}

    def api_sweep(self, query: dict[str, str]) -> dict[str, Any] | None:
        sweep = self._sweep(query, "name")
        if sweep is None:
            return None
        cursor, running = views.run_cursor(self.store(), sweep.name)  # before the pages: nothing missed
        info = data.sweep_info(self.repo, self.store(), sweep, self.options)
        return {**info, "cursor": cursor, "running": running}

    def api_points(self, query: dict[str, str]) -> dict[str, Any] | None:
        sweep = self._sweep(query)
        if sweep is None:
            return None
        after, limit = _number(query.get("after", "-1")), min(_number(query.get("limit", "20000")), 100000)
        return data.points(self.repo, self.store(), sweep, self._metrics(sweep), after, limit)

    def api_series(self, query: dict[str, str]) -> dict[str, Any] | None:
        sweep = self._sweep(query)
        if sweep is None:
            return None
        runs = views.shown_runs(self.store(), sweep.name)
        running = views.run_cursor(self.store(), sweep.name)[1]
        return data.series(self.store(), query["name"], runs, running, self.options)

    def api_point(self, query: dict[str, str]) -> dict[str, Any] | None:
        sweep = self._sweep(query)
        if sweep is None:
            return None
        return data.point_detail(self.repo, self.store(), sweep, _number(query["index"]), self.options)

    def api_updates(self, query: dict[str, str]) -> dict[str, Any] | None:
        sweep = self._sweep(query)
        if sweep is None:
            return None
        watched = [_number(x) for x in query.get("watch", "").split(",") if x]
        return data.updates(
            self.store(), sweep, self._metrics(sweep), _number(query.get("after", "0")), watched,
            query.get("series") or None, self.options,
        )  # fmt: skip


def _number(text: str) -> int:
    """A whole number from a query: what SQLite can compare (a query is anyone's text)."""
    number = int(text)
    if not -(2**63) <= number < 2**63:
        raise ValueError(f"{text[:30]} is out of range")
    return number


def _json(status: HTTPStatus, value: Any) -> Answer:
    return status, "application/json", json.dumps(value, allow_nan=False).encode()


def make_server(dashboard: Dashboard, host: str = "127.0.0.1", port: int = 8050) -> ThreadingHTTPServer:
    """A server of ``dashboard`` bound to ``host:port`` (port 0: any free port), not yet serving."""
    loopback = host in LOOPBACK

    class Handler(BaseHTTPRequestHandler):
        server_version = "gitgrid"

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            hostname = (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]")
            if loopback and hostname not in LOOPBACK:
                self._send(*_json(HTTPStatus.FORBIDDEN, {"error": "the dashboard answers on 127.0.0.1 only"}))
                return
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            self._send(*dashboard.answer(parts.path, query))

        def _send(self, status: HTTPStatus, kind: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Referrer-Policy", "no-referrer")
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the page went away
                self.wfile.write(body)

        def handle(self) -> None:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # closed, reloaded
                super().handle()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: a poll a second would flood the terminal

    class Server(ThreadingHTTPServer):
        address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        daemon_threads = True

    if not 0 <= port <= 65535:
        raise ReportError(f"--port {port}: a port is 0-65535 (0: any free port)")
    try:
        server = Server((host, port), Handler)
    except OSError as exc:
        raise ReportError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    return server
