"""Memory housekeeping for the daemons."""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

_lock = threading.Lock()
_pausers = 0
_was_enabled = False


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Run a burst of allocations (a 10,000-row query) without cyclic GC passes.

    A large configuration keeps hundreds of thousands of objects alive; every
    collector pass triggered by a query's allocations walks them again, which
    tripled the cost of listing 10,000 instances. Nested and concurrent users
    share one pause; the collector runs again when the last one leaves.
    """
    global _pausers, _was_enabled
    with _lock:
        if _pausers == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _pausers += 1
    try:
        yield
    finally:
        with _lock:
            _pausers -= 1
            if _pausers == 0 and _was_enabled:
                gc.enable()
