"""Renewal of the cluster's certificates and secrets, pushed to every node.

Nodes compare the client certificate with their own copy of server.pem
and both sides reload a replaced file, so the order is: upload the new
files to every other node in one parallel call, then replace the
master's own copy. The BGL is held exclusively meanwhile, so no other
job talks to the nodes during the switch.
"""

from __future__ import annotations

import os
import time

from ganeti import errors, objects, pathutils
from ganeti.cmdlib.base import NoHooksLU
from ganeti.utils import io


class LUClusterRenewCrypto(NoHooksLU):
    REQ_BGL = True

    def check_arguments(self) -> None:
        op = self.op
        if not any([op.node_certificates, op.new_rapi_certificate, op.rapi_certificate,
                    op.new_cluster_domain_secret, op.cluster_domain_secret,
                    op.new_confd_hmac_key]):
            raise errors.OpPrereqError("Nothing to renew: give at least one of the renewal"
                                       " options", errors.ECODE_INVAL)
        if op.rapi_certificate is not None:
            from ganeti import crypto
            try:
                crypto.load_cert(op.rapi_certificate.encode())
            except ValueError as err:
                raise errors.OpPrereqError("Invalid RAPI certificate: %s" % err,
                                           errors.ECODE_INVAL)
            if "PRIVATE KEY" not in op.rapi_certificate:
                raise errors.OpPrereqError("The RAPI certificate file must contain the key"
                                           " too", errors.ECODE_INVAL)

    def _new_files(self) -> dict[str, tuple[bytes, int]]:
        from ganeti import crypto
        op = self.op
        name = self.cfg.get_cluster_name()
        files: dict[str, tuple[bytes, int]] = {}
        if op.node_certificates:
            key, cert = crypto.generate_self_signed_cert(name)
            files[pathutils.NODED_CERT_FILE] = (key + cert, 0o440)
        if op.rapi_certificate is not None:
            files[pathutils.RAPI_CERT_FILE] = (op.rapi_certificate.encode(), 0o440)
        elif op.new_rapi_certificate:
            key, cert = crypto.generate_self_signed_cert(name)
            files[pathutils.RAPI_CERT_FILE] = (key + cert, 0o440)
        if op.cluster_domain_secret is not None:
            files[pathutils.CLUSTER_DOMAIN_SECRET_FILE] = (
                op.cluster_domain_secret.strip().encode() + b"\n", 0o400)
        elif op.new_cluster_domain_secret:
            files[pathutils.CLUSTER_DOMAIN_SECRET_FILE] = (crypto.generate_secret(), 0o400)
        if op.new_confd_hmac_key:
            files[pathutils.CONFD_HMAC_KEY] = (crypto.generate_secret(), 0o400)
        return files

    def exec(self, feedback_fn):
        from ganeti import crypto
        from ganeti.rpc import client as rpc_client
        cfg = self.cfg
        master = cfg.get_master_node()
        others = [cfg.node_target(u) for u, n in cfg.get_all_nodes_info().items()
                  if u != master and not n.offline]
        files = self._new_files()
        now = time.time()
        # the cluster certificate last: every other upload still uses the old one
        order = sorted(files, key=lambda p: p == pathutils.NODED_CERT_FILE)
        for path in order:
            data, mode = files[path]
            if others:
                results = self.rpc.call("upload_file", others, [
                    pathutils.strip_root(path), rpc_client.encode_file(data), mode, None, None,
                    now, now])
                failed = ["%s: %s" % (n, r.fail_msg) for n, r in results.items() if r.fail_msg]
                if failed:
                    raise errors.OpExecError("Distributing %s failed on %s" % (
                        pathutils.strip_root(path), "; ".join(failed)))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            io.write_file_atomic(path, data, mode=mode)
            self.log_info("Renewed %s", pathutils.strip_root(path))
        if pathutils.NODED_CERT_FILE in files:
            digest = crypto.cert_digest(pathutils.NODED_CERT_FILE)
            with cfg.lock:
                cluster = cfg.get_cluster_info()
                cluster.candidate_certs = {u: digest for u in cfg.get_node_list()}
                objects.touch(cluster)
                cfg.write()
        return None
