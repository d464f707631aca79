"""Files the master pushes to nodes: config, ssconf, certificates, queue."""

from __future__ import annotations

import os

from ganeti import errors, pathutils
from ganeti.utils import io

# Cluster-wide paths (as the master names them, without a vcluster root)
UPLOAD_WHITELIST = frozenset(pathutils.strip_root(p) for p in (
    pathutils.CLUSTER_CONF_FILE, pathutils.NODED_CERT_FILE, pathutils.RAPI_CERT_FILE,
    pathutils.SPICE_CERT_FILE, pathutils.SPICE_CACERT_FILE, pathutils.CONFD_HMAC_KEY,
    pathutils.CLUSTER_DOMAIN_SECRET_FILE, pathutils.SSH_KNOWN_HOSTS_FILE,
    pathutils.RAPI_USERS_FILE, pathutils.FILE_STORAGE_PATHS_FILE, pathutils.ETC_HOSTS,
    pathutils.EXTERNAL_MASTER_SETUP_SCRIPT, pathutils.SSH_PUB_KEYS,
))


def upload_file(file_name: str, data, mode: int, uid, gid, atime, mtime) -> None:
    if not isinstance(file_name, str) or file_name not in UPLOAD_WHITELIST:
        raise errors.ParameterError("File '%s' is not allowed to be uploaded" % (file_name,))
    from ganeti.rpc.client import decode_file
    content = decode_file(data)
    target = pathutils.add_root(file_name)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if not isinstance(mode, int) or not 0 <= mode <= 0o7777:
        raise errors.ParameterError("Invalid file mode %r" % (mode,))
    times = (float(atime), float(mtime)) if atime is not None and mtime is not None else (None, None)
    io.write_file_atomic(target, content, mode=mode, atime=times[0], mtime=times[1])


def write_ssconf_files(values: dict) -> None:
    if not isinstance(values, dict):
        raise errors.ParameterError("ssconf values must be a dict")
    from ganeti import ssconf
    ssconf.write_ssconf_files(values)


def _queue_path(file_name: str) -> str:
    if not isinstance(file_name, str):
        raise errors.ParameterError("Invalid queue file name")
    path = os.path.normpath(pathutils.add_root(file_name))
    queue = os.path.normpath(pathutils.QUEUE_DIR)
    if not path.startswith(queue + os.sep):
        raise errors.ParameterError("Passed job queue file '%s' is not inside the queue"
                                    " directory" % file_name)
    return path


def jobqueue_update(file_name: str, content) -> None:
    from ganeti.rpc.client import decode_file
    path = _queue_path(file_name)
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    io.write_file_atomic(path, decode_file(content), mode=0o640)


def jobqueue_rename(pairs: list) -> None:
    if not isinstance(pairs, list):
        raise errors.ParameterError("jobqueue_rename needs a list of [old, new] pairs")
    for old, new in pairs:
        src, dst = _queue_path(old), _queue_path(new)
        os.makedirs(os.path.dirname(dst), mode=0o700, exist_ok=True)
        os.rename(src, dst)


def jobqueue_purge() -> None:
    import shutil
    shutil.rmtree(pathutils.QUEUE_DIR, ignore_errors=True)


def jobqueue_set_drain_flag(flag: bool) -> None:
    if flag:
        os.makedirs(pathutils.QUEUE_DIR, mode=0o700, exist_ok=True)
        io.write_file_atomic(pathutils.JOB_QUEUE_DRAIN_FILE, b"", mode=0o644)
    else:
        io.remove_file(pathutils.JOB_QUEUE_DRAIN_FILE)
