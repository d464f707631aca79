"""Constants: versions, states, defaults and limits.

Imports nothing of the project; values follow the interface facts in
``shared/spec`` so that files and wire formats match Ganeti 3.0.
"""

# Versions
RELEASE_VERSION = "3.0.2"
VCS_VERSION = "(ganeti-py) version 3.0.2"
CONFIG_MAJOR, CONFIG_MINOR, CONFIG_REVISION = 3, 0, 0
CONFIG_VERSION = 1000000 * CONFIG_MAJOR + 10000 * CONFIG_MINOR + CONFIG_REVISION
PROTOCOL_VERSION = CONFIG_VERSION
LUXI_VERSION = CONFIG_VERSION
OS_API_V10, OS_API_V15, OS_API_V20 = 10, 15, 20
OS_API_VERSIONS = frozenset([OS_API_V10, OS_API_V15, OS_API_V20])
OS_API_VERSION = OS_API_V20
EXPORT_VERSION = 0
JOB_QUEUE_VERSION = 1

# Ports and daemons
DEFAULT_NODED_PORT = 1811
DEFAULT_RAPI_PORT = 5080
NODED = "ganeti-noded"
MASTERD = "ganeti-masterd"
RAPI = "ganeti-rapi"
DAEMONS = (NODED, MASTERD, RAPI)
MASTER_DAEMONS = (MASTERD, RAPI)

# Exit codes (spec/cli.md 1.1)
EXIT_SUCCESS = 0
EXIT_FAILURE = 1
EXIT_NOTCLUSTER = 5
EXIT_NOTMASTER = 11
EXIT_NODESETUP_ERROR = 12
EXIT_CONFIRMATION = 13
EXIT_UNKNOWN_FIELD = 14

# Job and opcode states
JOB_STATUS_QUEUED = "queued"
JOB_STATUS_WAITING = "waiting"
JOB_STATUS_CANCELING = "canceling"
JOB_STATUS_RUNNING = "running"
JOB_STATUS_CANCELED = "canceled"
JOB_STATUS_SUCCESS = "success"
JOB_STATUS_ERROR = "error"
JOB_STATUS_ALL = frozenset([JOB_STATUS_QUEUED, JOB_STATUS_WAITING,
                            JOB_STATUS_CANCELING, JOB_STATUS_RUNNING,
                            JOB_STATUS_CANCELED, JOB_STATUS_SUCCESS,
                            JOB_STATUS_ERROR])
JOBS_PENDING = frozenset([JOB_STATUS_QUEUED, JOB_STATUS_WAITING,
                          JOB_STATUS_CANCELING])
JOBS_FINALIZED = frozenset([JOB_STATUS_CANCELED, JOB_STATUS_SUCCESS,
                            JOB_STATUS_ERROR])
OP_STATUS_QUEUED = JOB_STATUS_QUEUED
OP_STATUS_WAITING = JOB_STATUS_WAITING
OP_STATUS_CANCELING = JOB_STATUS_CANCELING
OP_STATUS_RUNNING = JOB_STATUS_RUNNING
OP_STATUS_CANCELED = JOB_STATUS_CANCELED
OP_STATUS_SUCCESS = JOB_STATUS_SUCCESS
OP_STATUS_ERROR = JOB_STATUS_ERROR
OPS_FINALIZED = JOBS_FINALIZED

# Log message types in job logs
ELOG_MESSAGE = "message"
ELOG_MESSAGE_LIST = "message-list"
ELOG_REMOTE_IMPORT = "remote-import"
ELOG_JQUEUE_TEST = "jqueue-test"
ELOG_DELAY_TEST = "delay-test"

# Priorities
OP_PRIO_LOWEST = 19
OP_PRIO_HIGHEST = -20
OP_PRIO_LOW = 10
OP_PRIO_NORMAL = 0
OP_PRIO_HIGH = -10
OP_PRIO_DEFAULT = OP_PRIO_NORMAL
OP_PRIO_SUBMIT_VALID = frozenset([OP_PRIO_LOW, OP_PRIO_NORMAL, OP_PRIO_HIGH])
PRIORITY_NAMES = {"low": OP_PRIO_LOW, "normal": OP_PRIO_NORMAL,
                  "high": OP_PRIO_HIGH}

