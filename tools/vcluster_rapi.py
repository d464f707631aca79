"""The remote API of a virtual cluster (used by tools/vcluster).

``gnt-cluster init`` starts ganeti-rapi on the master's address (RAPI_ARGS
``-b <node ip>``). This module gives the cluster a RAPI user ``vcluster``
with write access and a random password, so that tests and people can use
the RAPI at once: the password goes, in cleartext and readable by the
owner only, to ``DIR/rapi.secret``; the users file of every node holds
only its ``{ha1}`` hash, so that a master failover keeps the user.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import ssl
import time
import urllib.request
from typing import Callable

RAPI_USER = "vcluster"
RAPI_PORT = 5080
SECRET_FILE = "rapi.secret"
REALM = "Ganeti Remote API"


def _user_line(password: str) -> str:
    digest = hashlib.md5(("%s:%s:%s" % (RAPI_USER, REALM, password)).encode()).hexdigest()
    return "%s {HA1}%s write" % (RAPI_USER, digest)


def _write_users_file(path: str, password: str) -> None:
    """Add (or replace) the vcluster user, keeping every other line."""
    try:
        with open(path) as fh:
            lines = [ln.rstrip("\n") for ln in fh
                     if ln.split()[:1] != [RAPI_USER]]
    except FileNotFoundError:
        lines = ["# RAPI users: NAME PASSWORD [write]"]
    lines.append(_user_line(password))
    os.makedirs(os.path.dirname(path), mode=0o750, exist_ok=True)
    tmp = path + ".vcluster-tmp"
    with open(tmp, "w") as fh:
        os.fchmod(fh.fileno(), 0o640)
        fh.write("\n".join(lines) + "\n")
    os.replace(tmp, path)


def setup_user(base: str, users_files: list[str], log: Callable[[str], None]) -> str:
    """Create the ``vcluster`` RAPI user on every node; returns its password.

    An existing ``DIR/rapi.secret`` is reused, so ``vcluster up`` on a
    running cluster does not invalidate a password someone already uses.
    """
    secret = os.path.join(base, SECRET_FILE)
    password = ""
    if os.path.exists(secret):
        with open(secret) as fh:
            password = fh.read().strip()
    if not password:
        password = secrets.token_urlsafe(18)
        fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(password + "\n")
    os.chmod(secret, 0o600)
    for path in users_files:
        _write_users_file(path, password)
    log("RAPI user %s written to %d node(s); password in %s"
        % (RAPI_USER, len(users_files), secret))
    return password


def wait_answers(ip: str, timeout: float, log: Callable[[str], None]) -> bool:
    """True once ``GET /version`` on the master's RAPI answers (TLS not verified:
    the certificate is the cluster's self-signed one)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    url = "https://%s:%d/version" % (ip, RAPI_PORT)
    deadline = time.time() + timeout
    last = ""
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, context=ctx, timeout=5) as resp:
                if resp.read().strip() == b"2":
                    return True
        except OSError as err:
            last = str(err)
        time.sleep(0.1)
    log("the RAPI at %s does not answer: %s" % (url, last))
    return False
