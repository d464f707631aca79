"""Client for the Ganeti remote API (RAPI), version 2.

Same public API as upstream's ``ganeti.rapi.client`` -- class
:class:`GanetiRapiClient`, its methods with their parameter names and
defaults, the module constants and exceptions -- so programs written for
upstream (Synnefo, ganeti-webmgr, scripts) work against this project by
importing this module instead.  Written from the documented behaviour of
the RAPI (doc/rapi-client.md, spec/rapi.md), not from upstream's code.

Example::

    from ganeti.rapi import client
    cl = client.GanetiRapiClient("cluster.example.com", username="admin",
                                 password="secret",
                                 curl_config_fn=client.GenericCurlConfig(
                                     cafile="/var/lib/ganeti/rapi.pem"))
    job = cl.StartupInstance("inst1.example.com")
    cl.WaitForJobCompletion(job)

Job-submitting methods return the job id as the server sent it (a number
since Ganeti 2.7, a string before); every method that takes a job id
accepts either.  The transport (pycurl, one kept-alive connection per
thread) lives in :mod:`ganeti.rapi.client_base`, the instance methods in
:mod:`ganeti.rapi.client_instances`.
"""

from __future__ import annotations

import time
from typing import Any, Sequence

from ganeti.rapi.client_base import (  # noqa: F401  (re-exported public API)
    ECODE_ALL,
    ECODE_ENVIRON,
    ECODE_EXISTS,
    ECODE_FAULT,
    ECODE_INVAL,
    ECODE_NOENT,
    ECODE_NORES,
    ECODE_NOTUNIQUE,
    ECODE_RESOLVER,
    ECODE_STATE,
    ECODE_TEMP_NORES,
    GANETI_RAPI_PORT,
    GANETI_RAPI_VERSION,
    HTTP_APP_JSON,
    HTTP_DELETE,
    HTTP_GET,
    HTTP_NOT_FOUND,
    HTTP_OK,
    HTTP_POST,
    HTTP_PUT,
    INST_CREATE_REQV1,
    INST_REINSTALL_REQV1,
    JOB_STATUS_ALL,
    JOB_STATUS_CANCELED,
    JOB_STATUS_CANCELING,
    JOB_STATUS_ERROR,
    JOB_STATUS_FINALIZED,
    JOB_STATUS_PENDING,
    JOB_STATUS_QUEUED,
    JOB_STATUS_RUNNING,
    JOB_STATUS_SUCCESS,
    JOB_STATUS_WAITING,
    JOB_STATUS_WAITLOCK,
    NODE_EVAC_ALL,
    NODE_EVAC_PRI,
    NODE_EVAC_RES1,
    NODE_EVAC_SEC,
    NODE_MIGRATE_REQV1,
    NODE_ROLE_DRAINED,
    NODE_ROLE_MASTER,
    NODE_ROLE_MASTER_CANDIDATE,
    NODE_ROLE_OFFLINE,
    NODE_ROLE_REGULAR,
    REPLACE_DISK_AUTO,
    REPLACE_DISK_CHG,
    REPLACE_DISK_PRI,
    REPLACE_DISK_SECONDARY,
    CertificateError,
    EpochNano,
    Error,
    GanetiApiError,
    GenericCurlConfig,
    QueryArgs,
    RapiTransport,
    UsesRapiClient,
    _append_dry_run,
    _append_if,
    _append_reason,
    _comma_list,
    _not_none,
    _q,
    _tag_query,
    _bulk_query,
    _reason_query,
)
from ganeti.rapi.client_instances import InstanceMethods

#: reason-trail source of filter rules added by this client
_FILTER_REASON_SOURCE = "gnt:client"


