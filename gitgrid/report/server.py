"""``gitgrid dashboard``: the report's page served live from the repository and its store, read-only.

The standard library's HTTP server is enough: the page is one document, its data are a few small JSON
answers, and updates are polled once a second (polling works through ``ssh -L`` and proxies, and needs no
connection held per page, which server-sent events would). Each poll asks only for what changed since
its cursor (:func:`gitgrid.query.views.changed_points`), so an answer costs milliseconds with 10^5
points in the store.

No request can hold up the others (#17): each connection is read in a thread of its own (at most
:data:`CONNECTIONS`; a client that sends nothing for :data:`SOCKET_SECONDS` is dropped), and the work of
its request is done by a bounded pool of :data:`WORKERS` threads, each with its own read-only connection
to the store (no lock shared between them); the work of a request is bounded (series thinned, a live
series file sampled, at most :attr:`ViewOptions.series_runs` runs' series) and SQLite is interrupted
once a request has taken :data:`REQUEST_SECONDS`. The store is reopened when its file changes (``collect
--rebuild`` puts a new one in place). An answer that cannot be given is JSON ``{"error": "..."}``: 400
for a bad request, 404 for an unknown sweep or point, 503 when the store cannot be read (damaged,
locked) or the request took too long, 500 for anything else; nothing is printed per request.

Read-only: only GET; the store is opened with ``PRAGMA query_only`` and nothing is run, written or
deleted. It listens on 127.0.0.1 unless told otherwise, and there answers only requests whose ``Host``
names the loopback address (so a web page elsewhere cannot read it through DNS rebinding).
"""

from __future__ import annotations

import contextlib
import json
import math
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, HTTPServer, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from gitgrid.errors import GitgridError, ReportError, excerpt
from gitgrid.git.repository import Repository
from gitgrid.layout import Layout
from gitgrid.query import views
from gitgrid.report import data
from gitgrid.report.data import ViewOptions
from gitgrid.report.page import render_page
from gitgrid.store import Store, doubt_warning, store_doubt
from gitgrid.sweep.catalog import list_sweeps
from gitgrid.sweep.record import Sweep

__all__ = [
    "CONNECTIONS",
    "LOOPBACK",
    "REQUEST_SECONDS",
    "SOCKET_SECONDS",
    "WORKERS",
    "Dashboard",
    "make_server",
]

LOOPBACK = ("127.0.0.1", "localhost", "::1")
REQUEST_SECONDS = 10.0  # a request's queries are interrupted after this long, and it is answered 503
SOCKET_SECONDS = 10.0  # a client silent this long (half-open, trickling) is dropped
WORKERS = 8  # requests whose work is done at once; more wait their turn
CONNECTIONS = 512  # connections served at once (each waits on its client in a thread of its own)
Answer = tuple[HTTPStatus, str, bytes]
_WATCHED = 10_000  # running runs one update may ask about (SQLite binds at most 32,766 values)


