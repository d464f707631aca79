"""Filesystem layout of a node.

Every path is computed once from three inputs: the install prefixes
written by ``./configure`` (``_autoconf.py``, optional), and the
environment variables ``GANETI_ROOTDIR`` (a virtual cluster node's root
directory, prepended to every state path) and ``GANETI_HOSTNAME`` (the
node's own name in that mode). Both variables are what upstream's
virtual-cluster mode uses, so its habits carry over.
"""

from __future__ import annotations

import os

try:  # written by ./configure; absent in a plain checkout
    from ganeti import _autoconf as _ac  # type: ignore
    SYSCONFDIR = _ac.SYSCONFDIR
    LOCALSTATEDIR = _ac.LOCALSTATEDIR
    PREFIX = _ac.PREFIX
except ImportError:  # pragma: no cover - defaults without configure
    SYSCONFDIR = "/etc"
    LOCALSTATEDIR = "/var"
    PREFIX = "/usr/local"

ROOTDIR = os.environ.get("GANETI_ROOTDIR", "").rstrip("/")
VIRT_CLUSTER = bool(ROOTDIR)
HOSTNAME_OVERRIDE = os.environ.get("GANETI_HOSTNAME") or None


def _r(path: str) -> str:
    return ROOTDIR + path


# Top-level directories
DATA_DIR = _r(LOCALSTATEDIR + "/lib/ganeti")
RUN_DIR = _r(LOCALSTATEDIR + "/run/ganeti")
LOG_DIR = _r(LOCALSTATEDIR + "/log/ganeti")
LOCK_DIR = _r(LOCALSTATEDIR + "/lock")
CONF_DIR = _r(SYSCONFDIR + "/ganeti")
SOCKET_DIR = RUN_DIR + "/socket"

# Cluster data
CLUSTER_CONF_FILE = DATA_DIR + "/config.data"
SSCONF_PREFIX = "ssconf_"
NODED_CERT_FILE = DATA_DIR + "/server.pem"
NODED_CLIENT_CERT_FILE = DATA_DIR + "/client.pem"
RAPI_CERT_FILE = DATA_DIR + "/rapi.pem"
SPICE_CERT_FILE = DATA_DIR + "/spice.pem"
SPICE_CACERT_FILE = DATA_DIR + "/spice-ca.pem"
CONFD_HMAC_KEY = DATA_DIR + "/hmac.key"
CLUSTER_DOMAIN_SECRET_FILE = DATA_DIR + "/cluster-domain-secret"
SSH_KNOWN_HOSTS_FILE = DATA_DIR + "/known_hosts"
SSH_PUB_KEYS = DATA_DIR + "/ganeti_pub_keys"
RAPI_USERS_FILE = DATA_DIR + "/rapi/users"
WATCHER_PAUSEFILE = DATA_DIR + "/watcher.pause"
WATCHER_GROUP_STATE_FILE = DATA_DIR + "/watcher.%s.data"
WATCHER_GROUP_INSTANCE_STATUS_FILE = DATA_DIR + "/watcher.%s.instance-status"
INSTANCE_STATUS_FILE = RUN_DIR + "/instance-status"
WATCHER_LOCK_FILE = LOCK_DIR + "/ganeti-watcher.lock"
SSCONF_LOCK_FILE = LOCK_DIR + "/ganeti-ssconf.lock"
ETC_HOSTS = _r("/etc/hosts")
FILE_STORAGE_PATHS_FILE = CONF_DIR + "/file-storage-paths"
HOOKS_BASE_DIR = CONF_DIR + "/hooks"
EXTERNAL_MASTER_SETUP_SCRIPT = CONF_DIR + "/scripts/master-ip-setup"
RESTRICTED_COMMANDS_DIR = CONF_DIR + "/restricted-commands"

