"""Instance methods of the RAPI client (``/2/instances...``).

A mixin of :class:`ganeti.rapi.client.GanetiRapiClient`; it needs only
``_SendRequest`` and ``GetFeatures`` from the class it is mixed into.
Method names, parameters and defaults are those of upstream's client so
programs written for it run unchanged.  Methods that submit a job return
the job id exactly as the server sent it (a number since Ganeti 2.7).
"""

from __future__ import annotations

from typing import Any, Sequence

from ganeti.rapi.client_base import (
    HTTP_DELETE,
    HTTP_GET,
    HTTP_POST,
    HTTP_PUT,
    INST_CREATE_REQV1,
    INST_REINSTALL_REQV1,
    REPLACE_DISK_AUTO,
    REQ_DATA_VERSION_FIELD,
    GanetiApiError,
    QueryArgs,
    _append_dry_run,
    _append_if,
    _append_reason,
    _bulk_query,
    _comma_list,
    _not_none,
    _q,
    _reason_query,
    _tag_query,
)


def _update_with_kwargs(base: dict, **kwargs: Any) -> dict:
    """Add the caller's extra opcode parameters, refusing to overwrite fixed ones.

    A keyword argument silently replacing e.g. ``disk_template`` would
    create a different instance than the positional arguments describe.
    """
    clash = set(base) & set(kwargs)
    if clash:
        raise GanetiApiError("Parameters given twice: %s" % ", ".join(sorted(clash)))
    base.update(kwargs)
    return base


