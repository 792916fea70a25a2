"""Run an iterable in a background thread so that producing (decoding) overlaps consuming."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

_POLL_S = 0.05  # how often a blocked producer checks whether the consumer has gone
_DONE = object()


class _Raised:
    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def prefetch(iterable: Iterable[T], maxsize: int = 8) -> Iterator[T]:
    """Iterate ``iterable`` in a daemon thread, handing items over through a bounded queue.

    Parameters
    ----------
    iterable : Iterable
        Produces the items (e.g. a :class:`~app.core.media.reader.FrameReader`). It is iterated only
        in the background thread; its ``close()``, if any, is called there when the consumer stops
        early.
    maxsize : int, default 8
        At most this many items wait in the queue (bounds memory: 8 frames of 1080p are ~50 MB).

    Returns
    -------
    Iterator
        A generator. The thread starts at the first ``next()``. An exception raised by the iterable
        is re-raised in the consumer. Closing the generator (``break`` out of a ``for`` loop, or
        garbage collection) stops the thread promptly and joins it.
    """
    if maxsize < 1:
        raise ValueError(f"maxsize must be at least 1, got {maxsize}")
    return _consume(iterable, maxsize)


def _consume(iterable: Iterable[T], maxsize: int) -> Iterator[T]:
    items: queue.Queue[object] = queue.Queue(maxsize)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        iterator = None
        try:
            iterator = iter(iterable)
            for item in iterator:
                if not put(item):
                    break
        except BaseException as exc:  # handed to the consumer, which re-raises it
            put(_Raised(exc))
            return
        finally:
            close = getattr(iterator, "close", None)
            if stop.is_set() and callable(close):
                try:
                    close()
                except Exception:  # noqa: BLE001 - the consumer has gone; nothing to report to
                    pass
        put(_DONE)

    thread = threading.Thread(target=produce, name="vigil-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = items.get()
            if item is _DONE:
                return
            if isinstance(item, _Raised):
                raise item.exc
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        thread.join(timeout=10.0)