# Lock timeouts (spec/locking.md 3)
LOCK_ATTEMPTS_MINWAIT = 5.0
LOCK_ATTEMPTS_MAXWAIT = 75.0
LOCK_ATTEMPTS_TIMEOUT = 36000.0 / (OP_PRIO_DEFAULT - OP_PRIO_HIGHEST)

# Queue
JOB_QUEUE_SIZE_HARD_LIMIT = 5000
JOB_QUEUE_ARCHIVE_DIR_SIZE = 10000
JOB_DEFAULT_MAX_RUNNING = 20
JOB_DEFAULT_MAX_TRACKED = 25
LUXI_WFJC_TIMEOUT = 89
LUXI_DEF_CTMO = 30
LUXI_DEF_RWTO = 180
LUXI_EOM = b"\x03"
LUXI_MAX_MESSAGE = 64 * 1024 * 1024

# RPC timeouts (s)
RPC_TMO_URGENT = 60
RPC_TMO_FAST = 300
RPC_TMO_NORMAL = 900
RPC_TMO_SLOW = 3600
RPC_TMO_4HRS = 14400
RPC_TMO_1DAY = 86400
RPC_CONNECT_TIMEOUT = 5
RPC_ENCODING_NONE = 0
RPC_ENCODING_ZLIB_BASE64 = 1
RPC_MAX_BODY = 128 * 1024 * 1024

# Hypervisors
HT_XEN_PVM = "xen-pvm"
HT_FAKE = "fake"
HT_XEN_HVM = "xen-hvm"
HT_KVM = "kvm"
HT_CHROOT = "chroot"
HT_LXC = "lxc"
HYPER_TYPES = frozenset([HT_XEN_PVM, HT_FAKE, HT_XEN_HVM, HT_KVM, HT_CHROOT,
                         HT_LXC])
HVC_GLOBALS = frozenset(["migration_port", "migration_bandwidth",
                         "migration_mode"])

# Disk templates
DT_DISKLESS = "diskless"
DT_FILE = "file"
DT_SHARED_FILE = "sharedfile"
DT_PLAIN = "plain"
DT_DRBD8 = "drbd"
DT_BLOCK = "blockdev"
DT_RBD = "rbd"
DT_EXT = "ext"
DT_GLUSTER = "gluster"
DISK_TEMPLATES = (DT_DISKLESS, DT_FILE, DT_SHARED_FILE, DT_PLAIN, DT_DRBD8,
                  DT_BLOCK, DT_RBD, DT_EXT, DT_GLUSTER)
DEFAULT_ENABLED_DISK_TEMPLATES = [DT_DRBD8, DT_PLAIN]

# Instance states
ADMINST_UP = "up"
ADMINST_DOWN = "down"
ADMINST_OFFLINE = "offline"
ADMINST_ALL = frozenset([ADMINST_UP, ADMINST_DOWN, ADMINST_OFFLINE])
ADMIN_SOURCE = "admin"
USER_SOURCE = "user"

# instance reboot types
INSTANCE_REBOOT_SOFT = "soft"
INSTANCE_REBOOT_HARD = "hard"
INSTANCE_REBOOT_FULL = "full"
REBOOT_TYPES = frozenset([INSTANCE_REBOOT_SOFT, INSTANCE_REBOOT_HARD, INSTANCE_REBOOT_FULL])

# instance status values (query field ``status``)
INSTST_RUNNING = "running"
INSTST_ADMINDOWN = "ADMIN_down"
INSTST_ADMINOFFLINE = "ADMIN_offline"
INSTST_NODEOFFLINE = "ERROR_nodeoffline"
INSTST_NODEDOWN = "ERROR_nodedown"
INSTST_WRONGNODE = "ERROR_wrongnode"
INSTST_ERRORUP = "ERROR_up"
INSTST_ERRORDOWN = "ERROR_down"
INSTST_USERDOWN = "USER_down"