class InstanceMethods:
    """Everything under ``/2/instances`` and ``/2/instances-multi-alloc``."""

    def _SendRequest(self, method: str, path: str, query: QueryArgs | None,
                     content: Any) -> Any:  # pragma: no cover - provided by the transport
        raise NotImplementedError

    def GetFeatures(self) -> list:  # pragma: no cover - provided by the client
        raise NotImplementedError

    # listing and details ------------------------------------------------------------

    def GetInstances(self, bulk: bool = False, reason: str | None = None) -> list:
        """Instance names, or with ``bulk`` one dict of all fields per instance."""
        instances = self._SendRequest(HTTP_GET, "/2/instances", _bulk_query(bulk, reason), None)
        if bulk:
            return instances
        return [i["id"] for i in instances]

    def GetInstance(self, instance: str, reason: str | None = None) -> dict:
        """The configuration and state of one instance (404 if unknown)."""
        return self._SendRequest(HTTP_GET, "/2/instances/%s" % _q(instance), _reason_query(reason), None)

    def GetInstanceInfo(self, instance: str, static: bool | None = None,
                        reason: str | None = None) -> Any:
        """Submit a job collecting live instance data (``static`` skips the nodes); job id."""
        query: QueryArgs = []
        if static is not None:
            query.append(("static", static))
        _append_reason(query, reason)
        return self._SendRequest(HTTP_GET, "/2/instances/%s/info" % _q(instance), query, None)

    # creation and removal -------------------------------------------------------------

    def InstanceAllocation(self, mode: str, name: str, disk_template: str,
                           disks: Sequence[dict], nics: Sequence[dict], **kwargs: Any) -> dict:
        """One entry for :meth:`InstancesMultiAlloc` (same fields as a create request)."""
        base = {"mode": mode, "name": name, "disk_template": disk_template,
                "disks": list(disks), "nics": list(nics)}
        return _update_with_kwargs(base, **kwargs)

    def InstancesMultiAlloc(self, instances: Sequence[dict], reason: str | None = None,
                            **kwargs: Any) -> Any:
        """Allocate several instances in one job (iallocator placement); job id."""
        query: QueryArgs = []
        _append_dry_run(query, kwargs.pop("dry_run", False))
        _append_reason(query, reason)
        body = _update_with_kwargs({"instances": list(instances)}, **kwargs)
        return self._SendRequest(HTTP_POST, "/2/instances-multi-alloc", query, body)

    def CreateInstance(self, mode: str, name: str, disk_template: str, disks: Sequence[dict],
                       nics: Sequence[dict], reason: str | None = None, **kwargs: Any) -> Any:
        """Create an instance with a version-1 request; job id.

        Further opcode parameters (``os``, ``pnode``, ``beparams``,
        ``name_check``...) go in ``kwargs``; ``dry_run`` becomes the
        ``dry-run`` query argument.  Servers without the
        ``instance-create-reqv1`` feature (Ganeti 2.1 and older) would
        misread the body, so they are refused before anything is sent.
        """
        query: QueryArgs = []
        _append_dry_run(query, kwargs.pop("dry_run", False))
        _append_reason(query, reason)
        if INST_CREATE_REQV1 not in self.GetFeatures():
            raise GanetiApiError("Server does not support new-style (version 1) instance"
                                 " creation requests")
        body = {REQ_DATA_VERSION_FIELD: 1, "mode": mode, "name": name,
                "disk_template": disk_template, "disks": list(disks), "nics": list(nics)}
        _update_with_kwargs(body, **kwargs)
        return self._SendRequest(HTTP_POST, "/2/instances", query, body)

    def DeleteInstance(self, instance: str, dry_run: bool = False, reason: str | None = None,
                       **kwargs: Any) -> Any:
        """Remove an instance and its disks; ``kwargs`` e.g. ``shutdown_timeout``; job id."""
        query: QueryArgs = []
        _append_dry_run(query, dry_run)
        _append_reason(query, reason)
        return self._SendRequest(HTTP_DELETE, "/2/instances/%s" % _q(instance), query,
                                 kwargs or None)

    def ModifyInstance(self, instance: str, reason: str | None = None, **kwargs: Any) -> Any:
        """Change instance parameters (``beparams``, ``hvparams``, ``nics``...); job id."""
        query: QueryArgs = []
        _append_reason(query, reason)
        return self._SendRequest(HTTP_PUT, "/2/instances/%s/modify" % _q(instance), query,
                                 kwargs)

    # disks ----------------------------------------------------------------------------

    def ActivateInstanceDisks(self, instance: str, ignore_size: bool | None = None,
                              reason: str | None = None) -> Any:
        """Assemble the instance's disks on its nodes; job id."""
        query: QueryArgs = []
        _append_if(query, ignore_size, ("ignore_size", 1))
        _append_reason(query, reason)
        return self._SendRequest(HTTP_PUT, "/2/instances/%s/activate-disks" % _q(instance),
                                 query, None)

    def DeactivateInstanceDisks(self, instance: str, reason: str | None = None,
                                force: bool = False) -> Any:
        """Shut the instance's disks down; job id."""
        query: QueryArgs = []
        _append_if(query, force, ("force", 1))
        _append_reason(query, reason)
        return self._SendRequest(HTTP_PUT, "/2/instances/%s/deactivate-disks" % _q(instance),
                                 query, None)

    def RecreateInstanceDisks(self, instance: str, disks: Sequence[int] | None = None,
                              nodes: Sequence[str] | None = None, reason: str | None = None,
                              iallocator: str | None = None) -> Any:
        """Recreate lost disks, optionally on other ``nodes``; job id."""
        body = _not_none(disks=disks, nodes=nodes, iallocator=iallocator)
        query: QueryArgs = []
        _append_reason(query, reason)
        return self._SendRequest(HTTP_POST, "/2/instances/%s/recreate-disks" % _q(instance),
                                 query, body)

    def GrowInstanceDisk(self, instance: str, disk: int, amount: int,
                         wait_for_sync: bool | None = None, reason: str | None = None) -> Any:
        """Grow disk number ``disk`` by ``amount`` MiB; job id."""
        body = _not_none(amount=amount, wait_for_sync=wait_for_sync)
        query: QueryArgs = []
        _append_reason(query, reason)
        return self._SendRequest(HTTP_POST, "/2/instances/%s/disk/%s/grow"
                                 % (_q(instance), _q(disk)), query, body)

    def ReplaceInstanceDisks(self, instance: str, disks: Sequence[int] | None = None,
                             mode: str = REPLACE_DISK_AUTO, remote_node: str | None = None,
                             iallocator: str | None = None, reason: str | None = None,
                             early_release: bool | None = None) -> Any:
        """Replace DRBD disks (``REPLACE_DISK_*`` modes); job id.

        Sent as query arguments, which every server version accepts.
        """
        query: QueryArgs = [("mode", mode)]
        if disks:
            query.append(("disks", _comma_list([str(d) for d in disks])))
        _append_if(query, remote_node, ("remote_node", remote_node))
        _append_if(query, iallocator, ("iallocator", iallocator))
        if early_release is not None:
            query.append(("early_release", early_release))
        _append_reason(query, reason)
        return self._SendRequest(HTTP_POST, "/2/instances/%s/replace-disks" % _q(instance),
                                 query, None)

    # tags -----------------------------------------------------------------------------

    def GetInstanceTags(self, instance: str, reason: str | None = None) -> list:
        """The instance's tags."""
        return self._SendRequest(HTTP_GET, "/2/instances/%s/tags" % _q(instance), _reason_query(reason), None)

    def AddInstanceTags(self, instance: str, tags: Sequence[str], dry_run: bool = False,
                        reason: str | None = None) -> Any:
        """Add tags (repeated ``tag=`` arguments); job id."""
        return self._SendRequest(HTTP_PUT, "/2/instances/%s/tags" % _q(instance),
                                 _tag_query(tags, dry_run, reason), None)

    def DeleteInstanceTags(self, instance: str, tags: Sequence[str], dry_run: bool = False,
                           reason: str | None = None) -> Any:
        """Remove tags; job id."""
        return self._SendRequest(HTTP_DELETE, "/2/instances/%s/tags" % _q(instance),
                                 _tag_query(tags, dry_run, reason), None)

    # power ----------------------------------------------------------------------------

    def RebootInstance(self, instance: str, reboot_type: str | None = None,
                       ignore_secondaries: bool | None = None, dry_run: bool = False,
                       reason: str | None = None, **kwargs: Any) -> Any:
        """Reboot (``soft``, ``hard`` -- the server's default -- or ``full``); job id."""
        query: QueryArgs = []
        _append_dry_run(query, dry_run)
        _append_if(query, reboot_type, ("type", reboot_type))
        _append_if(query, ignore_secondaries is not None,
                   ("ignore_secondaries", ignore_secondaries))
        _append_reason(query, reason)
        return self._SendRequest(HTTP_POST, "/2/instances/%s/reboot" % _q(instance), query,
                                 kwargs)

    def ShutdownInstance(self, instance: str, dry_run: bool = False, no_remember: bool = False,
                         reason: str | None = None, **kwargs: Any) -> Any:
        """Stop an instance; ``no_remember`` leaves its admin state "up"; job id."""
        query: QueryArgs = []
        _append_dry_run(query, dry_run)
        _append_if(query, no_remember, ("no_remember", 1))
        _append_reason(query, reason)
        return self._SendRequest(HTTP_PUT, "/2/instances/%s/shutdown" % _q(instance), query,
                                 kwargs)

    def StartupInstance(self, instance: str, dry_run: bool = False, no_remember: bool = False,
                        reason: str | None = None) -> Any:
        """Start an instance; job id."""
        query: QueryArgs = []
        _append_dry_run(query, dry_run)
        _append_if(query, no_remember, ("no_remember", 1))
        _append_reason(query, reason)
        return self._SendRequest(HTTP_PUT, "/2/instances/%s/startup" % _q(instance), query,
                                 None)

    def ReinstallInstance(self, instance: str, os: str | None = None, no_startup: bool = False,
                          osparams: dict | None = None, reason: str | None = None) -> Any:
        """Reinstall the OS (``os=None``: the current one); job id.

        Servers with ``instance-reinstall-reqv1`` take a body; older ones
        only query arguments, which cannot carry ``osparams``.
        """
        query: QueryArgs = []
        _append_reason(query, reason)
        path = "/2/instances/%s/reinstall" % _q(instance)
        if INST_REINSTALL_REQV1 in self.GetFeatures():
            body: dict[str, Any] = {"start": not no_startup}
            body.update(_not_none(os=os, osparams=osparams))
            return self._SendRequest(HTTP_POST, path, query, body)
        if osparams:
            raise GanetiApiError("Server does not support specifying OS parameters"
                                 " for instance reinstallation")
        _append_if(query, os, ("os", os))
        _append_if(query, no_startup, ("nostartup", 1))
        return self._SendRequest(HTTP_POST, path, query, None)

    # export, movement, renaming ----------------------------------------------------------

    def PrepareExport(self, instance: str, mode: str, reason: str | None = None) -> Any:
        """Prepare a (remote) export: the server makes keys for it; job id."""
        query: QueryArgs = [("mode", mode)]
        _append_reason(query, reason)
        return self._SendRequest(HTTP_PUT, "/2/instances/%s/prepare-export" % _q(instance),
                                 query, None)

    def ExportInstance(self, instance: str, mode: str, destination: Any,
                       shutdown: bool | None = None, remove_instance: bool | None = None,
                       x509_key_name: Any = None, destination_x509_ca: str | None = None,
                       compress: str | None = None, reason: str | None = None) -> Any:
        """Export to a node (``local``) or another cluster (``remote``); job id."""
        body = {"destination": destination, "mode": mode}
        body.update(_not_none(shutdown=shutdown, remove_instance=remove_instance,
                              x509_key_name=x509_key_name,
                              destination_x509_ca=destination_x509_ca, compress=compress))
        query: QueryArgs = []
        _append_reason(query, reason)
        return self._SendRequest(HTTP_PUT, "/2/instances/%s/export" % _q(instance), query,
                                 body)

    def MigrateInstance(self, instance: str, mode: str | None = None,
                        cleanup: bool | None = None, target_node: str | None = None,
                        reason: str | None = None) -> Any:
        """Live-migrate to the secondary (or ``target_node``); job id."""
        body = _not_none(mode=mode, cleanup=cleanup, target_node=target_node)
        query: QueryArgs = []
        _append_reason(query, reason)
        return self._SendRequest(HTTP_PUT, "/2/instances/%s/migrate" % _q(instance), query,
                                 body)

    def FailoverInstance(self, instance: str, iallocator: str | None = None,
                         ignore_consistency: bool | None = None,
                         target_node: str | None = None, reason: str | None = None) -> Any:
        """Restart the instance on another node (stop, switch, start); job id."""
        body = _not_none(iallocator=iallocator, ignore_consistency=ignore_consistency,
                         target_node=target_node)
        query: QueryArgs = []
        _append_reason(query, reason)
        return self._SendRequest(HTTP_PUT, "/2/instances/%s/failover" % _q(instance), query,
                                 body)

    def RenameInstance(self, instance: str, new_name: str, ip_check: bool | None = None,
                       name_check: bool | None = None, reason: str | None = None) -> Any:
        """Rename an instance; job id."""
        body: dict[str, Any] = {"new_name": new_name}
        body.update(_not_none(ip_check=ip_check, name_check=name_check))
        query: QueryArgs = []
        _append_reason(query, reason)
        return self._SendRequest(HTTP_PUT, "/2/instances/%s/rename" % _q(instance), query,
                                 body)

    def GetInstanceConsole(self, instance: str, reason: str | None = None) -> dict:
        """How to reach the console (``kind``, ``host``, ``command``...); not a job."""
        query: QueryArgs = []
        _append_reason(query, reason)
        return self._SendRequest(HTTP_GET, "/2/instances/%s/console" % _q(instance), query,
                                 None)