class GanetiRapiClient(RapiTransport, InstanceMethods):
    """Ganeti RAPI client: one object per cluster master.

    ``GanetiRapiClient(host, port=5080, username=None, password=None,
    logger=logging, curl_config_fn=None, curl_factory=None)``; see
    :class:`ganeti.rapi.client_base.RapiTransport` for the arguments.
    """

    # cluster ----------------------------------------------------------------------------

    def GetVersion(self) -> int:
        """The RAPI version (2): the one request every server version understands."""
        return self._SendRequest(HTTP_GET, "/version", None, None)

    def GetFeatures(self) -> list:
        """Optional features of the server (``INST_CREATE_REQV1``...).

        Servers older than the ``/2/features`` resource answer 404, which
        means "no optional features" rather than an error.
        """
        try:
            return self._SendRequest(HTTP_GET, "/2/features", None, None)
        except GanetiApiError as err:
            if err.code == HTTP_NOT_FOUND:
                return []
            raise

    def GetOperatingSystems(self, reason: str | None = None) -> list:
        """Names of the OSes (with variants, ``debian+default``) valid on all nodes."""
        return self._SendRequest(HTTP_GET, "/2/os", _reason_query(reason), None)

    def GetInfo(self, reason: str | None = None) -> dict:
        """Cluster information (name, master, versions, parameters...)."""
        return self._SendRequest(HTTP_GET, "/2/info", _reason_query(reason), None)

    def RedistributeConfig(self, reason: str | None = None) -> Any:
        """Copy the configuration files to all nodes again; job id."""
        return self._SendRequest(HTTP_PUT, "/2/redistribute-config", _reason_query(reason),
                                 None)

    def ModifyCluster(self, reason: str | None = None, **kwargs: Any) -> Any:
        """Change cluster parameters (OP_CLUSTER_SET_PARAMS fields); job id."""
        return self._SendRequest(HTTP_PUT, "/2/modify", _reason_query(reason), kwargs)

    def GetClusterTags(self, reason: str | None = None) -> list:
        """The cluster's tags."""
        return self._SendRequest(HTTP_GET, "/2/tags", _reason_query(reason), None)

    def AddClusterTags(self, tags: Sequence[str], dry_run: bool = False,
                       reason: str | None = None) -> Any:
        """Add cluster tags; job id."""
        return self._SendRequest(HTTP_PUT, "/2/tags", _tag_query(tags, dry_run, reason), None)

    def DeleteClusterTags(self, tags: Sequence[str], dry_run: bool = False,
                          reason: str | None = None) -> Any:
        """Remove cluster tags; job id."""
        return self._SendRequest(HTTP_DELETE, "/2/tags", _tag_query(tags, dry_run, reason),
                                 None)

    # jobs -------------------------------------------------------------------------------

    def GetJobs(self, bulk: bool = False) -> list:
        """Job ids (numbers), or with ``bulk`` one dict per job."""
        jobs = self._SendRequest(HTTP_GET, "/2/jobs", _bulk_query(bulk), None)
        if bulk:
            return jobs
        return [int(j["id"]) for j in jobs]

    def GetJobStatus(self, job_id: int | str) -> dict:
        """One job: ``status``, ``opstatus``, ``opresult``, ``oplog``, timestamps."""
        return self._SendRequest(HTTP_GET, "/2/jobs/%s" % _q(job_id), None, None)

    def WaitForJobCompletion(self, job_id: int | str, period: float = 5,
                             retries: int = -1) -> bool:
        """Poll until the job is finalized; True only if it succeeded.

        ``retries`` is the number of polls before giving up with False
        (-1: no limit).  :meth:`WaitForJobChange` reacts faster; this is
        kept because it is what most upstream client programs call.
        """
        polls = 0
        while retries < 0 or polls < retries:
            status = self.GetJobStatus(job_id)["status"]
            polls += 1
            if status in JOB_STATUS_FINALIZED:
                return status == JOB_STATUS_SUCCESS
            if retries < 0 or polls < retries:
                time.sleep(period)
        return False

    def WaitForJobChange(self, job_id: int | str, fields: Sequence[str],
                         prev_job_info: list | None, prev_log_serial: int | None) -> dict | None:
        """Block (up to ~10 s on the server) until the job's ``fields`` or log change.

        None if nothing changed, else ``{"job_info": [...], "log_entries": [...]}``.
        The request is a GET with a JSON body, as the RAPI defines it.
        """
        body = {"fields": list(fields), "previous_job_info": prev_job_info,
                "previous_log_serial": prev_log_serial}
        return self._SendRequest(HTTP_GET, "/2/jobs/%s/wait" % _q(job_id), None, body)

    def CancelJob(self, job_id: int | str, dry_run: bool = False) -> Any:
        """Cancel a queued or waiting job; ``[success, message]``."""
        query: QueryArgs = []
        _append_dry_run(query, dry_run)
        return self._SendRequest(HTTP_DELETE, "/2/jobs/%s" % _q(job_id), query, None)

    # nodes ------------------------------------------------------------------------------

    def GetNodes(self, bulk: bool = False, reason: str | None = None) -> list:
        """Node names, or with ``bulk`` one dict per node."""
        nodes = self._SendRequest(HTTP_GET, "/2/nodes", _bulk_query(bulk, reason), None)
        if bulk:
            return nodes
        return [n["id"] for n in nodes]

    def GetNode(self, node: str, reason: str | None = None) -> dict:
        """One node's fields (404 if unknown)."""
        return self._SendRequest(HTTP_GET, "/2/nodes/%s" % _q(node), _reason_query(reason),
                                 None)

    def EvacuateNode(self, node: str, iallocator: str | None = None,
                     remote_node: str | None = None, dry_run: bool = False,
                     early_release: bool | None = None, mode: str | None = None,
                     accept_old: bool = False, reason: str | None = None) -> Any:
        """Move instances off a node (``NODE_EVAC_*`` modes); job id.

        The job's result lists the jobs doing the moves.  Ganeti 2.4 and
        older servers answered with a list of moves instead, and only for
        secondaries; that is accepted only with ``accept_old``.
        """
        if iallocator and remote_node:
            raise GanetiApiError("Only one of iallocator or remote_node can be used")
        query: QueryArgs = []
        _append_dry_run(query, dry_run)
        _append_reason(query, reason)
        path = "/2/nodes/%s/evacuate" % _q(node)
        if NODE_EVAC_RES1 in self.GetFeatures():
            body = _not_none(iallocator=iallocator, remote_node=remote_node, mode=mode,
                             early_release=early_release)
            return self._SendRequest(HTTP_POST, path, query, body)
        if not accept_old:
            raise GanetiApiError("Server is version 2.4 or earlier and caller does not"
                                 " accept old-style results (parameter accept_old)")
        if mode not in (None, NODE_EVAC_SEC):
            raise GanetiApiError("Server can only evacuate secondary instances")
        _append_if(query, iallocator, ("iallocator", iallocator))
        _append_if(query, remote_node, ("remote_node", remote_node))
        _append_if(query, early_release, ("early_release", 1))
        return self._SendRequest(HTTP_POST, path, query, None)

    def MigrateNode(self, node: str, mode: str | None = None, dry_run: bool = False,
                    iallocator: str | None = None, target_node: str | None = None,
                    reason: str | None = None) -> Any:
        """Migrate all primary instances away from a node; job id.

        Old servers (no ``node-migrate-reqv1``) know only the ``mode``
        query argument, so ``iallocator``/``target_node`` are refused there.
        """
        query: QueryArgs = []
        _append_dry_run(query, dry_run)
        _append_reason(query, reason)
        path = "/2/nodes/%s/migrate" % _q(node)
        if NODE_MIGRATE_REQV1 in self.GetFeatures():
            body = _not_none(mode=mode, iallocator=iallocator, target_node=target_node)
            return self._SendRequest(HTTP_POST, path, query, body)
        if iallocator or target_node:
            raise GanetiApiError("Server does not support specifying an iallocator or"
                                 " target node for node migration")
        _append_if(query, mode, ("mode", mode))
        return self._SendRequest(HTTP_POST, path, query, None)

    def GetNodeRole(self, node: str, reason: str | None = None) -> str:
        """``master``, ``master-candidate``, ``regular``, ``drained`` or ``offline``."""
        return self._SendRequest(HTTP_GET, "/2/nodes/%s/role" % _q(node),
                                 _reason_query(reason), None)

    def SetNodeRole(self, node: str, role: str, force: bool = False,
                    auto_promote: bool | None = None, reason: str | None = None) -> Any:
        """Change a node's role (the body is the bare JSON string); job id."""
        query: QueryArgs = []
        _append_if(query, force, ("force", 1))
        _append_if(query, auto_promote is not None, ("auto-promote", auto_promote))
        _append_reason(query, reason)
        return self._SendRequest(HTTP_PUT, "/2/nodes/%s/role" % _q(node), query, role)

    def PowercycleNode(self, node: str, force: bool = False, reason: str | None = None) -> Any:
        """Power-cycle a node through its hypervisor; job id."""
        query: QueryArgs = []
        _append_if(query, force, ("force", 1))
        _append_reason(query, reason)
        return self._SendRequest(HTTP_POST, "/2/nodes/%s/powercycle" % _q(node), query, None)

    def ModifyNode(self, node: str, reason: str | None = None, **kwargs: Any) -> Any:
        """Change node parameters (OP_NODE_SET_PARAMS fields); job id."""
        return self._SendRequest(HTTP_POST, "/2/nodes/%s/modify" % _q(node),
                                 _reason_query(reason), kwargs)

    def GetNodeStorageUnits(self, node: str, storage_type: str,
                            output_fields: str | Sequence[str],
                            reason: str | None = None) -> Any:
        """Submit a storage query on the node; the job id (the units are its result)."""
        query: QueryArgs = [("storage_type", storage_type),
                            ("output_fields", _comma_list(output_fields))]
        _append_reason(query, reason)
        return self._SendRequest(HTTP_GET, "/2/nodes/%s/storage" % _q(node), query, None)

    def ModifyNodeStorageUnits(self, node: str, storage_type: str, name: str,
                               allocatable: bool | None = None,
                               reason: str | None = None) -> Any:
        """Set or clear ``allocatable`` on a storage unit (None: leave); job id."""
        query: QueryArgs = [("storage_type", storage_type), ("name", name)]
        if allocatable is not None:
            query.append(("allocatable", allocatable))
        _append_reason(query, reason)
        return self._SendRequest(HTTP_PUT, "/2/nodes/%s/storage/modify" % _q(node), query,
                                 None)

    def RepairNodeStorageUnits(self, node: str, storage_type: str, name: str,
                               reason: str | None = None) -> Any:
        """Repair a storage unit (e.g. an LVM volume group); job id."""
        query: QueryArgs = [("storage_type", storage_type), ("name", name)]
        _append_reason(query, reason)
        return self._SendRequest(HTTP_PUT, "/2/nodes/%s/storage/repair" % _q(node), query,
                                 None)

    def GetNodeTags(self, node: str, reason: str | None = None) -> list:
        """The node's tags."""
        return self._SendRequest(HTTP_GET, "/2/nodes/%s/tags" % _q(node),
                                 _reason_query(reason), None)

    def AddNodeTags(self, node: str, tags: Sequence[str], dry_run: bool = False,
                    reason: str | None = None) -> Any:
        """Add node tags; job id."""
        return self._SendRequest(HTTP_PUT, "/2/nodes/%s/tags" % _q(node),
                                 _tag_query(tags, dry_run, reason), None)

    def DeleteNodeTags(self, node: str, tags: Sequence[str], dry_run: bool = False,
                       reason: str | None = None) -> Any:
        """Remove node tags; job id."""
        return self._SendRequest(HTTP_DELETE, "/2/nodes/%s/tags" % _q(node),
                                 _tag_query(tags, dry_run, reason), None)

    # networks ---------------------------------------------------------------------------

    def GetNetworks(self, bulk: bool = False, reason: str | None = None) -> list:
        """Network names, or with ``bulk`` one dict per network."""
        nets = self._SendRequest(HTTP_GET, "/2/networks", _bulk_query(bulk, reason), None)
        if bulk:
            return nets
        return [n["name"] for n in nets]

    def GetNetwork(self, network: str, reason: str | None = None) -> dict:
        """One network's fields."""
        return self._SendRequest(HTTP_GET, "/2/networks/%s" % _q(network),
                                 _reason_query(reason), None)

    def CreateNetwork(self, network_name: str, network: str, gateway: str | None = None,
                      network6: str | None = None, gateway6: str | None = None,
                      mac_prefix: str | None = None,
                      add_reserved_ips: str | Sequence[str] | None = None,
                      tags: str | Sequence[str] | None = None, dry_run: bool = False,
                      reason: str | None = None) -> Any:
        """Create an IP network (``add_reserved_ips``/``tags``: list or comma string); job id."""
        query: QueryArgs = []
        _append_dry_run(query, dry_run)
        _append_reason(query, reason)
        if isinstance(add_reserved_ips, str):
            add_reserved_ips = add_reserved_ips.split(",")
        if isinstance(tags, str):
            tags = tags.split(",")
        body: dict[str, Any] = {"network_name": network_name, "network": network}
        body.update(_not_none(gateway=gateway, network6=network6, gateway6=gateway6,
                              mac_prefix=mac_prefix,
                              add_reserved_ips=list(add_reserved_ips)
                              if add_reserved_ips is not None else None,
                              tags=list(tags) if tags is not None else None))
        return self._SendRequest(HTTP_POST, "/2/networks", query, body)

    def ConnectNetwork(self, network_name: str, group_name: str, mode: str, link: str,
                       vlan: str = "", dry_run: bool = False, reason: str | None = None) -> Any:
        """Make a network available to a node group with these NIC parameters; job id."""
        query: QueryArgs = []
        _append_dry_run(query, dry_run)
        _append_reason(query, reason)
        body = {"group_name": group_name, "network_mode": mode, "network_link": link,
                "network_vlan": vlan}
        return self._SendRequest(HTTP_PUT, "/2/networks/%s/connect" % _q(network_name),
                                 query, body)

    def DisconnectNetwork(self, network_name: str, group_name: str, dry_run: bool = False,
                          reason: str | None = None) -> Any:
        """Detach a network from a node group; job id."""
        query: QueryArgs = []
        _append_dry_run(query, dry_run)
        _append_reason(query, reason)
        return self._SendRequest(HTTP_PUT, "/2/networks/%s/disconnect" % _q(network_name),
                                 query, {"group_name": group_name})

    def ModifyNetwork(self, network: str, reason: str | None = None, **kwargs: Any) -> Any:
        """Change network parameters; job id."""
        return self._SendRequest(HTTP_PUT, "/2/networks/%s/modify" % _q(network),
                                 _reason_query(reason), kwargs)

    def DeleteNetwork(self, network: str, dry_run: bool = False,
                      reason: str | None = None) -> Any:
        """Remove a network; job id."""
        query: QueryArgs = []
        _append_dry_run(query, dry_run)
        _append_reason(query, reason)
        return self._SendRequest(HTTP_DELETE, "/2/networks/%s" % _q(network), query, None)

    def GetNetworkTags(self, network: str, reason: str | None = None) -> list:
        """The network's tags."""
        return self._SendRequest(HTTP_GET, "/2/networks/%s/tags" % _q(network),
                                 _reason_query(reason), None)

    def AddNetworkTags(self, network: str, tags: Sequence[str], dry_run: bool = False,
                       reason: str | None = None) -> Any:
        """Add network tags; job id."""
        return self._SendRequest(HTTP_PUT, "/2/networks/%s/tags" % _q(network),
                                 _tag_query(tags, dry_run, reason), None)

    def DeleteNetworkTags(self, network: str, tags: Sequence[str], dry_run: bool = False,
                          reason: str | None = None) -> Any:
        """Remove network tags; job id."""
        return self._SendRequest(HTTP_DELETE, "/2/networks/%s/tags" % _q(network),
                                 _tag_query(tags, dry_run, reason), None)

    # node groups ------------------------------------------------------------------------

    def GetGroups(self, bulk: bool = False, reason: str | None = None) -> list:
        """Node group names, or with ``bulk`` one dict per group."""
        groups = self._SendRequest(HTTP_GET, "/2/groups", _bulk_query(bulk, reason), None)
        if bulk:
            return groups
        return [g["name"] for g in groups]

    def GetGroup(self, group: str, reason: str | None = None) -> dict:
        """One node group's fields."""
        return self._SendRequest(HTTP_GET, "/2/groups/%s" % _q(group),
                                 _reason_query(reason), None)

    def CreateGroup(self, name: str, alloc_policy: str | None = None, dry_run: bool = False,
                    reason: str | None = None) -> Any:
        """Create a node group; job id."""
        query: QueryArgs = []
        _append_dry_run(query, dry_run)
        _append_reason(query, reason)
        body: dict[str, Any] = {"name": name}
        body.update(_not_none(alloc_policy=alloc_policy))
        return self._SendRequest(HTTP_POST, "/2/groups", query, body)

    def ModifyGroup(self, group: str, reason: str | None = None, **kwargs: Any) -> Any:
        """Change group parameters (``alloc_policy``, ``ndparams``...); job id."""
        return self._SendRequest(HTTP_PUT, "/2/groups/%s/modify" % _q(group),
                                 _reason_query(reason), kwargs)

    def DeleteGroup(self, group: str, dry_run: bool = False, reason: str | None = None) -> Any:
        """Remove an empty node group; job id."""
        query: QueryArgs = []
        _append_dry_run(query, dry_run)
        _append_reason(query, reason)
        return self._SendRequest(HTTP_DELETE, "/2/groups/%s" % _q(group), query, None)

    def RenameGroup(self, group: str, new_name: str, reason: str | None = None) -> Any:
        """Rename a node group; job id."""
        return self._SendRequest(HTTP_PUT, "/2/groups/%s/rename" % _q(group),
                                 _reason_query(reason), {"new_name": new_name})

    def AssignGroupNodes(self, group: str, nodes: Sequence[str], force: bool = False,
                         dry_run: bool = False, reason: str | None = None) -> Any:
        """Move nodes into a group (``force`` even if instances get split); job id."""
        query: QueryArgs = []
        _append_if(query, force, ("force", 1))
        _append_dry_run(query, dry_run)
        _append_reason(query, reason)
        return self._SendRequest(HTTP_PUT, "/2/groups/%s/assign-nodes" % _q(group), query,
                                 {"nodes": list(nodes)})

    def GetGroupTags(self, group: str, reason: str | None = None) -> list:
        """The node group's tags."""
        return self._SendRequest(HTTP_GET, "/2/groups/%s/tags" % _q(group),
                                 _reason_query(reason), None)

    def AddGroupTags(self, group: str, tags: Sequence[str], dry_run: bool = False,
                     reason: str | None = None) -> Any:
        """Add node group tags; job id."""
        return self._SendRequest(HTTP_PUT, "/2/groups/%s/tags" % _q(group),
                                 _tag_query(tags, dry_run, reason), None)

    def DeleteGroupTags(self, group: str, tags: Sequence[str], dry_run: bool = False,
                        reason: str | None = None) -> Any:
        """Remove node group tags; job id."""
        return self._SendRequest(HTTP_DELETE, "/2/groups/%s/tags" % _q(group),
                                 _tag_query(tags, dry_run, reason), None)

    # generic queries ----------------------------------------------------------------------

    def Query(self, what: str, fields: Sequence[str], qfilter: Any = None,
              reason: str | None = None) -> dict:
        """Query2 on a resource (``instance``, ``node``, ``group``, ``job``...).

        The filter is sent as both ``qfilter`` and the pre-2.6 name
        ``filter`` so old and new servers understand it.  The answer is
        ``{"fields": [...], "data": [[[status, value], ...], ...]}``.
        """
        body: dict[str, Any] = {"fields": list(fields)}
        if qfilter is not None:
            body["qfilter"] = qfilter
            body["filter"] = qfilter
        return self._SendRequest(HTTP_PUT, "/2/query/%s" % _q(what), _reason_query(reason),
                                 body)

    def QueryFields(self, what: str, fields: Sequence[str] | None = None,
                    reason: str | None = None) -> dict:
        """Descriptions of a resource's query fields (all, or the named ones)."""
        query: QueryArgs = []
        if fields is not None:
            query.append(("fields", _comma_list(fields)))
        _append_reason(query, reason)
        return self._SendRequest(HTTP_GET, "/2/query/%s/fields" % _q(what), query, None)

    # job filter rules -------------------------------------------------------------------

    def GetFilters(self, bulk: bool = False) -> list:
        """Filter rule UUIDs, or with ``bulk`` one dict per rule."""
        rules = self._SendRequest(HTTP_GET, "/2/filters", _bulk_query(bulk), None)
        if bulk:
            return rules
        return [r["uuid"] for r in rules]

    def GetFilter(self, filter_uuid: str) -> dict:
        """One filter rule."""
        return self._SendRequest(HTTP_GET, "/2/filters/%s" % _q(filter_uuid), None, None)

    @staticmethod
    def _filter_body(priority: int, predicates: list, action: Any,
                     reason_trail: list | None) -> dict:
        """A rule's body; the trail records that it came through this client."""
        trail = [list(r) for r in (reason_trail or [])]
        trail.append([_FILTER_REASON_SOURCE, "", EpochNano()])
        return {"priority": priority, "predicates": predicates, "action": action,
                "reason": trail}

    def AddFilter(self, priority: int, predicates: list, action: Any,
                  reason_trail: list | None = None) -> str:
        """Add a job filter rule; its UUID (not a job: rules apply at once)."""
        return self._SendRequest(HTTP_POST, "/2/filters", None,
                                 self._filter_body(priority, predicates, action, reason_trail))

    def ReplaceFilter(self, uuid: str, priority: int, predicates: list, action: Any,
                      reason_trail: list | None = None) -> str:
        """Replace the rule ``uuid`` (created if missing); its UUID."""
        return self._SendRequest(HTTP_PUT, "/2/filters/%s" % _q(uuid), None,
                                 self._filter_body(priority, predicates, action, reason_trail))

    def DeleteFilter(self, uuid: str) -> None:
        """Delete a filter rule."""
        return self._SendRequest(HTTP_DELETE, "/2/filters/%s" % _q(uuid), None, None)

