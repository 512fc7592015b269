"""An objective over data too costly to load twice: each worker process loads its shards once, then every
call evaluates all shards in parallel.

Each worker is a one-process :class:`~concurrent.futures.ProcessPoolExecutor` whose ``initializer`` loads
the worker's share of the shards (shard ``i`` goes to worker ``i % workers``); a call submits one task per
shard to the worker that holds it. The standard library does the pooling, the pipes and the detection of
a dead worker (``BrokenProcessPool``), which is turned into :class:`~gitgrid.errors.WorkerLost` naming
the worker and its shards: a call never hangs on a dead worker, and closing shuts every worker down.
The loaded shards live in a module global of each worker process; with the ``fork`` start method (the
default on Linux) ``init`` and ``fn`` need not even be picklable.
"""

from __future__ import annotations

import os
import threading
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.context import BaseContext
from types import TracebackType
from typing import Any, Generic, TypeVar

from gitgrid.errors import OptimizeError, WorkerLost

__all__ = ["Sharded"]

S = TypeVar("S")  # a shard as given (e.g. a file name)
L = TypeVar("L")  # a shard as loaded
R = TypeVar("R")  # what fn gives for one shard

_WORKER: dict[str, Any] = {}  # in a worker process: its loaded shards, fn, and any error loading them


def _load(init: Callable[[Any], Any], fn: Callable[[Any, Any], Any], shards: dict[int, Any]) -> None:
    """A worker's initializer: load its shards once. An error is kept and raised by the first call, so
    the caller sees it with its traceback instead of a pool that broke for no visible reason."""
    _WORKER["fn"], _WORKER["loaded"] = fn, {}
    for index, shard in shards.items():
        try:
            _WORKER["loaded"][index] = init(shard)
        except BaseException as exc:
            _WORKER["error"] = (f"loading shard {index} ({shard!r}) failed: {exc!r}", traceback.format_exc())
            return


def _ready() -> int:
    if "error" in _WORKER:
        message, trace = _WORKER["error"]
        error = OptimizeError(message)
        error.add_note(trace)
        raise error
    return os.getpid()


def _call(params: Any, index: int) -> Any:
    return _WORKER["fn"](params, _WORKER["loaded"][index])


class Sharded(Generic[S, L, R]):
    """``Sharded(init, shards, fn, workers=N)``: call it with params for ``fn(params, init(shard))`` of
    every shard, in shard order (or their sum with ``reduce="sum"``). Use it as a context manager, or
    call :meth:`close`."""

    def __init__(
        self,
        init: Callable[[S], L],
        shards: Sequence[S],
        fn: Callable[[Any, L], R],
        workers: int | None = None,
        reduce: str | None = None,
        mp_context: BaseContext | None = None,
    ) -> None:
        if not shards:
            raise OptimizeError("Sharded needs at least one shard")
        if reduce not in (None, "sum"):
            raise OptimizeError(f"reduce={reduce!r}: expected None or 'sum'")
        self._count = len(shards)
        self._reduce = reduce
        self._size = max(1, min(workers or os.cpu_count() or 1, self._count))
        self._closed = threading.Event()
        self._pools = [
            ProcessPoolExecutor(
                1,
                mp_context=mp_context,
                initializer=_load,
                initargs=(init, fn, {i: shards[i] for i in range(w, self._count, self._size)}),
            )
            for w in range(self._size)
        ]
        try:
            self.pids = tuple(self._wait(w, self._submit(w, _ready)) for w in range(self._size))
        except BaseException:
            self.close()
            raise

    def shards_of(self, worker: int) -> list[int]:
        """The shards worker ``worker`` holds."""
        return list(range(worker, self._count, self._size))

    def __call__(self, params: Any) -> Any:
        if self._closed.is_set():
            raise OptimizeError("this Sharded objective was closed")
        futures = [self._submit(i % self._size, _call, params, i) for i in range(self._count)]
        results = [self._wait(i % self._size, future) for i, future in enumerate(futures)]
        return sum(results) if self._reduce == "sum" else results

    def _submit(self, worker: int, *call: Any) -> Future[Any]:
        try:
            return self._pools[worker].submit(*call)
        except BrokenProcessPool:
            raise self._lost(worker) from None

    def _wait(self, worker: int, future: Future[Any]) -> Any:
        try:
            return future.result()
        except BrokenProcessPool:
            raise self._lost(worker) from None

    def _lost(self, worker: int) -> WorkerLost:
        shards = ", ".join(map(str, self.shards_of(worker)))
        return WorkerLost(
            f"Sharded: worker {worker} (shards {shards}) died; its loaded shards are lost. "
            "Close this objective and make a new one (was it killed, or out of memory?)"
        )

    def close(self) -> None:
        """Shut every worker down and wait for it; queued calls are cancelled. Idempotent."""
        self._closed.set()
        for pool in self._pools:
            pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> Sharded[S, L, R]:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        raise TypeError("a Sharded objective lives in this process: call it from threads, not processes")
