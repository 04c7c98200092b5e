"""Landing's work spread over two cores: reading ahead, and writing behind.

Reading a delivery (Arrow's CSV reader, DuckDB's JSON reader, hashing a file) and
writing a group (Delta commits, feed files) run in native code that releases the GIL,
while typing and validating a group keeps the main thread busy. ``ReadAhead`` runs a
source's extraction in its own thread, a bounded number of batches ahead; ``WriteBehind``
writes one group in another thread while the main thread validates the next. Order and
exactly-once are unchanged: batches are consumed in delivery order, groups are written
one at a time in the order they were handed over (each still commits bronze, quarantine
and the ledger last), and a failure in either thread is raised in the caller's.
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

_DONE = object()

# The main thread runs Python between its native calls; a thread whose native call has
# finished waits for the GIL for up to the switch interval (5 ms by default), once per
# call. A reader or writer making hundreds of short calls would mostly wait: hand the
# GIL over faster while landing overlaps.
SWITCH_INTERVAL = 0.0005


_handover_lock = threading.Lock()
_handovers = 0
_saved_interval = 0.0


@contextmanager
def quick_handover(interval: float = SWITCH_INTERVAL) -> Iterator[None]:
    """The GIL handed over every ``interval`` seconds while any landing overlaps (the
    interval is the process's: the first run in sets it, the last one out restores it)."""
    global _handovers, _saved_interval
    with _handover_lock:
        if _handovers == 0:
            _saved_interval = sys.getswitchinterval()
            sys.setswitchinterval(min(_saved_interval, interval))
        _handovers += 1
    try:
        yield
    finally:
        with _handover_lock:
            _handovers -= 1
            if _handovers == 0:
                sys.setswitchinterval(_saved_interval)


class ReadAhead(Generic[T]):
    """The items of ``source``, produced by a thread up to ``depth`` items ahead.

    The source iterator runs entirely in that thread (a database connection it opens is
    used only there) and is closed there: when it ends, fails, or :meth:`close` asks.
    """

    def __init__(self, source: Iterable[T], depth: int = 1, name: str = "read-ahead") -> None:
        self._queue: queue.Queue[tuple[object, object]] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(source,), name=name, daemon=True)
        self._thread.start()

    def _put(self, kind: object, value: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put((kind, value), timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, source: Iterable[T]) -> None:
        items = iter(source)
        try:
            for item in items:
                if not self._put(None, item):
                    break
            else:
                self._put(_DONE, None)
        except BaseException as exc:  # raised in the consumer's thread, with its traceback
            self._put(exc, None)
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    def __iter__(self) -> Iterator[T]:
        while True:
            kind, value = self._queue.get()
            if kind is _DONE:
                return
            if isinstance(kind, BaseException):
                raise kind
            yield value  # type: ignore[misc]

    def close(self) -> None:
        """Stop producing (what was read ahead is dropped) and wait for the thread."""
        self._stop.set()
        while self._thread.is_alive():
            try:
                self._queue.get(timeout=0.05)
            except queue.Empty:
                continue
        self._thread.join()


class WriteBehind(Generic[R]):
    """Runs submitted jobs one at a time in submission order, at most one in flight:
    ``submit`` waits for the previous job (raising its error) before handing over the
    next. The thread starts with the first job handed over, so a caller that only ever
    runs jobs inline (:meth:`run`) never starts one."""

    def __init__(self, name: str = "write-behind") -> None:
        self._name = name
        self._pool: ThreadPoolExecutor | None = None
        self._pending: Future[R] | None = None

    def submit(self, job: Callable[[], R]) -> None:
        """Hand ``job`` over to the thread, once the job before it is done."""
        self.wait()
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self._name)
        self._pending = self._pool.submit(job)

    def run(self, job: Callable[[], R]) -> R:
        """Run ``job`` in this thread, once the job before it is done."""
        self.wait()
        return job()

    def wait(self) -> None:
        """Return once the job in flight is done; raise its error if it failed."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def close(self) -> None:
        """Wait for the job in flight and stop the thread. Called when the caller is
        already failing: the job's own error, if any, is logged, not raised over it."""
        pending, self._pending = self._pending, None
        if pending is not None and (exc := pending.exception()) is not None:
            log.error("%s: the group being written failed too: %s", self._name, exc)
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
