"""What the watcher does on every node, master or not: daemons and hooks.

These steps need no cluster-wide knowledge, so they run before the
watcher even tries to reach the master: a node whose node daemon died
gets it back within one cron period, whether or not the master is up.
"""

from __future__ import annotations

import json
import logging
import os
import re
import ssl
import subprocess
import time
import urllib.error
import urllib.request

from ganeti import constants, pathutils

#: Hook script names accepted (run-parts rules: no dots, so no editor backups).
_HOOK_NAME_RE = re.compile(r"^[a-zA-Z0-9_-]+$")
#: Seconds one watcher hook may run; the next cron run must not pile up behind it.
HOOK_TIMEOUT = 300
#: Seconds daemon-util may need to start a daemon.
DAEMON_UTIL_TIMEOUT = 120

NODE_DAEMONS = ("ganeti-noded",)
MASTER_DAEMONS = ("ganeti-masterd",)
#: Started only where installed: the RAPI daemon is optional in this project.
OPTIONAL_MASTER_DAEMONS = ("ganeti-rapi",)


def hooks_dir() -> str:
    return os.path.join(pathutils.HOOKS_BASE_DIR, "watcher")


def daemon_util(*args: str) -> subprocess.CompletedProcess:
    """Run daemon-util (it knows how daemons are started on this node, incl. vcluster)."""
    return subprocess.run([pathutils.DAEMON_UTIL, *args], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=DAEMON_UTIL_TIMEOUT,
                          check=False)


def daemon_installed(name: str) -> bool:
    try:
        return daemon_util("daemon-executable", name).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def ensure_daemon(name: str) -> bool:
    """Start ``name`` unless it runs; False (and a log entry) if that failed.

    Exit code 11 of a master daemon means "this node is not the master",
    which is an answer, not a failure.
    """
    try:
        res = daemon_util("check-and-start", name)
    except (OSError, subprocess.SubprocessError) as err:
        logging.error("Can't run daemon-util for %s: %s", name, err)
        return False
    if res.returncode == 0:
        return True
    if res.returncode == 11:
        logging.info("%s reports that this node is not the master", name)
        return False
    logging.error("Can't start daemon %s (exit code %s): %s", name, res.returncode,
                  (res.stderr or res.stdout).strip())
    return False


def ensure_node_daemons() -> None:
    for name in NODE_DAEMONS:
        ensure_daemon(name)


def ensure_master_daemons() -> None:
    for name in MASTER_DAEMONS:
        ensure_daemon(name)
    for name in OPTIONAL_MASTER_DAEMONS:
        if daemon_installed(name):
            ensure_daemon(name)


def _run_hook(path: str) -> tuple[bool, str]:
    """Run one hook with a plain environment; (success, output)."""
    env = {"PATH": "/sbin:/bin:/usr/sbin:/usr/bin"}
    for key in ("GANETI_ROOTDIR", "GANETI_HOSTNAME"):
        if key in os.environ:  # lets hooks of virtual-cluster nodes find their node
            env[key] = os.environ[key]
    try:
        res = subprocess.run([path], env=env, cwd=os.path.dirname(path),
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, timeout=HOOK_TIMEOUT,
                             start_new_session=True, check=False)
    except subprocess.TimeoutExpired:
        return False, "timeout after %d seconds" % HOOK_TIMEOUT
    except OSError as err:
        return False, "can't execute: %s" % (err.strerror or err)
    return res.returncode == 0, res.stdout.decode("utf-8", "replace").strip()


def run_hooks(directory: str | None = None) -> list[tuple[str, str, str]]:
    """Run the watcher hooks in name order; ``(name, success|failure|skipped, output)``.

    Results are only logged: a broken site hook must not keep the watcher
    from restarting instances.
    """
    directory = directory or hooks_dir()
    try:
        names = sorted(os.listdir(directory))
    except FileNotFoundError:
        return []
    except OSError as err:
        logging.error("Can't list watcher hooks in %s: %s", directory, err.strerror or err)
        return []
    results = []
    for name in names:
        path = os.path.join(directory, name)
        if not _HOOK_NAME_RE.match(name) or not os.path.isfile(path) or \
                not os.access(path, os.X_OK):
            logging.debug("Watcher hook %s: skipped", name)
            results.append((name, "skipped", ""))
            continue
        ok, output = _run_hook(path)
        if ok:
            logging.info("Watcher hook %s: success (output: %s)", name, output)
        else:
            logging.warning("Watcher hook %s: failure (output: %s)", name, output)
        results.append((name, "success" if ok else "failure", output))
    return results


RAPI_VERSION = 2

#: how long the RAPI may take to answer GET /version before it counts as hung
RAPI_CHECK_TIMEOUT = 10.0


def rapi_answers(address: str, port: int = constants.DEFAULT_RAPI_PORT,
                 timeout: float = RAPI_CHECK_TIMEOUT) -> bool:
    """Does the RAPI answer ``GET /version`` with 2 (or 401: alive, wants a user)?"""
    host = "[%s]" % address if ":" in address else address
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE        # its own self-signed certificate
    try:
        with urllib.request.urlopen("https://%s:%d/version" % (host, port), context=ctx,
                                    timeout=timeout) as resp:
            return json.loads(resp.read().decode("utf-8")) == RAPI_VERSION
    except urllib.error.HTTPError as err:
        return err.code == 401
    except (OSError, ValueError):
        return False


def check_rapi(address: str) -> bool:
    """Restart a RAPI daemon that runs but does not answer; True if it answers now."""
    if not daemon_installed("ganeti-rapi"):
        return True
    if rapi_answers(address):
        return True
    logging.warning("The RAPI daemon does not answer on %s, restarting it", address)
    daemon_util("stop", "ganeti-rapi")
    ensure_daemon("ganeti-rapi")
    for _ in range(20):
        if rapi_answers(address, timeout=2):
            logging.info("The RAPI daemon answers again")
            return True
        time.sleep(0.5)
    logging.error("The RAPI daemon still does not answer on %s after a restart", address)
    return False
