#!/usr/bin/env python3
"""A 20-node virtual cluster: RPC fan-out and gnt-node list.

Prints, against bounds measured in the same run:
- one parallel `node_info` call to 20 nodes vs 20 sequential TLS round trips
  (a fresh connection each, as a client without keep-alive would pay; target:
  the parallel client at least 5x faster);
- `gnt-node list` wall time with 20 nodes (target < 150 ms), next to a bare
  `python3 -c pass`.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(REPO, "test", "integration"))

from cluster_env import cluster_env  # noqa: E402

NODES = 20


def median(fn, n: int = 15) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    base = tempfile.mkdtemp(prefix="bn", dir="/tmp")
    vcluster = os.path.join(REPO, "tools", "vcluster")
    try:
        start = time.perf_counter()
        subprocess.run([vcluster, "up", base, "--nodes", str(NODES)], check=True,
                       stdout=subprocess.DEVNULL)
        print("vcluster up --nodes %d: %.1f s" % (NODES, time.perf_counter() - start))
        env = cluster_env(base)
        os.environ.update({k: env[k] for k in ("GANETI_ROOTDIR", "GANETI_HOSTNAME")})
        from ganeti import ssconf
        from ganeti.rpc.client import RpcClient
        ips = ssconf.SimpleStore().get_node_primary_ips()
        targets = [(name, ip, False) for name, ip in sorted(ips.items())]
        args = [[], [["fake", {}]]]
        client = RpcClient()
        client.call("node_info", targets, args)  # warm connections
        parallel = median(lambda: client.call("node_info", targets, args))

        def sequential() -> None:
            for target in targets:
                fresh = RpcClient()
                res = fresh.call("node_info", [target], args)
                assert not res[target[0]].fail_msg
                fresh.close()

        seq = median(sequential, n=5)
        print("node_info to %d nodes: parallel %.1f ms, %d sequential fresh TLS round trips"
              " %.1f ms: %.1fx faster (target >= 5x)" % (
                  len(targets), parallel * 1e3, len(targets), seq * 1e3, seq / parallel))
        py = median(lambda: subprocess.run(["/usr/bin/python3", "-c", "pass"]))
        listing = median(lambda: subprocess.run(["gnt-node", "list"], env=env,
                                                stdout=subprocess.DEVNULL))
        print("gnt-node list with %d nodes: %.1f ms (target < 150 ms); python3 -c pass %.1f ms"
              % (NODES, listing * 1e3, py * 1e3))
    finally:
        subprocess.run([vcluster, "down", base], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
