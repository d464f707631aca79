"""A private sshd for tests: its own host key, config, pid file and authorized_keys.

Tests of the SSH join path need a real OpenSSH server (paramiko talking to
paramiko would prove little). This starts /usr/sbin/sshd on a loopback
address with everything under a directory of the test, the way
tools/vcluster does for its nodes, and always stops it again.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time

SSHD = "/usr/sbin/sshd"
PRIVSEP_DIR = "/run/sshd"
START_TIMEOUT = 10.0


def cannot_run_sshd() -> str | None:
    """Why sshd cannot be used here (a skip reason), or None."""
    if os.geteuid() != 0:
        return "sshd with root logins needs root"
    if not os.access(SSHD, os.X_OK):
        return "%s is not installed (Debian package openssh-server)" % SSHD
    if subprocess.run(["which", "ssh-keygen"], capture_output=True, check=False).returncode:
        return "ssh-keygen is not installed (Debian package openssh-client)"
    return None


def port_free(address: str, port: int) -> bool:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
        return True
    except OSError:
        return False
    finally:
        sock.close()


def free_port(address: str) -> int:
    """A port nobody listens on at ``address`` (the kernel picks it)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((address, 0))
        return sock.getsockname()[1]
    finally:
        sock.close()


def keygen(path: str, keytype: str = "ed25519", comment: str = "test") -> tuple[str, str]:
    """Create a key pair with ssh-keygen; returns (keytype, base64) of the public key."""
    with contextlib.suppress(OSError):
        os.unlink(path)
    with contextlib.suppress(OSError):
        os.unlink(path + ".pub")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    subprocess.run(["ssh-keygen", "-q", "-t", keytype, "-N", "", "-C", comment, "-f", path],
                   check=True, capture_output=True)
    return read_pub(path + ".pub")


def read_pub(path: str) -> tuple[str, str]:
    with open(path) as fh:
        keytype, key = fh.read().split()[:2]
    return keytype, key


def fingerprint_of(pub_path: str) -> str:
    """ssh-keygen's own SHA256 fingerprint of a public key file."""
    out = subprocess.run(["ssh-keygen", "-lf", pub_path], capture_output=True, text=True,
                         check=True).stdout
    return out.split()[1]


class Sshd:
    """One sshd; ``layout`` paths default to the directory ``base``.

    ``setenv`` becomes sshd's SetEnv (what a session sees); ``ports`` may
    list several ports, all on ``address``.
    """

    def __init__(self, base: str, address: str, ports: list[int],
                 setenv: dict[str, str] | None = None, config: str | None = None,
                 host_key: str | None = None, pidfile: str | None = None,
                 authorized_keys: str | None = None, log: str | None = None):
        self.base = base
        self.address = address
        self.ports = list(ports)
        self.setenv = dict(setenv or {})
        self.config = config or os.path.join(base, "sshd_config")
        self.host_key = host_key or os.path.join(base, "ssh_host_ed25519_key")
        self.pidfile = pidfile or os.path.join(base, "sshd.pid")
        self.authorized_keys = authorized_keys or os.path.join(base, "authorized_keys")
        self.log = log or os.path.join(base, "sshd.log")
        self.pid: int | None = None

    @property
    def port(self) -> int:
        return self.ports[0]

    def host_pub(self) -> tuple[str, str]:
        return read_pub(self.host_key + ".pub")

    def authorize(self, *lines: str) -> None:
        """Replace the authorized_keys file with these public key lines."""
        os.makedirs(os.path.dirname(self.authorized_keys), exist_ok=True)
        with open(self.authorized_keys, "w") as fh:
            fh.write("".join(line.rstrip("\n") + "\n" for line in lines))

    def write_config(self) -> None:
        def q(value: str) -> str:
            return '"%s"' % value
        lines = ["ListenAddress %s:%d" % (self.address, p) for p in self.ports] + [
            "HostKey %s" % q(self.host_key),
            "PidFile %s" % q(self.pidfile),
            "AuthorizedKeysFile %s" % q(self.authorized_keys),
            "PermitRootLogin prohibit-password",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            "StrictModes no",
            "PrintMotd no",
            "Subsystem sftp internal-sftp",
        ]
        if self.setenv:
            lines.append("SetEnv " + " ".join(q("%s=%s" % kv) for kv in self.setenv.items()))
        os.makedirs(os.path.dirname(self.config), exist_ok=True)
        with open(self.config, "w") as fh:
            fh.write("\n".join(lines) + "\n")

    def start(self, new_host_key: bool = False) -> None:
        if new_host_key or not os.path.exists(self.host_key):
            keygen(self.host_key, comment="sshd-test@" + self.address)
        if not os.path.exists(self.authorized_keys):
            self.authorize()
        self.write_config()
        os.makedirs(PRIVSEP_DIR, mode=0o755, exist_ok=True)
        os.makedirs(os.path.dirname(self.pidfile), exist_ok=True)
        with contextlib.suppress(OSError):
            os.unlink(self.pidfile)
        subprocess.run([SSHD, "-f", self.config, "-E", self.log], check=True,
                       capture_output=True, timeout=30)
        deadline = time.time() + START_TIMEOUT
        while True:
            try:
                with open(self.pidfile) as fh:
                    self.pid = int(fh.read().split()[0])
                break
            except (OSError, ValueError, IndexError):
                if time.time() > deadline:
                    raise RuntimeError("sshd did not start: %s" % self._log_tail())
                time.sleep(0.02)

    def restart(self, new_host_key: bool = False) -> None:
        self.stop()
        self.start(new_host_key=new_host_key)

    def stop(self) -> None:
        """Stop this sshd (only the pid it wrote itself); safe to call again."""
        pid, self.pid = self.pid, None
        if pid is None:
            return
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.time() + 5
        while time.time() < deadline and _alive(pid):
            time.sleep(0.02)
        if _alive(pid):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.unlink(self.pidfile)

    def _log_tail(self) -> str:
        try:
            with open(self.log) as fh:
                return fh.read()[-2000:]
        except OSError:
            return "(no log)"


def _alive(pid: int) -> bool:
    try:
        with open("/proc/%d/stat" % pid) as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


@contextlib.contextmanager
def running_sshd(*args, **kwargs):
    """An Sshd that is started on entry and always stopped on exit."""
    server = Sshd(*args, **kwargs)
    try:
        server.start()
        yield server
    finally:
        server.stop()