class Dashboard:
    """The dashboard's answers, one method per path, safe to call from many threads at once: each
    thread reads the store through a connection of its own."""

    def __init__(
        self, repo: Repository, options: ViewOptions, limit: float = REQUEST_SECONDS, workers: int = WORKERS
    ) -> None:
        self.repo, self.limit = repo, limit
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gitgrid-dashboard")
        layout = Layout.of(repo)
        self.path = layout.store
        doubt = store_doubt(repo, layout)
        self.warning = doubt_warning(layout, doubt) if doubt is not None else None
        self.options = options if doubt is None else replace(options, run_dirs=False)
        self._local = threading.local()  # this thread's (store file identity, store) and deadline
        self._opened: list[Store] = []
        self._guard = threading.Lock()  # for the short shared bookkeeping only, never around a query
        self._page: bytes | None = None
        self._listed: tuple[float, list[Sweep]] = (-1e9, [])
        data.check_options(options, None, self._sweeps(), live=True)

    def store(self) -> Store | None:
        """This thread's read-only store, reopened when the file is another one than it opened (a
        rebuild renamed the old one away) or appeared; None until something has run. A request past its
        time limit is stopped here, between its queries, as SQLite stops it within one."""
        if self._late():
            raise TimeoutError("the request took too long")
        identity = _identity(self.path)
        held: tuple[tuple[int, int] | None, Store | None] | None = getattr(self._local, "held", None)
        if held is not None and held[0] == identity:
            return held[1]
        self._local.held = None
        if held is not None and held[1] is not None:
            self._forget(held[1])
        store = views.open_readonly(self.path) if identity is not None else None
        if store is not None:
            store.stop_when(self._late)
            with self._guard:
                self._opened.append(store)
        self._local.held = (identity, store)
        return store

    def _late(self) -> bool:
        """SQLite asks this every few thousand steps: a true answer interrupts the query."""
        return time.monotonic() >= getattr(self._local, "deadline", math.inf)

    def _forget(self, store: Store) -> None:
        with self._guard:
            if store in self._opened:
                self._opened.remove(store)
        store.close()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        with self._guard:
            opened, self._opened = self._opened, []
        for store in opened:
            with contextlib.suppress(Exception):
                store.close()

    def answer(self, path: str, query: dict[str, str]) -> Answer:
        if path == "/":
            with self._guard:
                if self._page is None:
                    self._page = render_page({"live": True}, "gitgrid dashboard").encode()
                return HTTPStatus.OK, "text/html; charset=utf-8", self._page
        route: Callable[[dict[str, str]], Any] | None = getattr(
            self, "api_" + path.removeprefix("/api/"), None
        )
        if not path.startswith("/api/") or route is None:
            return _json(HTTPStatus.NOT_FOUND, {"error": f"no such page: {excerpt(path)}"})
        try:  # in the pool: at most `workers` requests do work at once, each with its own store
            found = self._pool.submit(self._within_limit, path, route, query).result(self.limit + 30)
        except TimeoutError:  # stuck outside SQLite (a slow disk): answered all the same
            found = _json(
                HTTPStatus.SERVICE_UNAVAILABLE, {"error": f"{path}: no answer within {self.limit:g} s"}
            )
        if isinstance(found, tuple):
            return found
        if found is None:
            return _json(HTTPStatus.NOT_FOUND, {"error": "no such sweep or point"})
        return _json(HTTPStatus.OK, found)

    def _within_limit(self, path: str, route: Callable[[dict[str, str]], Any], query: dict[str, str]) -> Any:
        """The route's answer, or the error answer: a request taking longer than the limit is cut off
        (its queries interrupted); a store that cannot be read is a 503 the page can show."""
        self._local.deadline = time.monotonic() + self.limit
        try:
            return route(query)
        except (KeyError, ValueError) as exc:
            return _json(HTTPStatus.BAD_REQUEST, {"error": f"bad request: {excerpt(str(exc), 200)}"})
        except Exception as exc:  # the page shows the message; nothing is printed per request
            if self._late():
                message = f"{path}: stopped after {self.limit:g} s; try again, or ask for less"
                return _json(HTTPStatus.SERVICE_UNAVAILABLE, {"error": message})
            if isinstance(exc, GitgridError):
                return _json(HTTPStatus.SERVICE_UNAVAILABLE, {"error": str(exc)})
            message = f"{path}: {type(exc).__name__}: {excerpt(str(exc), 200)}"
            return _json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": message})
        finally:
            self._local.deadline = math.inf

    def _sweeps(self) -> list[Sweep]:
        """The repository's sweeps, read from git at most once a second (every poll names its sweep)."""
        with self._guard:
            listed = self._listed
        if time.monotonic() - listed[0] > 1.0:
            listed = (time.monotonic(), list_sweeps(self.repo))
            with self._guard:
                self._listed = listed
        return listed[1]

    def _sweep(self, query: dict[str, str], key: str = "sweep") -> Sweep | None:
        """The sweep a request names, only ever one of the repository's (never a free string to git)."""
        return next((s for s in self._sweeps() if s.name == query[key]), None)

    def _metrics(self, sweep: Sweep) -> list[str]:
        return views.metric_names(self.store(), sweep.name)

    def api_sweeps(self, query: dict[str, str]) -> dict[str, Any]:
        found = {"sweeps": data.home(self.repo, self.store(), self._sweeps(), self.options)}
        return found if self.warning is None else {**found, "warning": self.warning}

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
        name = query["name"]
        runs = views.shown_runs(self.store(), sweep.name)[: self.options.series_runs]
        running = views.run_cursor(self.store(), sweep.name)[1]
        return data.series(self.store(), name, runs, running, self.options)

    def api_point(self, query: dict[str, str]) -> dict[str, Any] | None:
        sweep = self._sweep(query)
        if sweep is None:
            return None
        return data.point_detail(self.repo, self.store(), sweep, _number(query["index"]), self.options)

    def api_updates(self, query: dict[str, str]) -> dict[str, Any] | None:
        sweep = self._sweep(query)
        if sweep is None:
            return None
        watched = [_number(x) for x in query.get("watch", "").split(",")[: _WATCHED + 1] if x]
        if len(watched) > _WATCHED:
            raise ValueError(f"watch: at most {_WATCHED} runs")
        return data.updates(
            self.store(), sweep, self._metrics(sweep), _number(query.get("after", "0")), watched,
            query.get("series") or None, self.options,
        )  # fmt: skip


def _identity(path: Path) -> tuple[int, int] | None:
    """Which file ``path`` is now (device, inode), or None when there is none."""
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_dev, info.st_ino


def _number(text: str) -> int:
    """A whole number from a query: what SQLite can compare (a query is anyone's text)."""
    number = int(text)
    if not -(2**63) <= number < 2**63:
        raise ValueError(f"{text[:30]} is out of range")
    return number


def _json(status: HTTPStatus, value: Any) -> Answer:
    return status, "application/json", json.dumps(value, allow_nan=False).encode()


def make_server(dashboard: Dashboard, host: str = "127.0.0.1", port: int = 8050) -> HTTPServer:
    """A server of ``dashboard`` bound to ``host:port`` (port 0: any free port), not yet serving."""
    loopback = host in LOOPBACK

    class Handler(BaseHTTPRequestHandler):
        server_version = "gitgrid"
        timeout = SOCKET_SECONDS  # a read that waits longer ends the connection

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
            with contextlib.suppress(OSError):  # the page went away
                self.wfile.write(body)

        def handle(self) -> None:
            with contextlib.suppress(OSError):  # closed, reloaded, timed out
                super().handle()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: a poll a second would flood the terminal

    if not 0 <= port <= 65535:
        raise ReportError(f"--port {port}: a port is 0-65535 (0: any free port)")
    try:
        server = _Server((host, port), Handler)
    except OSError as exc:
        raise ReportError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    return server


class _Server(ThreadingHTTPServer):
    """The standard library's threading server, with at most :data:`CONNECTIONS` connections served at
    once (one more is closed at once): a thread per connection only waits on its client, so half-open
    clients hold up no one; the work of the requests is done by the dashboard's bounded pool."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self._slots = threading.BoundedSemaphore(CONNECTIONS)
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # never a traceback per request: the client was answered, or went away