# disk access modes and local disk status
DISK_RDONLY = "ro"
DISK_RDWR = "rw"
LDS_OKAY = 1
LDS_UNKNOWN = 2
LDS_FAULTY = 3

# NIC modes
NIC_MODE_BRIDGED = "bridged"
NIC_MODE_ROUTED = "routed"
NIC_MODE_OVS = "openvswitch"
NIC_VALID_MODES = frozenset([NIC_MODE_BRIDGED, NIC_MODE_ROUTED, NIC_MODE_OVS])

# instance creation modes
INSTANCE_CREATE = "create"
INSTANCE_IMPORT = "import"
INSTANCE_REMOTE_IMPORT = "remote-import"

# Node roles (query field "role")
NR_MASTER = "M"
NR_MCANDIDATE = "C"
NR_REGULAR = "R"
NR_DRAINED = "D"
NR_OFFLINE = "O"

# Tags
TAG_CLUSTER = "cluster"
TAG_NODEGROUP = "nodegroup"
TAG_NODE = "node"
TAG_INSTANCE = "instance"
TAG_NETWORK = "network"
VALID_TAG_TYPES = frozenset([TAG_CLUSTER, TAG_NODEGROUP, TAG_NODE,
                             TAG_INSTANCE, TAG_NETWORK])
MAX_TAG_LEN = 128
MAX_TAGS_PER_OBJ = 4096

# Query (spec/fields.md 1)
QR_CLUSTER = "cluster"
QR_INSTANCE = "instance"
QR_NODE = "node"
QR_LOCK = "lock"
QR_GROUP = "group"
QR_OS = "os"
QR_EXTSTORAGE = "extstorage"
QR_JOB = "job"
QR_EXPORT = "export"
QR_NETWORK = "network"
QR_FILTER = "filter"
QFT_UNKNOWN = "unknown"
QFT_TEXT = "text"
QFT_BOOL = "bool"
QFT_NUMBER = "number"
QFT_NUMBER_FLOAT = "float"
QFT_UNIT = "unit"
QFT_TIMESTAMP = "timestamp"
QFT_OTHER = "other"
RS_NORMAL = 0
RS_UNKNOWN = 1
RS_NODATA = 2
RS_UNAVAIL = 3
RS_OFFLINE = 4

# Hooks
HOOKS_PHASE_PRE = "pre"
HOOKS_PHASE_POST = "post"
HOOKS_VERSION = 2
HKR_SKIP = 0
HKR_FAIL = 1
HKR_SUCCESS = 2

# OS
OS_SCRIPT_CREATE = "create"
OS_SCRIPT_IMPORT = "import"
OS_SCRIPT_EXPORT = "export"
OS_SCRIPT_RENAME = "rename"
OS_SCRIPT_VERIFY = "verify"
OS_SCRIPTS = (OS_SCRIPT_CREATE, OS_SCRIPT_IMPORT, OS_SCRIPT_EXPORT,
              OS_SCRIPT_RENAME, OS_SCRIPT_VERIFY)
OS_API_FILE = "ganeti_api_version"
OS_VARIANTS_FILE = "variants.list"
OS_PARAMETERS_FILE = "parameters.list"
OS_VALIDATE_PARAMETERS = "parameters"
OS_VALIDATE_CALLS = frozenset([OS_VALIDATE_PARAMETERS])

# Cluster verify error types
CV_ERROR = "ERROR"
CV_WARNING = "WARNING"

# Misc
IP4_FAMILY = 2
IP6_FAMILY = 10
DEFAULT_MAC_PREFIX = "aa:00:00"
DEFAULT_VG = "xenvg"
DEFAULT_BRIDGE = "xen-br0"
DEFAULT_CANDIDATE_POOL_SIZE = 10
SSCONF_FILEMODE = 0o444
SSCONF_MAX_SIZE = 128 * 1024
WATCHER_PAUSE_MAX_AGE = 3600
VALUE_DEFAULT = "default"
VALUE_AUTO = "auto"
VALUE_GENERATE = "generate"
VALUE_NONE = "none"
VALUE_TRUE = "true"
VALUE_FALSE = "false"
DEFAULT_SHUTDOWN_TIMEOUT = 120
JOB_ID_TEMPLATE = r"\d+"

