"""Bounds the benchmarks compare against, measured in the same run."""

from __future__ import annotations

import os
import statistics
import subprocess
import time


def fsync_bound(directory: str, n: int = 200, size: int = 1000) -> float:
    """Median seconds of one durable job-file-sized write (temp, fsync, rename, dir fsync)."""
    from ganeti.utils import io
    payload = b"x" * size
    times = []
    for i in range(n):
        start = time.perf_counter()
        io.write_file_atomic(os.path.join(directory, "bench-%d" % (i % 10)), payload)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def median_wall(cmd: list[str], env: dict, n: int = 15) -> float:
    """Median wall-clock seconds of running a command ``n`` times (output discarded)."""
    times = []
    for _ in range(n):
        start = time.perf_counter()
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)
