"""SSH to cluster nodes (paramiko): the transport of a node join.

``gnt-node add`` reaches a node that is not yet in the cluster, so no node
daemon and no cluster certificate can be used for it: the only channel
there is root's SSH. Everything here follows OpenSSH's rules so that an
administrator's habits and files keep working:

* the cluster keeps its own ``known_hosts`` (``pathutils.SSH_KNOWN_HOSTS_FILE``,
  OpenSSH format, ``[host]:port`` for other ports than 22) and host keys are
  checked strictly against it: an unknown or changed key stops the
  connection with the key's SHA256 fingerprint in the message, exactly the
  string ``ssh-keygen -lf`` prints, so it can be compared out of band;
* the cluster logs in as root with its own key pair (``CLUSTER_KEY_FILE``),
  never with a password, and nothing secret (passwords, stdin) is ever put
  on a command line or in a log;
* ``host_key`` + ``add_known_host`` are the trust-on-first-use path of
  ``gnt-node add --no-ssh-key-check``.

paramiko is imported lazily: most programs importing ganeti never use SSH,
and importing paramiko costs tens of milliseconds.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import hmac
import logging
import os
import select
import shlex
import socket
import struct
import threading
import time
from collections.abc import Iterator
from typing import Any

from ganeti import errors, pathutils
from ganeti.utils import io

# The cluster's SSH key pair (the lead may move these to pathutils later).
SSH_DIR = pathutils.DATA_DIR + "/ssh"
CLUSTER_KEY_FILE = SSH_DIR + "/id_ed25519"
CLUSTER_PUB_KEY_FILE = CLUSTER_KEY_FILE + ".pub"
KEY_FILE_MODE = 0o600
PUB_KEY_FILE_MODE = 0o644
KNOWN_HOSTS_MODE = 0o644

DEFAULT_PORT = 22
DEFAULT_USER = "root"
DEFAULT_TIMEOUT = 10.0
DEFAULT_COMMAND_TIMEOUT = 300.0
# After the exit status arrived, how long to wait for the end of the output:
# a remote command that leaves a child holding stdout must not hang a job.
_EOF_GRACE = 2.0
_CHUNK = 65536

# Host key algorithms the client may negotiate for a known_hosts key type.
_ALGOS_OF_TYPE = {
    "ssh-rsa": ["rsa-sha2-512", "rsa-sha2-256"],
}

_write_lock = threading.Lock()
_log = logging.getLogger(__name__)


def _paramiko() -> Any:
    """Import paramiko on first use, with a clear error if it is missing."""
    try:
        import paramiko
    except ImportError as err:  # pragma: no cover - a dependency of the project
        raise errors.OpPrereqError("SSH needs the Python module paramiko, which cannot be"
                                   " imported: %s" % err, errors.ECODE_ENVIRON)
    logger = logging.getLogger("paramiko")
    if not logger.handlers:
        # paramiko logs every failed handshake with a traceback; the errors raised
        # here say it better, so keep it off stderr (daemons still log it)
        logger.addHandler(logging.NullHandler())
    return paramiko


# --- keys and fingerprints -------------------------------------------------------

def fingerprint(key_blob: bytes) -> str:
    """OpenSSH's fingerprint of a public key blob: ``SHA256:<base64, no padding>``."""
    digest = base64.b64encode(hashlib.sha256(key_blob).digest()).decode("ascii")
    return "SHA256:" + digest.rstrip("=")


def _blob_type(blob: bytes) -> str:
    """The key type string a public key blob starts with ('' if malformed)."""
    if len(blob) < 4:
        return ""
    (length,) = struct.unpack(">I", blob[:4])
    if length > 64 or len(blob) < 4 + length:
        return ""
    return blob[4:4 + length].decode("ascii", "replace")