# Hypervisor parameter defaults (as a Ganeti 3.0 cluster stores them)
HVC_DEFAULTS = {
    "chroot": {
        "init_script": "/ganeti-chroot"
    },
    "fake": {
        "migration_mode": "live"
    },
    "kvm": {
        "acpi": True,
        "boot_order": "disk",
        "cdrom2_image_path": "",
        "cdrom_disk_type": "",
        "cdrom_image_path": "",
        "cpu_cores": 0,
        "cpu_mask": "all",
        "cpu_sockets": 0,
        "cpu_threads": 0,
        "cpu_type": "",
        "disk_aio": "threads",
        "disk_cache": "default",
        "disk_discard": "default",
        "disk_type": "paravirtual",
        "floppy_image_path": "",
        "initrd_path": "",
        "kernel_args": "ro",
        "kernel_path": "",
        "keymap": "",
        "kvm_extra": "",
        "kvm_flag": "disabled",
        "kvm_path": "/usr/bin/qemu-system-x86_64",
        "kvm_pci_reservations": 12,
        "machine_version": "",
        "mem_path": "",
        "migration_bandwidth": 32,
        "migration_caps": "",
        "migration_downtime": 30,
        "migration_mode": "live",
        "migration_port": 8102,
        "nic_type": "paravirtual",
        "reboot_behavior": "reboot",
        "root_path": "/dev/vda1",
        "scsi_controller_type": "lsi",
        "security_domain": "",
        "security_model": "none",
        "serial_console": True,
        "serial_speed": 38400,
        "soundhw": "",
        "spice_bind": "",
        "spice_image_compression": "",
        "spice_ip_version": 0,
        "spice_jpeg_wan_compression": "",
        "spice_password_file": "",
        "spice_playback_compression": True,
        "spice_streaming_video": "",
        "spice_tls_ciphers": "HIGH:-DES:-3DES:-EXPORT:-DH",
        "spice_use_tls": False,
        "spice_use_vdagent": True,
        "spice_zlib_glz_wan_compression": "",
        "usb_devices": "",
        "usb_mouse": "",
        "use_chroot": False,
        "use_guest_agent": False,
        "use_localtime": False,
        "user_shutdown": False,
        "vga": "",
        "vhost_net": False,
        "virtio_net_queues": 1,
        "vnc_bind_address": "",
        "vnc_password_file": "",
        "vnc_tls": False,
        "vnc_x509_path": "",
        "vnc_x509_verify": False,
        "vnet_hdr": True
    },
    "lxc": {
        "cpu_mask": "",
        "devices": "c 1:3 rw,c 1:5 rw,c 1:7 rw,c 1:8 rw,c 1:9 rw,c 1:10 rw,c 5:0 rw,c 5:1 rw,c 5:2 rw,c 136:* rw",
        "drop_capabilities": "mac_override,sys_boot,sys_module,sys_time,sys_admin",
        "extra_cgroups": "",
        "extra_config": "",
        "num_ttys": 6,
        "startup_timeout": 30
    },
    "xen-hvm": {
        "acpi": True,
        "blockdev_prefix": "hd",
        "boot_order": "cd",
        "cdrom_image_path": "",
        "cpu_cap": 0,
        "cpu_mask": "all",
        "cpu_weight": 256,
        "cpuid": "",
        "device_model": "/usr/lib/xen/bin/qemu-dm",
        "disk_type": "paravirtual",
        "kernel_path": "/usr/lib/xen/boot/hvmloader",
        "migration_mode": "non-live",
        "migration_port": 8002,
        "nic_type": "rtl8139",
        "pae": True,
        "pci_pass": "",
        "reboot_behavior": "reboot",
        "soundhw": "",
        "use_localtime": False,
        "vif_script": "",
        "vif_type": "ioemu",
        "viridian": False,
        "vnc_bind_address": "0.0.0.0",
        "vnc_password_file": "/etc/ganeti/vnc-cluster-password",
        "xen_cmd": "xm"
    },
    "xen-pvm": {
        "blockdev_prefix": "sd",
        "bootloader_args": "",
        "bootloader_path": "",
        "cpu_cap": 0,
        "cpu_mask": "all",
        "cpu_weight": 256,
        "cpuid": "",
        "initrd_path": "",
        "kernel_args": "ro",
        "kernel_path": "/boot/vmlinuz-3-xenU",
        "migration_mode": "live",
        "migration_port": 8002,
        "reboot_behavior": "reboot",
        "root_path": "/dev/xvda1",
        "soundhw": "",
        "use_bootloader": False,
        "vif_script": "",
        "xen_cmd": "xm"
    }
}

