"""Cluster files the master pushes to nodes: config, certificates, ssconf.

``upload_file`` writes only files on a fixed whitelist: a master that can
write arbitrary paths on every node would be root everywhere, so the list
is closed and checked after normalising the path. The master names files
by their cluster-wide path (no virtual-cluster root); the node maps them
onto its own root with ``pathutils.add_root``.
"""

from __future__ import annotations

import grp
import os
import pwd

from ganeti import errors, pathutils
from ganeti.rpc.client import decode_file
from ganeti.utils import io

VNC_PASSWORD_FILE = pathutils.CONF_DIR + "/vnc-cluster-password"

# Cluster-wide paths (as the master names them, without a vcluster root)
UPLOAD_WHITELIST = frozenset(pathutils.strip_root(p) for p in (
    pathutils.CLUSTER_CONF_FILE, pathutils.NODED_CERT_FILE,
    pathutils.NODED_CLIENT_CERT_FILE, pathutils.RAPI_CERT_FILE,
    pathutils.SPICE_CERT_FILE, pathutils.SPICE_CACERT_FILE, pathutils.CONFD_HMAC_KEY,
    pathutils.CLUSTER_DOMAIN_SECRET_FILE, pathutils.SSH_KNOWN_HOSTS_FILE,
    pathutils.SSH_PUB_KEYS, pathutils.RAPI_USERS_FILE, pathutils.FILE_STORAGE_PATHS_FILE,
    pathutils.ETC_HOSTS, pathutils.EXTERNAL_MASTER_SETUP_SCRIPT, VNC_PASSWORD_FILE,
))


def _cluster_path(file_name: object) -> str:
    if not isinstance(file_name, str) or not os.path.isabs(file_name):
        raise errors.ParameterError("Invalid file name %r: must be an absolute path"
                                    % (file_name,))
    return pathutils.strip_root(os.path.normpath(file_name))


def _resolve_id(value: object, kind: str) -> int:
    """uid/gid from the wire: None (keep), a number, or a user/group name."""
    if value is None:
        return -1
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value:
        try:
            if kind == "user":
                return pwd.getpwnam(value).pw_uid
            return grp.getgrnam(value).gr_gid
        except KeyError:
            raise errors.ParameterError("Unknown %s '%s'" % (kind, value))
    raise errors.ParameterError("Invalid %s %r" % (kind, value))


def _check_time(value: object, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise errors.ParameterError("Invalid %s %r" % (what, value))
    return float(value)


def upload_file(file_name: str, content: list, mode: int, uid: object, gid: object,
                atime: float | None, mtime: float | None) -> None:
    """Write a whitelisted cluster file atomically and durably."""
    path = _cluster_path(file_name)
    if path not in UPLOAD_WHITELIST:
        raise errors.ParameterError("File '%s' is not allowed to be uploaded" % (file_name,))
    if isinstance(mode, bool) or not isinstance(mode, int) or not 0 <= mode <= 0o7777:
        raise errors.ParameterError("Invalid file mode %r" % (mode,))
    data = decode_file(content)
    uid_n, gid_n = _resolve_id(uid, "user"), _resolve_id(gid, "group")
    atime_f, mtime_f = _check_time(atime, "atime"), _check_time(mtime, "mtime")
    if (atime_f is None) != (mtime_f is None):
        atime_f = mtime_f = None
    target = pathutils.add_root(path)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    io.write_file_atomic(target, data, mode=mode, uid=uid_n, gid=gid_n,
                         atime=atime_f, mtime=mtime_f)


def write_ssconf_files(values: dict) -> None:
    """Replace this node's ssconf values with the master's."""
    from ganeti import ssconf
    ssconf.write_ssconf_files(ssconf.validate_values(values))