def decode_public_key(keytype: str, key_b64: str) -> bytes:
    """Check a (type, base64) public key as known_hosts holds it; return the blob."""
    try:
        blob = base64.b64decode(key_b64.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        raise errors.OpPrereqError("Invalid SSH public key: not base64", errors.ECODE_INVAL)
    if not keytype or _blob_type(blob) != keytype:
        raise errors.OpPrereqError("Invalid SSH public key: type '%s' does not match the key"
                                   " data ('%s')" % (keytype, _blob_type(blob)),
                                   errors.ECODE_INVAL)
    return blob


def ensure_cluster_key(key_file: str = CLUSTER_KEY_FILE, comment: str | None = None) -> str:
    """Create the cluster's root key pair unless it exists; return the public key line.

    Ed25519, because it is small, fast and accepted by every supported
    OpenSSH. The private key is written in OpenSSH format (mode 0600) with
    ``cryptography`` rather than ssh-keygen, so no external program is
    needed; the ``.pub`` file (the line to put into a node's
    authorized_keys) is recreated from the private key if it was lost.
    Safe to call concurrently and repeatedly.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    directory = os.path.dirname(key_file)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    pub_file = key_file + ".pub"
    with _write_lock, _file_lock(os.path.join(directory, ".keygen.lock")):
        if os.path.exists(key_file):
            with open(key_file, "rb") as fh:
                try:
                    key = serialization.load_ssh_private_key(fh.read(), password=None)
                except (ValueError, TypeError) as err:
                    raise errors.OpPrereqError("Cannot load the cluster SSH key %s: %s" % (
                        key_file, err), errors.ECODE_ENVIRON)
        else:
            key = ed25519.Ed25519PrivateKey.generate()
            private = key.private_bytes(serialization.Encoding.PEM,
                                        serialization.PrivateFormat.OpenSSH,
                                        serialization.NoEncryption())
            io.write_file_atomic(key_file, private, mode=KEY_FILE_MODE)
            _log.info("Created the cluster SSH key %s", key_file)
        public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                               serialization.PublicFormat.OpenSSH).decode()
        line = public + " " + (comment or "ganeti-cluster@%s" % _short_hostname())
        try:
            with open(pub_file, encoding="ascii") as fh:
                current = fh.read().split()
        except (OSError, UnicodeDecodeError):
            current = []
        if current[:2] != public.split()[:2]:
            io.write_file_atomic(pub_file, line + "\n", mode=PUB_KEY_FILE_MODE)
        else:
            line = " ".join(current)
    return line


def _short_hostname() -> str:
    return (pathutils.HOSTNAME_OVERRIDE or socket.gethostname()).split(".")[0]


@contextlib.contextmanager
def _file_lock(path: str) -> Iterator[None]:
    """Exclusive lock between processes (masterd jobs and command-line tools)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _load_private_key(path: str) -> Any:
    paramiko = _paramiko()
    if not os.path.exists(path):
        raise errors.OpPrereqError(
            "The cluster's SSH key %s does not exist; it is created by 'gnt-cluster init'"
            " (ganeti.ssh.ensure_cluster_key), and its public half must be in root's"
            " authorized_keys on every node" % path, errors.ECODE_ENVIRON)
    try:
        return paramiko.PKey.from_path(path)
    except (OSError, paramiko.SSHException, ValueError) as err:
        raise errors.OpPrereqError("Cannot load the SSH key %s: %s" % (path, err),
                                   errors.ECODE_ENVIRON)


# --- known_hosts ------------------------------------------------------------------

def known_hosts_name(host: str, port: int = DEFAULT_PORT) -> str:
    """How OpenSSH names a host in known_hosts: ``host`` or ``[host]:port``."""
    return host if port == DEFAULT_PORT else "[%s]:%d" % (host, port)


def _entry_matches(field: str, names: set[str]) -> bool:
    """Does the host field of a known_hosts line name one of ``names``?

    Handles plain comma lists and hashed entries (``|1|salt|hash``), the
    two forms ssh-keygen writes; wildcard patterns are not rewritten.
    """
    for pattern in field.split(","):
        if pattern.startswith("|1|"):
            try:
                _, _, salt_b64, hash_b64 = pattern.split("|")
                salt = base64.b64decode(salt_b64)
                wanted = base64.b64decode(hash_b64)
            except ValueError:
                continue
            for name in names:
                if hmac.compare_digest(hmac.new(salt, name.encode(), hashlib.sha1).digest(),
                                       wanted):
                    return True
        elif pattern in names:
            return True
    return False


def _known_keys(known_hosts_file: str, name: str) -> list[tuple[str, bytes]]:
    """(keytype, blob) of every key known_hosts has for ``name`` (marker lines skipped)."""
    try:
        with open(known_hosts_file, encoding="utf-8", errors="replace") as fh:
            lines = fh.readlines()
    except FileNotFoundError:
        return []
    except OSError as err:
        raise errors.OpPrereqError("Cannot read the cluster's known hosts file %s: %s" % (
            known_hosts_file, err.strerror), errors.ECODE_ENVIRON)
    found = []
    for line in lines:
        fields = line.split()
        if len(fields) < 3 or fields[0].startswith("#") or fields[0].startswith("@"):
            continue
        if not _entry_matches(fields[0], {name}):
            continue
        try:
            blob = base64.b64decode(fields[2], validate=True)
        except ValueError:
            continue
        found.append((fields[1], blob))
    return found


def add_known_host(name_or_ip: str, keytype: str, key_b64: str,
                   known_hosts_file: str = pathutils.SSH_KNOWN_HOSTS_FILE,
                   port: int = DEFAULT_PORT) -> None:
    """Record a host key; replaces every earlier line naming any of the names.

    ``name_or_ip`` may list several names separated by commas (``name,ip``,
    as OpenSSH writes them). Replacing rather than appending is what makes
    ``--readd`` of a reinstalled node (new host key) possible after the
    administrator accepted the new key.
    """
    decode_public_key(keytype, key_b64)
    names = [n.strip() for n in name_or_ip.split(",") if n.strip()]
    if not names or any(c.isspace() or c in "#@" for n in names for c in n):
        raise errors.OpPrereqError("Invalid host name(s) for known_hosts: %r" % name_or_ip,
                                   errors.ECODE_INVAL)
    wanted = [known_hosts_name(n, port) for n in names]
    _rewrite_known_hosts(known_hosts_file, set(wanted),
                         "%s %s %s\n" % (",".join(wanted), keytype, key_b64))


def remove_known_host(name_or_ip: str,
                      known_hosts_file: str = pathutils.SSH_KNOWN_HOSTS_FILE,
                      port: int = DEFAULT_PORT) -> None:
    """Forget every key of the given host name(s) (e.g. after gnt-node remove)."""
    names = {known_hosts_name(n.strip(), port) for n in name_or_ip.split(",") if n.strip()}
    _rewrite_known_hosts(known_hosts_file, names, "")


def _rewrite_known_hosts(path: str, names: set[str], new_line: str) -> None:
    directory = os.path.dirname(path) or "."
    with _write_lock, _file_lock(os.path.join(directory, "." + os.path.basename(path) + ".lock")):
        try:
            with open(path, encoding="utf-8", errors="surrogateescape") as fh:
                lines = fh.readlines()
            mode = os.stat(path).st_mode & 0o777
        except FileNotFoundError:
            lines, mode = [], KNOWN_HOSTS_MODE
        kept = []
        for line in lines:
            fields = line.split()
            if fields and not fields[0].startswith(("#", "@")) and \
                    _entry_matches(fields[0], names):
                continue
            kept.append(line if line.endswith("\n") else line + "\n")
        io.write_file_atomic(path, "".join(kept) + new_line, mode=mode)


# --- the runner -------------------------------------------------------------------

def _label(host: str, node_name: str | None) -> str:
    """How messages name a node: its name and the address actually used."""
    return "%s (%s)" % (node_name, host) if node_name and node_name != host else host


class SshRunner:
    """Run commands and copy files on nodes as root over SSH.

    Every call opens its own connection: joins and the few other uses are
    rare, and one connection per call means no state survives an error.
    """

    def __init__(self, known_hosts_file: str = pathutils.SSH_KNOWN_HOSTS_FILE,
                 key_file: str = CLUSTER_KEY_FILE, port: int = DEFAULT_PORT,
                 timeout: float = DEFAULT_TIMEOUT, user: str = DEFAULT_USER,
                 command_timeout: float = DEFAULT_COMMAND_TIMEOUT):
        self.known_hosts_file = known_hosts_file
        self.key_file = key_file
        self.port = port
        self.timeout = timeout
        self.user = user
        self.command_timeout = command_timeout
        self._pkey: Any = None

    # -- connection ---------------------------------------------------------
    def _open_socket(self, host: str, port: int, label: str) -> socket.socket:
        from ganeti import netutils
        try:
            # names resolve as everywhere in Ganeti (a virtual node's etc/hosts first)
            address = host if netutils.is_valid_ip(host) else \
                netutils.resolve_hostname(host).ip
            return socket.create_connection((address, port), timeout=self.timeout)
        except errors.ResolverError as err:
            reason = "cannot resolve the name (%s)" % (err.args[-1],)
        except socket.gaierror as err:
            reason = "cannot resolve the address (%s)" % err.strerror
        except TimeoutError:
            reason = "no answer within %g s (address unreachable or filtered?)" % self.timeout
        except ConnectionRefusedError:
            reason = "connection refused (is sshd running there?)"
        except OSError as err:
            reason = err.strerror or str(err)
        raise errors.OpPrereqError("Cannot connect to %s port %d over SSH: %s" % (
            label, port, reason), errors.ECODE_ENVIRON)

    def _known_key_types(self, host: str, port: int) -> list[str]:
        return [t for t, _ in _known_keys(self.known_hosts_file, known_hosts_name(host, port))]

    def _start_transport(self, host: str, port: int, prefer: list[str],
                         label: str | None = None) -> Any:
        paramiko = _paramiko()
        label = label or host
        sock = self._open_socket(host, port, label)
        transport = paramiko.Transport(sock)
        transport.banner_timeout = self.timeout
        transport.auth_timeout = self.timeout
        if prefer:
            opts = transport.get_security_options()
            first: list[str] = []
            for keytype in prefer:
                first.extend(a for a in _ALGOS_OF_TYPE.get(keytype, [keytype])
                             if a in opts.key_types and a not in first)
            opts.key_types = first + [a for a in opts.key_types if a not in first]
        try:
            transport.start_client(timeout=self.timeout)
            if not getattr(transport, "initial_kex_done", transport.is_active()):
                # start_client returns quietly when its timeout expires
                raise paramiko.SSHException("no SSH answer within %g s" % self.timeout)
        except (paramiko.SSHException, OSError, EOFError) as err:
            transport.close()
            raise errors.OpPrereqError("SSH handshake with %s port %d failed: %s" % (
                label, port, err or type(err).__name__), errors.ECODE_ENVIRON)
        return transport

    def _check_host_key(self, host: str, port: int, server_key: Any, label: str) -> None:
        name = known_hosts_name(host, port)
        blob = server_key.asbytes()
        keytype = server_key.get_name()
        known = _known_keys(self.known_hosts_file, name)
        if not known:
            raise errors.OpPrereqError(
                "The SSH host key of %s is not known: the server offered %s %s, and the"
                " cluster's known hosts file %s has no key for '%s'. Check the"
                " fingerprint on the node (ssh-keygen -lf on its host key) and add the key,"
                " or use --no-ssh-key-check to accept it" % (
                    label, keytype, fingerprint(blob), self.known_hosts_file, name),
                errors.ECODE_ENVIRON)
        if any(t == keytype and b == blob for t, b in known):
            return
        was = ", ".join("%s %s" % (t, fingerprint(b)) for t, b in known)
        raise errors.OpPrereqError(
            "The SSH host key of %s has CHANGED: the server offered %s %s, but the"
            " cluster's known hosts file %s has %s. Someone could be intercepting the"
            " connection, or the node was reinstalled; refusing to connect. If the change"
            " is expected, remove the old key from %s (or re-add the node with"
            " --no-ssh-key-check)" % (label, keytype, fingerprint(blob), self.known_hosts_file,
                                      was, self.known_hosts_file),
            errors.ECODE_ENVIRON)

    @contextlib.contextmanager
    def _session(self, host: str, port: int | None, check_host_key: bool = True,
                 node_name: str | None = None) -> Iterator[Any]:
        """An authenticated transport to ``host``; closed on exit."""
        paramiko = _paramiko()
        port = port or self.port
        label = _label(host, node_name)
        if self._pkey is None:
            self._pkey = _load_private_key(self.key_file)
        prefer = self._known_key_types(host, port) if check_host_key else []
        transport = self._start_transport(host, port, prefer, label)
        try:
            if check_host_key:
                self._check_host_key(host, port, transport.get_remote_server_key(), label)
            try:
                transport.auth_publickey(self.user, self._pkey)
            except paramiko.BadAuthenticationType as err:
                raise errors.OpPrereqError(
                    "Permission denied for %s@%s port %d: the server does not accept public"
                    " keys (it allows: %s)" % (self.user, label, port,
                                                ", ".join(err.allowed_types) or "nothing"),
                    errors.ECODE_ENVIRON)
            except paramiko.AuthenticationException:
                raise errors.OpPrereqError(
                    "Permission denied for %s@%s port %d: the cluster's SSH key %s (%s %s) was"
                    " refused; its public half (%s.pub) must be in %s's authorized_keys on"
                    " the node, and the node must permit key logins for %s" % (
                        self.user, label, port, self.key_file, self._pkey.get_name(),
                        fingerprint(self._pkey.asbytes()), self.key_file, self.user,
                        self.user), errors.ECODE_ENVIRON)
            except (paramiko.SSHException, OSError, EOFError) as err:
                raise errors.OpPrereqError("SSH authentication with %s port %d failed: %s" % (
                    label, port, err or type(err).__name__), errors.ECODE_ENVIRON)
            yield transport
        finally:
            transport.close()

    # -- public API ------------------------------------------------------------
    def host_key(self, host: str, port: int | None = None,
                 node_name: str | None = None) -> tuple[str, str]:
        """The server's host key as (keytype, base64), without trusting it.

        For ``--no-ssh-key-check``: the caller records it with
        ``add_known_host`` and then connects with strict checking as usual.
        """
        port = port or self.port
        transport = self._start_transport(host, port, [], _label(host, node_name))
        try:
            key = transport.get_remote_server_key()
            _log.info("SSH host key of %s port %d: %s %s", host, port, key.get_name(),
                      fingerprint(key.asbytes()))
            return key.get_name(), key.get_base64()
        finally:
            transport.close()

    def add_known_host(self, name_or_ip: str, keytype: str, key_b64: str) -> None:
        """Record a host key in this runner's known_hosts (for this runner's port)."""
        add_known_host(name_or_ip, keytype, key_b64, self.known_hosts_file, self.port)

    def run(self, host_address: str, command: list[str] | str, stdin: bytes | None = None,
            check_host_key: bool = True, port: int | None = None,
            timeout: float | None = None,
            node_name: str | None = None) -> tuple[int, str, str]:
        """Run a command as root on a node; returns (exit code, stdout, stderr).

        A list is quoted for the remote shell, a string is passed as a shell
        command line. ``stdin`` (e.g. a document with certificates) is sent
        over the channel and never logged. Exit code -1 means the command
        ended without an exit status (killed by a signal). Connection and
        authentication problems raise OpPrereqError, a command that does not
        finish within ``timeout`` (default: ``command_timeout``) raises
        OpExecError. ``node_name`` only makes messages name the node next to
        its address.
        """
        cmd = command if isinstance(command, str) else shlex.join(command)
        limit = self.command_timeout if timeout is None else timeout
        _log.info("SSH %s@%s: %s", self.user, host_address, cmd)
        started = time.monotonic()
        label = _label(host_address, node_name)
        with self._session(host_address, port, check_host_key, node_name) as transport:
            try:
                chan = transport.open_session(timeout=self.timeout)
                chan.exec_command(cmd)
            except (_paramiko().SSHException, OSError, EOFError) as err:
                raise errors.OpExecError("Cannot start a command on %s over SSH: %s" % (
                    label, err or type(err).__name__))
            try:
                code, out, err = self._collect(chan, stdin, started + limit, label, limit)
            finally:
                chan.close()
        _log.info("SSH %s@%s: exit code %d after %.2f s", self.user, host_address, code,
                  time.monotonic() - started)
        return code, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")

    @staticmethod
    def _collect(chan: Any, stdin: bytes | None, deadline: float, host: str,
                 limit: float) -> tuple[int, bytes, bytes]:
        """Feed stdin (in a thread, so big inputs cannot deadlock) and read both streams."""
        feeder_error: list[BaseException] = []

        def feed() -> None:
            try:
                if stdin:
                    chan.sendall(stdin)
                chan.shutdown_write()
            except (OSError, EOFError, _paramiko().SSHException) as exc:
                feeder_error.append(exc)  # the command may exit without reading it all

        feeder = threading.Thread(target=feed, name="ssh-stdin", daemon=True)
        feeder.start()
        out: list[bytes] = []
        err: list[bytes] = []
        status_seen: float | None = None
        while True:
            if chan.recv_ready():
                out.append(chan.recv(_CHUNK))
                continue
            if chan.recv_stderr_ready():
                err.append(chan.recv_stderr(_CHUNK))
                continue
            now = time.monotonic()
            if chan.exit_status_ready():
                if chan.eof_received or chan.closed:
                    break
                status_seen = status_seen or now
                if now - status_seen > _EOF_GRACE:
                    break
            if now > deadline:
                raise errors.OpExecError("Command on %s did not finish within %g s" % (
                    host, limit))
            select.select([chan], [], [], min(0.2, max(deadline - now, 0.01)))
        code = chan.recv_exit_status()
        feeder.join(1.0)
        return code, b"".join(out), b"".join(err)

    def put_file(self, host: str, local_or_bytes: str | bytes, remote_path: str,
                 mode: int = 0o644, check_host_key: bool = True,
                 port: int | None = None, node_name: str | None = None) -> None:
        """Copy a file (a local path, or the content as bytes) to a node over SFTP.

        Written to a temporary name, given its mode and renamed, so readers
        on the node never see half a file. ``remote_path`` is the path as
        the node's sshd sees it: a virtual-cluster node's GANETI_ROOTDIR is
        not applied (the caller adds it).
        """
        if isinstance(local_or_bytes, str):
            with open(local_or_bytes, "rb") as fh:
                data = fh.read()
        else:
            data = bytes(local_or_bytes)
        paramiko = _paramiko()
        directory, base = os.path.split(remote_path)
        tmp = "%s/.%s.%d.tmp" % (directory or ".", base, os.getpid())
        label = _label(host, node_name)
        with self._session(host, port, check_host_key, node_name) as transport:
            try:
                sftp = paramiko.SFTPClient.from_transport(transport)
            except (paramiko.SSHException, OSError, EOFError) as err:
                raise errors.OpExecError("Cannot open an SFTP session to %s: %s" % (
                    label, err or type(err).__name__))
            try:
                with sftp.open(tmp, "wb") as fh:
                    fh.set_pipelined(True)
                    fh.write(data)
                sftp.chmod(tmp, mode)
                try:
                    sftp.posix_rename(tmp, remote_path)
                except OSError:
                    # servers without the posix-rename extension refuse to overwrite
                    with contextlib.suppress(OSError):
                        sftp.remove(remote_path)
                    sftp.rename(tmp, remote_path)
            except OSError as err:
                with contextlib.suppress(OSError):
                    sftp.remove(tmp)
                raise errors.OpExecError("Cannot write %s on %s over SFTP: %s" % (
                    remote_path, label, err.strerror or err))
            finally:
                sftp.close()
        _log.info("SFTP %s@%s: wrote %s (%d bytes, mode %o)", self.user, host, remote_path,
                  len(data), mode)