# Job queue
QUEUE_DIR = DATA_DIR + "/queue"
JOB_QUEUE_ARCHIVE_DIR = QUEUE_DIR + "/archive"
JOB_QUEUE_SERIAL_FILE = QUEUE_DIR + "/serial"
JOB_QUEUE_VERSION_FILE = QUEUE_DIR + "/version"
JOB_QUEUE_LOCK_FILE = QUEUE_DIR + "/lock"
JOB_QUEUE_DRAIN_FILE = QUEUE_DIR + "/drain"

# Sockets
MASTER_SOCKET = SOCKET_DIR + "/ganeti-master"
QUERY_SOCKET = SOCKET_DIR + "/ganeti-query"

# Logs
LOG_OS_DIR = LOG_DIR + "/os"
LOG_COMMANDS = LOG_DIR + "/commands.log"
LOG_WATCHER = LOG_DIR + "/watcher.log"
DAEMON_LOG_NAMES = {
    "ganeti-noded": "node-daemon.log",
    "ganeti-masterd": "master-daemon.log",
    "ganeti-rapi": "rapi-daemon.log",
}

# Storage and OS search paths (not rooted in vcluster mode by default,
# except the /srv ones, which hold per-node data)
DEFAULT_FILE_STORAGE_DIR = "/srv/ganeti/file-storage"
DEFAULT_SHARED_FILE_STORAGE_DIR = "/srv/ganeti/shared-file-storage"
DEFAULT_GLUSTER_STORAGE_DIR = "/var/run/ganeti/gluster"
EXPORT_DIR = _r("/srv/ganeti/export")
OS_SEARCH_PATH = [_r("/srv/ganeti/os"), "/usr/local/lib/ganeti/os",
                  "/usr/lib/ganeti/os", "/usr/share/ganeti/os"]
ES_SEARCH_PATH = [_r("/srv/ganeti/extstorage"),
                  "/usr/local/lib/ganeti/extstorage",
                  "/usr/lib/ganeti/extstorage",
                  "/usr/share/ganeti/extstorage"]
IALLOCATOR_SEARCH_PATH = ["/usr/local/lib/ganeti/iallocators",
                          "/usr/lib/ganeti/iallocators",
                          "/usr/share/ganeti/iallocators",
                          # where Debian's ganeti-htools-3.0 puts hail
                          "/usr/lib/ganeti/3.0/usr/lib/ganeti/iallocators"]


def daemon_pidfile(name: str) -> str:
    return "%s/%s.pid" % (RUN_DIR, name)


def daemon_logfile(name: str) -> str:
    return "%s/%s" % (LOG_DIR, DAEMON_LOG_NAMES.get(name, name + ".log"))


def ssconf_file(key: str, data_dir: str | None = None) -> str:
    return "%s/%s%s" % (data_dir or DATA_DIR, SSCONF_PREFIX, key)


def strip_root(path: str) -> str:
    """The path as the cluster knows it (without the vcluster root)."""
    if ROOTDIR and path.startswith(ROOTDIR + "/"):
        return path[len(ROOTDIR):]
    return path


def add_root(path: str) -> str:
    """A cluster-wide path made local to this (virtual) node."""
    if ROOTDIR and not path.startswith(ROOTDIR + "/"):
        return ROOTDIR + path
    return path


def _find_daemon_util() -> str:
    here = os.path.dirname(os.path.realpath(__file__))
    dev = os.path.normpath(os.path.join(here, "..", "daemons", "daemon-util"))
    if os.path.exists(dev):
        return dev
    return PREFIX + "/lib/ganeti/daemon-util"


DAEMON_UTIL = _find_daemon_util()


def _find_tool(name: str) -> str:
    here = os.path.dirname(os.path.realpath(__file__))
    dev = os.path.normpath(os.path.join(here, "..", "tools", name))
    if os.path.exists(dev):
        return dev
    return PREFIX + "/lib/ganeti/tools/" + name


NODE_DAEMON_SETUP = _find_tool("node-daemon-setup")
KVM_CONSOLE_WRAPPER = _find_tool("kvm-console-wrapper")