BEC_DEFAULTS = {
    "always_failover": False,
    "auto_balance": True,
    "maxmem": 128,
    "minmem": 128,
    "spindle_use": 1,
    "vcpus": 1
}

NICC_DEFAULTS = {
    "link": "xen-br0",
    "mode": "bridged",
    "vlan": ""
}

NDC_DEFAULTS = {
    "cpu_speed": 1,
    "exclusive_storage": False,
    "oob_program": "",
    "ovs": False,
    "ovs_link": "",
    "ovs_name": "switch1",
    "spindle_count": 1,
    "ssh_port": 22
}

DISK_DT_DEFAULTS = {
    "blockdev": {},
    "diskless": {},
    "drbd": {
        "c-delay-target": 1,
        "c-fill-target": 0,
        "c-max-rate": 61440,
        "c-min-rate": 4096,
        "c-plan-ahead": 20,
        "data-stripes": 1,
        "disk-barriers": "n",
        "disk-custom": "",
        "dynamic-resync": False,
        "meta-barriers": False,
        "meta-stripes": 1,
        "metavg": "xenvg",
        "net-custom": "",
        "protocol": "C",
        "resync-rate": 61440
    },
    "ext": {
        "access": "kernelspace"
    },
    "file": {},
    "gluster": {
        "access": "kernelspace",
        "host": "127.0.0.1",
        "port": 24007,
        "volume": "gv0"
    },
    "plain": {
        "stripes": 1
    },
    "rbd": {
        "access": "kernelspace",
        "pool": "rbd"
    },
    "sharedfile": {}
}

IPOLICY_DEFAULTS = {
    "disk-templates": [
        "diskless",
        "file",
        "sharedfile",
        "plain",
        "drbd",
        "blockdev",
        "rbd",
        "ext",
        "gluster"
    ],
    "minmax": [
        {
            "max": {
                "cpu-count": 8,
                "disk-count": 16,
                "disk-size": 1048576,
                "memory-size": 32768,
                "nic-count": 8,
                "spindle-use": 12
            },
            "min": {
                "cpu-count": 1,
                "disk-count": 1,
                "disk-size": 1024,
                "memory-size": 128,
                "nic-count": 1,
                "spindle-use": 1
            }
        }
    ],
    "spindle-ratio": 32,
    "std": {
        "cpu-count": 1,
        "disk-count": 1,
        "disk-size": 1024,
        "memory-size": 128,
        "nic-count": 1,
        "spindle-use": 1
    },
    "vcpu-ratio": 4
}

DATA_COLLECTOR_DEFAULTS = {
    "cpu-avg-load": {
        "active": True,
        "interval": 5000000
    },
    "diskstats": {
        "active": True,
        "interval": 5000000
    },
    "drbd": {
        "active": True,
        "interval": 5000000
    },
    "inst-status-xen": {
        "active": True,
        "interval": 5000000
    },
    "lv": {
        "active": True,
        "interval": 5000000
    },
    "xen-cpu-avg-load": {
        "active": True,
        "interval": 5000000
    }
}

DEFAULT_COMPRESSION_TOOLS = ["gzip", "gzip-fast", "gzip-slow"]
